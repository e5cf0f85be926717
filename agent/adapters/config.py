"""config.ini -> frozen dataclasses. Every error names the section and key it is about."""

import configparser
import os
import re
import shlex
import socket
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from agent.adapters.ini import EMAIL, Ini, Section, parse_duration, resolve  # noqa: F401 (parse_duration: public here too)
from agent.core import sop
from agent.core.errors import ConfigError
from agent.core.procedure import routing
from agent.core.reading import subjects
from agent.core.reading.mail import domain_of, in_domains
from agent.core.settings import (
    AgentConfig,
    Config,
    DrillConfig,
    EscalationConfig,
    HaConfig,
    ImapConfig,
    ProbeConfig,
    SmtpConfig,
)
from agent.core.sop import Tier
from agent.core.writing import attach

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {
    "imap": {"ssl": 993, "starttls": 143, "none": 143},
    "smtp": {"ssl": 465, "starttls": 587, "none": 25},
}


def default_path() -> Path:
    return Path(os.environ.get("ESCALATION_AGENT_CONFIG") or "config.ini")


def load(path: Path | str | None = None, secrets: bool = True) -> Config:
    """`secrets=False`: for the read-only commands (`status`, `show`, `report`, the auditors' `export`...): no password
    is read (every one is None)."""
    path = Path(path) if path else default_path()
    parser = Ini()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (use -c PATH or $ESCALATION_AGENT_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} cannot be read ({e})") from None
    except configparser.Error as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid INI: {first}") from None
    config = _config(parser, path, secrets)
    # After every section and key was read: the ones never asked for are typos (or a newer version's keys).
    unknown = parser.unknown()
    if unknown:
        raise ConfigError(unknown)
    return config


def _config(parser: Ini, path: Path, secrets: bool) -> Config:
    base = path.resolve().parent
    smtp = _smtp(Section(parser, "smtp", secrets), base)
    imap = _imap(Section(parser, "imap", secrets), base, smtp.from_address)
    escalation = _escalation(Section(parser, "escalation"), _operations(Section(parser, "operations")))
    agent = _agent(Section(parser, "agent"), base)
    _internal_only(Section(parser, "agent"), "ops_address", agent.ops_address, escalation)
    escalation = replace(escalation, drill=_drill(Section(parser, "drill"), escalation, imap, smtp, agent))
    ha = _ha(Section(parser, "ha"))
    if ha is not None:  # every stamp names the member the coordination service knows
        agent = replace(agent, member=ha.member)
    return Config(
        path=path,
        imap=imap,
        smtp=smtp,
        escalation=escalation,
        agent=agent,
        warnings=_warnings(path, parser)
        + _address_warnings(Section(parser, "imap"), imap)
        + _domain_warnings(escalation),
        probe=_probe(Section(parser, "probe")),
        ha=ha,
    )


def _warnings(path: Path, parser: configparser.ConfigParser) -> tuple[str, ...]:
    plain = [
        f"[{s}] password"
        for s in ("imap", "smtp")
        if parser.has_option(s, "password") and parser.get(s, "password").strip()
    ]
    try:
        readable_by_others = path.stat().st_mode & 0o004
    except OSError:
        return ()
    if plain and readable_by_others:
        return (
            f"{path} holds {' and '.join(plain)} and is readable by every user: chmod o-r it, "
            f"or use password_file / password_credential",
        )
    return ()


def _address_warnings(s: Section, imap: ImapConfig) -> tuple[str, ...]:
    if s.text("address") or EMAIL.match(imap.username):
        return ()
    return (
        f"{s.key('username')} {imap.username!r} is not an address and {s.key('address')} is unset: the watched "
        f"mailbox is taken to be {imap.address} ([smtp] from_address); set {s.key('address')} if it is not",
    )


def _domain_warnings(esc: EscalationConfig) -> tuple[str, ...]:
    """Settings that run, but would make the agent blind to an answer, or unsure whose a mail is."""
    out = []
    for tier in (Tier.T1, Tier.T2, Tier.T3):
        address = esc.tier_address(tier)
        if not in_domains(address, esc.responder_domains):
            out.append(
                f"[escalation] {tier.label.lower()}_address {address} is not in responder_domains: a reply from the "
                f"vendor's {tier.title} list ({domain_of(address)}) would not count as a response"
            )
    for internal in esc.internal_domains:
        for responder in esc.responder_domains:
            if in_domains(internal, (responder,)) or in_domains(responder, (internal,)):
                out.append(
                    f"[escalation] internal_domains holds {internal} and responder_domains holds {responder}: "
                    f"mail from {max(internal, responder, key=len)} counts as internal, never as the vendor's answer"
                )
    return tuple(out)


