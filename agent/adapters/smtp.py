"""SMTP sending. A send counts only when the server accepted it; failures say whether to retry."""

import smtplib
import socket
from collections.abc import Callable, Sequence
from email.message import EmailMessage

from agent.adapters import oauth2, tls
from agent.core.errors import AgentError, PermanentSendError, TransientSendError, one_line
from agent.core.settings import SmtpConfig


def connect(config: SmtpConfig) -> smtplib.SMTP:
    """The default connection factory: connected, TLS as configured, logged in if configured."""
    context = tls.context(config.ca_file) if config.security != "none" else None
    server: smtplib.SMTP
    if config.security == "ssl":
        server = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        server = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        server.ehlo()
        if config.security == "starttls":
            server.starttls(context=context)
            server.ehlo()
        if config.auth == "xoauth2":
            user, token = config.username, oauth2.fetch_token(config.oauth2_token_command, "SMTP")
            assert user is not None  # config.load requires [smtp] username with auth = xoauth2
            server.auth("XOAUTH2", lambda challenge=None: oauth2.xoauth2(user, token))
        elif config.username:
            assert config.password is not None  # and a password with a username and auth = password
            if not server.has_extn("auth") and config.security == "none" and server.has_extn("starttls"):
                raise TlsAdvice(
                    f"[smtp] security = none, but SMTP server {config.host}:{config.port} offers a login only over "
                    f"TLS; set security = starttls (usually port {tls.PORTS['smtp']['starttls']})"
                )
            server.login(config.username, config.password)
    except BaseException:
        server.close()
        raise
    return server


class TlsAdvice(smtplib.SMTPException):
    """A failure that a TLS setting explains, said in config.ini's words."""


class Smtp:
    def __init__(self, config: SmtpConfig, factory: Callable[[SmtpConfig], smtplib.SMTP] = connect):
        self.config = config
        self.factory = factory

    @property
    def where(self) -> str:
        return f"SMTP server {self.config.host}:{self.config.port}"

    def check(self) -> str:
        server = self._open()
        try:
            code, _ = server.noop()
        finally:
            _quit(server)
        return f"{self.where}: connected{', logged in' if self.config.username else ''} (NOOP {code})"

    def send(self, msg: EmailMessage, recipients: list[str]) -> dict[str, str]:
        """Hand one mail to the server; returns the recipients it refused (it accepted the others)."""
        server = self._open()
        try:
            refused = server.send_message(msg, from_addr=self.config.from_address, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as e:
            raise _rejected("refused every recipient", list(e.recipients.values())) from None
        except smtplib.SMTPResponseException as e:
            raise _rejected("answered", [(e.smtp_code, e.smtp_error)]) from None
        except (smtplib.SMTPException, OSError) as e:
            raise TransientSendError(f"{self.where}: sending failed ({_why(e)})") from None
        finally:
            _quit(server)
        return {addr: f"{code} {one_line(text)}" for addr, (code, text) in refused.items()}

    def _open(self) -> smtplib.SMTP:
        try:
            return self.factory(self.config)
        except AgentError as e:  # the OAuth2 token command failed
            raise TransientSendError(str(e)) from None
        except TlsAdvice as e:
            raise TransientSendError(str(e)) from None
        except smtplib.SMTPAuthenticationError as e:
            raise TransientSendError(
                f"{self.where} refused the login for {self.config.username} ({e.smtp_code})"
            ) from None
        except smtplib.SMTPResponseException as e:
            raise TransientSendError(f"{self.where} answered {e.smtp_code} on connect") from None
        except (smtplib.SMTPException, OSError) as e:
            c = self.config
            advice = tls.explain(e, "smtp", c.host, c.port, c.security, c.ca_file)
            if advice:
                raise TransientSendError(f"{advice} [{_why(e)}]") from None
            raise TransientSendError(f"cannot reach {self.where} ({_why(e)})") from None


def _rejected(what: str, answers: Sequence[tuple[int, bytes | str]]) -> PermanentSendError | TransientSendError:
    codes = [code for code, _ in answers]
    text = "; ".join(f"{code} {one_line(msg)}" for code, msg in answers)
    cls = PermanentSendError if codes and all(500 <= c < 600 for c in codes) else TransientSendError
    return cls(f"SMTP server {what}: {text}")


def _why(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "timed out"
    return one_line(getattr(e, "strerror", None) or str(e) or type(e).__name__)


def _quit(server: smtplib.SMTP) -> None:
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()
