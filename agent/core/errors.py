"""The agent's exceptions: one flat family, each message a sentence a user can act on."""


class AgentError(Exception):
    """Base class: anything the agent reports to its user as one sentence."""


class ConfigError(AgentError):
    """A config.ini value is missing or wrong; the message names the key."""


class MailboxError(AgentError):
    """The IMAP server could not be reached, refused us, or broke the session."""


class SendError(AgentError):
    """The SMTP server did not accept a mail."""


class TransientSendError(SendError):
    """The SMTP server is down or deferred the mail (4xx, refused, timeout); retry later."""


class PermanentSendError(SendError):
    """The SMTP server rejected the mail for good (5xx)."""


class TooLargeError(PermanentSendError):
    """The SMTP server refused the mail for its size (552, or the enhanced codes 5.3.4 / 5.2.3)."""


class UnknownIncident(AgentError):
    """No incident has the id the user gave."""


class StoreError(AgentError):
    """The state database cannot be opened or used."""


def one_line(text: object, limit: int = 200) -> str:
    """Any message (an exception's, a server's answer) as one line of at most `limit` characters: for a log line,
    an audit event or a sentence to the user."""
    value = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(value.split())[:limit]


def why(e: BaseException) -> str:
    """`TypeName: message` in one line: what a caught exception says about itself."""
    return f"{type(e).__name__}: {one_line(e)}"