def _oauth2(s: Section, required_user: bool) -> tuple[str, tuple[str, ...]]:
    auth = s.choice("auth", ("password", "xoauth2"), "password")
    command = tuple(shlex.split(s.text("oauth2_token_command") or ""))
    if auth == "xoauth2" and not command:
        raise ConfigError(f"{s.key('oauth2_token_command')} is required when {s.key('auth')} = xoauth2")
    if auth == "xoauth2" and required_user and not s.text("username"):
        raise ConfigError(f"{s.key('username')} is required when {s.key('auth')} = xoauth2")
    return auth, command


def _imap(s: Section, base: Path, from_address: str) -> ImapConfig:
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


def _smtp(s: Section, base: Path) -> SmtpConfig:
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
    text = s.text("ca_file")
    if text is None:
        return None
    path = resolve(base, text)
    if not path.is_file():
        raise ConfigError(f"{s.key('ca_file')}: {path} is not a file")
    return str(path)


def _operations(s: Section) -> tuple[tuple[str, str], ...]:
    """[operations]: the SOP's country table, each entry replaceable (`uk = ...`) or added."""
    teams = dict(routing.OPERATIONS_TEAMS)
    for key in s.entries():
        teams[key.upper()] = s.address(key)
    return tuple(teams.items())  # the SOP's order, then additions


def _escalation(s: Section, operations: tuple[tuple[str, str], ...]) -> EscalationConfig:
    t2_after = _window(s, "t2_after", sop.T2_AFTER)
    t3_after = _window(s, "t3_after", sop.T3_AFTER)
    trusted = s.text("trusted_authserv_id")
    responders = s.domains("responder_domains", sop.RESPONDER_DOMAINS)
    internal = s.domains("internal_domains", required=True)
    both = sorted(set(responders) & set(internal))
    if both:
        raise ConfigError(f"{s.key('internal_domains')} and {s.key('responder_domains')} both hold {', '.join(both)}")
    return EscalationConfig(
        t1_address=s.address("t1_address", sop.T1_ADDRESS),
        t2_address=s.address("t2_address", sop.T2_ADDRESS),
        t3_address=s.address("t3_address", sop.T3_ADDRESS),
        t2_after=t2_after,
        t3_after=t3_after,
        responder_domains=responders,
        internal_domains=internal,
        trusted_authserv_id=trusted,
        exhausted_after=s.duration("exhausted_after", timedelta(minutes=30)),
        operations=operations,
        case_id_patterns=_case_id_patterns(s),
        stand_down=s.flag("stand_down", True),  # issue 21.5
        join_same_outage=s.flag("join_same_outage", True),  # issue 21.4
        # issue 21.3: the largest escalation the attached T1 may make (config.ini says why 10MB)
        attach_limit=s.size("attach_limit", attach.DEFAULT_LIMIT, 100_000, 1000**3),
    )


def _case_id_patterns(s: Section) -> tuple[str, ...]:
    """[escalation] case_id_patterns: one regex a line (a regex may hold any separator a list could use), each with
    exactly one group, the id; `none` learns no case ids. Unset or empty: the defaults (subjects.CASE_ID_PATTERNS)."""
    text = s.text("case_id_patterns")
    if text is None:
        return subjects.CASE_ID_PATTERNS
    if text.lower() == "none":
        return ()
    patterns = tuple(line.strip() for line in text.splitlines() if line.strip())
    for pattern in patterns:
        try:
            groups = re.compile(pattern).groups
        except re.error as e:
            raise ConfigError(f"{s.key('case_id_patterns')}: {pattern!r} is not a regular expression ({e})") from None
        if groups != 1:
            raise ConfigError(
                f"{s.key('case_id_patterns')}: {pattern!r} has {groups} groups; each pattern needs exactly one, "
                "the case id (write others as (?:...))"
            )
    return patterns


def _agent(s: Section, base: Path) -> AgentConfig:
    metrics_textfile = s.text("metrics_textfile")
    return AgentConfig(
        database=resolve(base, s.text("database", "state/escalation-agent.db")),
        poll_interval=s.seconds("poll_interval", 60, 1, 3600),
        dry_run=s.flag("dry_run", False),
        max_incident_age=s.duration("max_incident_age", timedelta(hours=24)),
        max_message_bytes=s.integer("max_message_bytes", 25 * 1024 * 1024, 1024, 1024**3),
        log_level=s.choice("log_level", ("debug", "info", "warning", "error"), "info"),
        unconfirmed_grace=s.duration("unconfirmed_grace", timedelta(minutes=2)),
        resend_after=s.duration("resend_after", timedelta(minutes=2)),
        metrics_port=s.integer("metrics_port", 0, 0, 65535),
        metrics_textfile=resolve(base, metrics_textfile) if metrics_textfile else None,
        heartbeat_url=_url(s, "heartbeat_url"),
        heartbeat_interval=s.duration("heartbeat_interval", timedelta(seconds=60)),
        heartbeat_command=tuple(shlex.split(s.text("heartbeat_command") or "")),
        webhook_url=_url(s, "webhook_url"),
        ops_address=s.address("ops_address") if s.text("ops_address") else None,
        blind_alert_after=s.duration("blind_alert_after", timedelta(minutes=10)),
        opened_notice=s.flag("opened_notice", True),
        member=socket.gethostname() or "unknown",  # the provenance's member: [ha] member, when set, takes its place
    )


