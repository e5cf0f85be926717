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


class UnknownIncident(AgentError):
    """No incident has the id the user gave."""


class StoreError(AgentError):
    """The state database cannot be opened or used."""
