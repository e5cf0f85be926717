"""TLS contexts for the IMAP and SMTP connections, and what a TLS failure means in config.ini's words."""

import functools
import ssl

# The usual ports of each way of speaking TLS, for the advice in an error
PORTS = {"imap": {"ssl": 993, "starttls": 143}, "smtp": {"ssl": 465, "starttls": 587}}
_NOT_TLS = (
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
)


@functools.lru_cache(maxsize=8)
def context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context, built once per CA file: loading the system CA bundle costs about 40 ms of
    CPU, which every send and every reconnect paid. A changed CA file is read at the next start."""
    return ssl.create_default_context(cafile=ca_file)


def explain(e: BaseException, section: str, host: str, port: int, security: str, ca_file: str | None) -> str | None:
    """One sentence naming the key to change and how, for a failure that a TLS setting explains; else None.

    `[SSL: WRONG_VERSION_NUMBER]` or `SMTP AUTH extension not supported` tell a user nothing; which key to change
    is what they need, and the server's own words follow in brackets for whoever wants them."""
    where, ports = f"{host}:{port}", PORTS[section]
    if isinstance(e, ssl.SSLCertVerificationError):
        why = e.verify_message or "not trusted"
        if "Hostname mismatch" in why or "IP address mismatch" in why:
            return (
                f"[{section}] host: the certificate of {where} is not for {host} ({why}); set host to a name it is for"
            )
        if ca_file:
            return f"[{section}] ca_file: the certificate of {where} is not signed by {ca_file} ({why})"
        return (
            f"[{section}] ca_file: the certificate of {where} is not trusted ({why}); if the server uses a private "
            f"or company CA, set ca_file = the CA's PEM file"
        )
    if isinstance(e, ssl.SSLError) and (e.reason or "") in _NOT_TLS:
        if security == "ssl":
            return (
                f"[{section}] security = ssl, but {where} does not answer in TLS (is it a plain or STARTTLS port?); "
                f"set security = starttls (usually port {ports['starttls']}) or port = {ports['ssl']}"
            )
        return f"[{section}] security = starttls, but {where} did not answer STARTTLS in TLS ({e.reason})"
    text = str(e)
    if "STARTTLS" in text and ("not support" in text or "Capability" in type(e).__name__):
        return (
            f"[{section}] security = starttls, but {where} does not offer STARTTLS; set security = ssl "
            f"(usually port {ports['ssl']}), or none on a trusted network"
        )
    return None