def _window(s: Section, key: str, default: timedelta) -> timedelta:
    """A ladder's window: a duration of at least a second."""
    value = s.duration(key, default)
    if value.total_seconds() < 1:
        raise ConfigError(f"{s.key(key)} must be at least 1s")
    return value


def _url(s: Section, key: str) -> str | None:
    """An http(s) URL, or None when the key is unset."""
    text = s.text(key)
    if text is None:
        return None
    if not text.lower().startswith(("http://", "https://")) or " " in text:
        raise ConfigError(f"{s.key(key)}: {text!r} is not an http:// or https:// URL")
    return text


def _internal_only(s: Section, key: str, address: str | None, esc: EscalationConfig) -> None:
    """An address the agent writes to about itself or a drill: one of ours, never the vendor's."""
    if address is None:
        return
    if in_domains(address, esc.responder_domains):
        raise ConfigError(f"{s.key(key)} {address} is in [escalation] responder_domains: it must be one of yours")
    if not in_domains(address, esc.internal_domains):
        raise ConfigError(f"{s.key(key)} {address} is not in [escalation] internal_domains: it must be one of yours")


DRILL_AFTER = timedelta(minutes=1)  # the drill ladder's default windows


def _drill(
    s: Section, esc: EscalationConfig, imap: ImapConfig, smtp: SmtpConfig, agent: AgentConfig
) -> DrillConfig | None:
    """[drill]: a synthetic incident's ladder, internal test mailboxes only; None when the section sets none."""
    if not s.values:
        return None
    addresses = {key: s.address(key) for key in ("t1_address", "t2_address", "t3_address")}
    addresses["from_address"] = s.address("from_address", agent.ops_address)
    for key, address in addresses.items():
        _internal_only(s, key, address, esc)
    taken = {
        imap.address: "[imap] address (the watched mailbox)",
        smtp.from_address: "[smtp] from_address (the agent's own mail)",
        esc.t1_address: "[escalation] t1_address",
        esc.t2_address: "[escalation] t2_address",
        esc.t3_address: "[escalation] t3_address",
    }
    for key, address in addresses.items():
        if address in taken:
            raise ConfigError(f"{s.key(key)} {address} is also {taken[address]}: a drill needs its own address")
    if len(set(addresses.values())) < len(addresses):
        raise ConfigError(f"{s.key('t1_address')}, t2_address, t3_address and from_address must be four addresses")
    windows = {key: _window(s, key, DRILL_AFTER) for key in ("t2_after", "t3_after")}
    return DrillConfig(
        t1_address=addresses["t1_address"],
        t2_address=addresses["t2_address"],
        t3_address=addresses["t3_address"],
        t2_after=windows["t2_after"],
        t3_after=windows["t3_after"],
        from_address=addresses["from_address"],
    )


# -- [probe]: the API check (docs/probe.md) ---------------------------------------------------------------------------
def _probe(s: Section) -> ProbeConfig | None:
    """[probe]: None when neither command nor url is set (then nothing about the agent changes)."""
    command = tuple(shlex.split(s.text("command") or ""))
    url = _url(s, "url")
    interval = s.duration("interval", timedelta(seconds=60))
    timeout = s.duration("timeout", timedelta(seconds=10))
    status = s.integer("url_status", 200, 100, 599)
    always = s.flag("always", False)
    recovered_after = s.integer("recovered_after", 3, 1, 100)
    hold = s.flag("hold_on_recovery", False)
    if not command and url is None:
        return None
    if interval.total_seconds() < 1:
        raise ConfigError(f"{s.key('interval')} must be at least 1s")
    if not 0 < timeout.total_seconds() <= interval.total_seconds():
        raise ConfigError(f"{s.key('timeout')} must be more than 0s and at most {s.key('interval')}")
    return ProbeConfig(command, url, status, interval, timeout, always, recovered_after, hold)


# -- [ha]: the warm standby ------------------------------------------------------------------------------------------
MEMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")  # it goes into a header and a key of the coordination service


def _ha(s: Section) -> HaConfig | None:
    """[ha]: None when the section sets nothing (this member alone, as before)."""
    if not s.values:
        return None
    url = s.required("coordination_url")
    if "://" not in url or " " in url:
        raise ConfigError(
            f"{s.key('coordination_url')}: {url!r} is not a tooz backend URL (e.g. etcd3+http://host:2379)"
        )
    member = s.text("member") or socket.gethostname().split(".")[0]
    if not MEMBER.match(member):
        raise ConfigError(
            f"{s.key('member')}: {member!r} is not a member name (letters, digits, '.', '_' and '-', at most 63)"
        )
    return HaConfig(coordination_url=url, member=member, lease=timedelta(seconds=s.seconds("lease", 15, 2, 600)))
