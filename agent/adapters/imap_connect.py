"""Logging in to the IMAP server: the connection, TLS or STARTTLS, the password or an OAuth2 token, and what to do
when a step fails, in one sentence (agent.adapters.tls)."""

import imaplib

import imapclient
from imapclient.exceptions import IMAPClientError

from agent.adapters import oauth2, tls
from agent.core.errors import MailboxError, one_line
from agent.core.settings import ImapConfig


def connect(config: ImapConfig) -> imapclient.IMAPClient:
    """The default connection factory: a logged-in client with timeouts on every socket."""
    context = tls.context(config.ca_file) if config.security != "none" else None
    timeout = imapclient.SocketTimeout(connect=config.timeout, read=config.timeout)
    where = f"IMAP server {config.host}:{config.port}"
    try:  # which step failed is the user's first question: connecting, TLS, or the login
        client = imapclient.IMAPClient(
            config.host, port=config.port, ssl=config.security == "ssl", ssl_context=context, timeout=timeout
        )
    except (TimeoutError, OSError, IMAPClientError, imaplib.IMAP4.error) as e:
        step = "connecting with TLS" if config.security == "ssl" else "connecting"
        detail = one_line(getattr(e, "strerror", None) or e)
        raise MailboxError(_tls_advice(e, config) or f"{where}: {step} failed ({detail})") from None
    try:
        if config.security == "starttls":
            try:
                client.starttls(context)
            except (TimeoutError, OSError, IMAPClientError, imaplib.IMAP4.error) as e:
                detail = one_line(e) or type(e).__name__
                raise MailboxError(_tls_advice(e, config) or f"{where}: STARTTLS failed ({detail})") from None
        if config.auth == "xoauth2":  # a fresh token on every connect: they live about an hour
            client.oauth2_login(config.username, oauth2.fetch_token(config.oauth2_token_command, "IMAP"))
        else:
            client.login(config.username, config.password)
    except BaseException:
        quietly(client.logout)
        raise
    client.normalise_times = False  # else INTERNALDATE comes back as naive local time
    return client


def _tls_advice(e: BaseException, config: ImapConfig) -> str | None:
    advice = tls.explain(e, "imap", config.host, config.port, config.security, config.ca_file)
    return f"{advice} [{one_line(e) or type(e).__name__}]" if advice else None


def quietly(fn) -> None:
    try:
        fn()
    except Exception:
        pass
