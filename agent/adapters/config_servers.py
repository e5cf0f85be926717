"""[imap] and [smtp] of config.ini: the mail servers, their security and its port, a password or XOAUTH2, a CA file."""

import shlex
from pathlib import Path

from agent.adapters.ini import EMAIL, Section, resolve
from agent.core.errors import ConfigError
from agent.core.settings import ImapConfig, SmtpConfig

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {
    "imap": {"ssl": 993, "starttls": 143, "none": 143},
    "smtp": {"ssl": 465, "starttls": 587, "none": 25},
}


def _oauth2(s: Section, required_user: bool) -> tuple[str, tuple[str, ...]]:
    """`auth` (password or xoauth2) and the token command XOAUTH2 needs."""
    auth = s.choice("auth", ("password", "xoauth2"), "password")
    command = tuple(shlex.split(s.text("oauth2_token_command") or ""))
    if auth == "xoauth2" and not command:
        raise ConfigError(f"{s.key('oauth2_token_command')} is required when {s.key('auth')} = xoauth2")
    if auth == "xoauth2" and required_user and not s.text("username"):
        raise ConfigError(f"{s.key('username')} is required when {s.key('auth')} = xoauth2")
    return auth, command


def imap(s: Section, base: Path, from_address: str) -> ImapConfig:
    """`from_address`: the watched mailbox's address when neither [imap] address nor the username is one."""
    security = s.choice("security", SECURITY, "ssl")
    auth, token_command = _oauth2(s, required_user=True)
    username = s.required("username")
    address = s.text("address") or (username if EMAIL.match(username) else from_address)
    return ImapConfig(
        host=s.required("host"),
        port=s.integer("port", DEFAULT_PORTS["imap"][security], 1, 65535),
        security=security,
        username=username,
        password=s.secret("password", base, required=auth == "password"),
        folders=s.items("folders", ("INBOX",)),
        address=s.address("address", address),
        timeout=float(s.seconds("timeout", 30, 1, 600)),
        ca_file=_ca_file(s, base),
        idle=s.flag("idle", True),
        auth=auth,
        narrow_old_mail=s.flag("narrow_old_mail", True),
        oauth2_token_command=token_command,
    )


def smtp(s: Section, base: Path) -> SmtpConfig:
    """[smtp]: the relay the agent sends through, and its From address."""
    security = s.choice("security", SECURITY, "starttls")
    auth, token_command = _oauth2(s, required_user=True)
    username = s.text("username")
    return SmtpConfig(
        host=s.required("host"),
        port=s.integer("port", DEFAULT_PORTS["smtp"][security], 1, 65535),
        security=security,
        username=username,
        password=s.secret("password", base, required=bool(username) and auth == "password"),
        from_address=s.address("from_address"),
        timeout=float(s.seconds("timeout", 30, 1, 600)),
        ca_file=_ca_file(s, base),
        auth=auth,
        oauth2_token_command=token_command,
    )


def _ca_file(s: Section, base: Path) -> str | None:
    """The CA bundle to trust instead of the system's, resolved against the config's folder."""
    text = s.text("ca_file")
    if text is None:
        return None
    path = resolve(base, text)
    if not path.is_file():
        raise ConfigError(f"{s.key('ca_file')}: {path} is not a file")
    return str(path)
