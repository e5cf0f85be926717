"""TLS contexts for the IMAP and SMTP connections."""

import functools
import ssl


@functools.lru_cache(maxsize=8)
def context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context, built once per CA file: loading the system CA bundle costs about 40 ms of
    CPU, which every send and every reconnect paid. A changed CA file is read at the next start."""
    return ssl.create_default_context(cafile=ca_file)
