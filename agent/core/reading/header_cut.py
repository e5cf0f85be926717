"""Cutting one header field to the limits: so many addresses, so many MIME parameters, so many bytes. Pure."""

import re

MAX_FIELD_BYTES = 16 * 1024  # one header field, folded lines included (decoding is superlinear in its size)
MAX_ADDRESSES = 1_000  # addresses read from one address field (a To: with 20,000 takes seconds to parse)
MAX_ADDRESS_FIELD_BYTES = 64 * 1024  # one address field (From, To, Cc, Bcc, Reply-To, Delivered-To)
MAX_MIME_PARAMS = 16  # ';' in one Content-* field: the email package splits parameters in quadratic time
_ADDRESS_FIELDS = frozenset((b"from", b"to", b"cc", b"bcc", b"reply-to", b"delivered-to"))
_ADDRESS_SPECIAL = re.compile(rb'\\.|["(),<>]', re.DOTALL)


def join_folded(lines: list[bytes]) -> list[bytes]:
    """Header lines joined into fields: a field's folded lines start with a blank."""
    groups: list[list[bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and groups:
            groups[-1].append(line)
        else:
            groups.append([line])
    return [b"".join(g) for g in groups]


def cut_field(field: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The field within its limits, and the defects that say what was cut."""
    name = field.partition(b":")[0].strip().lower()
    if name in _ADDRESS_FIELDS:
        return _cut_addresses(field, name)
    defects: tuple[str, ...] = ()
    if name.startswith(b"content-") and field.count(b";") > MAX_MIME_PARAMS:
        field = _cut_at(field, _nth(field, b";", MAX_MIME_PARAMS + 1))
        defects += (f"{_name(name)} field over {MAX_MIME_PARAMS} parameters: truncated",)
    if len(field) > MAX_FIELD_BYTES:
        field = _cut_at(field, MAX_FIELD_BYTES)
        defects += (f"{_name(name)} field over {MAX_FIELD_BYTES} bytes: truncated",)
    return field, defects


def _cut_addresses(field: bytes, name: bytes) -> tuple[bytes, tuple[str, ...]]:
    """At most MAX_ADDRESSES addresses and MAX_ADDRESS_FIELD_BYTES, cut at a comma between addresses."""
    if field.count(b",") < MAX_ADDRESSES and len(field) <= MAX_ADDRESS_FIELD_BYTES:
        return field, ()
    comments = 0
    quoted = angle = False
    commas = 0
    last_comma = None
    for m in _ADDRESS_SPECIAL.finditer(field, field.find(b":") + 1, MAX_ADDRESS_FIELD_BYTES + 1):
        c = m.group()
        if len(c) == 2:  # a quoted pair
            continue
        if quoted:
            quoted = c != b'"'
        elif comments:
            comments += {b"(": 1, b")": -1}.get(c, 0)
        elif c == b'"':
            quoted = True
        elif c == b"(":
            comments = 1
        elif c in b"<>":
            angle = c == b"<"
        elif c == b"," and not angle:
            commas += 1
            last_comma = m.start()
            if commas == MAX_ADDRESSES:
                return _cut_at(field, m.start()), (
                    f"{_name(name)} field over {MAX_ADDRESSES} addresses: kept the first {MAX_ADDRESSES}",
                )
    if len(field) <= MAX_ADDRESS_FIELD_BYTES:
        return field, ()
    return (
        _cut_at(field, last_comma if last_comma is not None else MAX_ADDRESS_FIELD_BYTES),
        (f"{_name(name)} field over {MAX_ADDRESS_FIELD_BYTES} bytes: truncated",),
    )


def _nth(data: bytes, needle: bytes, n: int) -> int:
    pos = -1
    for _ in range(n):
        pos = data.find(needle, pos + 1)
    return pos


def _cut_at(field: bytes, at: int) -> bytes:
    """`field` up to `at`, ending with a line break as it did."""
    at = max(at, field.find(b":") + 1)  # never into the name: a field without a colon ends the header block
    eol = b"\r\n" if field.rstrip(b" \t").endswith(b"\r\n") or b"\r\n" in field[:at] else b"\n"
    return field[:at].rstrip(b"\r\n") + eol


def _name(name: bytes) -> str:
    return name.decode("ascii", "replace")[:40].title()
