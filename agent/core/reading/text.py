"""Untrusted text made safe to handle: control characters out, encoded words decoded. Pure."""

import email.header
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1 (NEL...), line/paragraph separators
# What senders write in the charset parameter, and the superset their client really used: one ① in a
# "Shift_JIS" mail, or a GBK character in a "GB2312" one, would otherwise turn the whole body to U+FFFD.
SUPERSETS = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "iso-2022-jp": "iso2022_jp_ext",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
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
        parts = email.header.decode_header(value)
    except Exception:  # a broken encoded word: the raw text is better than nothing
        return value
    try:
        return str(email.header.make_header(parts))
    except Exception:  # an unknown charset, or bytes outside the one declared: read as its superset, leniently
        return "".join(_lenient(data, charset) for data, charset in parts)


def _lenient(data: bytes | str, charset: str | None) -> str:
    if isinstance(data, str):
        return data
    declared = (charset or "us-ascii").lower()
    try:
        return data.decode(SUPERSETS.get(declared, declared), errors="replace")
    except LookupError:  # a charset nobody knows: UTF-8 is the likeliest truth
        return data.decode("utf-8", errors="replace")


def one_line(text: str) -> str:
    """Text from a mail as one line of a body: no control characters, no runs of blanks."""
    return " ".join(clean(text).split())
