"""A mail's header fields as text: read in one pass, each field once; raw 8-bit bytes as their sender meant them;
addresses, Outlook's conversation key and the Date's zone. Pure."""

import base64
import email.message
import email.utils
import re
from collections.abc import Callable, Iterable

import mailparser.utils as mailparser_utils

from agent.core.reading.text import SURROGATE, clean, decoded

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
Header = Callable[[str], str]  # a header field's value by name, "" when absent or undecodable
_Pairs = Iterable[tuple[object, str]] | None  # (name, address), as email.utils.getaddresses gives them


def reader(msg: email.message.Message) -> Header:
    """A field's value by name: the first of that name counts, as in `Message.get`. Read in one pass, each field
    once: `get` scans every field for each name asked, and a mail is asked for twenty names, some of them twice."""
    first: dict[str, object] = {}
    for name, value in msg.raw_items():
        first.setdefault(name.lower(), value)
    read: dict[str, str] = {}

    def header(name: str) -> str:
        key = name.lower()
        if key not in read:
            read[key] = _field(msg, name, first.get(key))
        return read[key]

    return header


def _field(msg: email.message.Message, name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and SURROGATE.search(value):  # raw 8-bit bytes, against RFC 5322 but common
        return _eight_bit(value)
    try:
        return str(msg.policy.header_fetch_parse(name, value) or "")  # type: ignore[arg-type]
    except Exception:  # a header the email package cannot decode is as good as absent
        return ""


def _eight_bit(value: str) -> str:
    """A header field's raw 8-bit bytes (the parser keeps them as surrogates) as UTF-8, as clients send them, else
    as cp1252; compat32 would give U+FFFD for each, and a subject would no longer match its thread."""
    data = value.encode("ascii", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def address_pairs(value: str) -> list[tuple[str, str]]:
    """(display name, address) of each address in a field's value, names decoded; [] when it cannot be read."""
    # This Python's email.utils.getaddresses takes the display name of `support@vendor.test <x@evil.test>` for a
    # second address, and the first address is the sender. Where an @ stands outside angle brackets beside one
    # inside, mail-parser's parser reads the field (three times the cost); elsewhere the two agree.
    ambiguous = "<" in value and value.count("@") > value.count("<")
    try:
        found = mailparser_utils.get_addresses(value) if ambiguous else email.utils.getaddresses([value])
        return [(decoded(n), a) for n, a in found]
    except Exception:
        return []


def plain_address(address: str | None) -> bool:
    """True for a plain ASCII `local@domain` that can go into a header we write and read back the same: no quotes,
    comments, spaces, commas or encoded words (`"a, b"@x` would become two recipients)."""
    a = address or ""
    return len(a) <= 254 and "=?" not in a and _ADDRESS.fullmatch(a) is not None


def first_address(pairs: _Pairs) -> tuple[str, str]:
    for name, address in pairs or ():
        address = clean(address).lower()
        if plain_address(address):
            return (name if isinstance(name, str) else ""), address
    return "", ""


def addresses(pairs: _Pairs) -> tuple[str, ...]:
    out = dict.fromkeys(a for a in (clean(a).lower() for _, a in (pairs or ())) if plain_address(a))
    return tuple(out)


def thread_index(value: str) -> str | None:
    try:
        decoded = base64.b64decode("".join(value.split())[:1024], validate=True)
    except (ValueError, TypeError):
        return None
    # 22 bytes: a reserved byte, 5 bytes of time and a 16-byte GUID shared by the whole conversation.
    return base64.b64encode(decoded[:22]).decode() if len(decoded) >= 22 else None


def date_offset(value: str) -> int | None:
    try:
        parsed = email.utils.parsedate_tz(value)
    except Exception:
        return None
    offset = parsed[9] if parsed else None
    return offset // 60 if isinstance(offset, int) and abs(offset) <= 14 * 3600 else None
