"""Untrusted text made safe to handle: control characters out, encoded words decoded. Pure."""

import email.header
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1 (NEL...), line/paragraph separators
SURROGATE = re.compile(r"[\ud800-\udfff]")  # undecodable bytes (surrogateescape): not encodable as UTF-8


def clean(text: str | None) -> str:
    """Drop control characters (CR, LF, NUL, NEL, U+2028...): untrusted text may end up in a header we write.
    Undecodable bytes become U+FFFD, so that the text can always be encoded."""
    return SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text or "")).strip()


def decoded(value: str) -> str:
    """RFC 2047 encoded words decoded; text without one is returned as it is, as `decode_header` would."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:  # unknown charset, broken encoded word: the raw text is better than nothing
        return value
