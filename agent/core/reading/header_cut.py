"""Cutting a header block to the limits: where it ends, so many fields and bytes of it, and each field within its
own (so many addresses, so many MIME parameters, so many bytes). Pure; agent.core.reading.limits cuts the rest.
"""

import email.message
import re
from collections.abc import Callable
from dataclasses import dataclass

from agent.core.reading.feed_lines import header_line, header_run_end, line_end

MAX_HEADER_BYTES = 256 * 1024  # one header block: the mail's own, or a MIME part's
MAX_HEADER_FIELDS = 1_000  # fields in one header block
MAX_FIELD_BYTES = 16 * 1024  # one header field, folded lines included (decoding is superlinear in its size)
MAX_ADDRESSES = 1_000  # addresses read from one address field (a To: with 20,000 takes seconds to parse)
MAX_ADDRESS_FIELD_BYTES = 64 * 1024  # one address field (From, To, Cc, Bcc, Reply-To, Delivered-To)
MAX_MIME_PARAMS = 16  # ';' in one Content-* field: the email package splits parameters in quadratic time
_ADDRESS_FIELDS = frozenset((b"from", b"to", b"cc", b"bcc", b"reply-to", b"delivered-to"))
_ADDRESS_SPECIAL = re.compile(rb'\\.|["(),<>]', re.DOTALL)


def header_block(raw: bytes) -> bytes:
    """The header block, at most MAX_HEADER_BYTES of it, by the cheapest possible means."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n"), raw.find(b"\r\r")) if i >= 0]
    head = raw[: min(ends)] if ends else raw
    if len(head) > MAX_HEADER_BYTES:
        head = head[:MAX_HEADER_BYTES]
        head = head[: max(head.rfind(b"\n"), head.rfind(b"\r")) + 1]
    return head.rstrip(b"\r\n") + b"\r\n"


@dataclass(frozen=True)
class Block:
    """A header block as read: its lines within the limits, the blank line that ended it (b"" if none), where the
    reading stopped, and what was over a limit."""

    lines: list[bytes]
    blank: bytes
    end: int
    defects: tuple[str, ...]


def read_block(raw: bytes, pos: int, delimiter: Callable[[bytes], bool]) -> Block:
    """The header block at `pos`: up to the blank line, a line that is no header, or a `delimiter` line (of an
    enclosing multipart), within MAX_HEADER_BYTES and MAX_HEADER_FIELDS; the rest of a block over them is skipped."""
    end, limit = len(raw), pos + MAX_HEADER_BYTES
    lines: list[bytes] = []
    defects: list[str] = []
    blank = b""
    count = 0
    while pos < end:
        next_line = line_end(raw, pos)
        line = raw[pos:next_line]
        if delimiter(line):
            break
        if not header_line(line):
            if line[:1] in (b"\r", b"\n"):
                blank, pos = line, next_line
            break
        count += line[:1] not in (b" ", b"\t")
        if next_line > limit or count > MAX_HEADER_FIELDS:
            if next_line > limit:
                defects.append(f"header block over {MAX_HEADER_BYTES} bytes: truncated")
                part = raw[pos:limit].rstrip(b"\r\n")
                if header_line(part) and (part[:1] in (b" ", b"\t") or b":" in part):
                    lines.append(part + b"\r\n")  # what fits of the line across the limit (a long To:)
            else:
                defects.append(f"over {MAX_HEADER_FIELDS} header fields: the rest not read")
            pos = header_run_end(raw, pos)  # skip the rest of the block
            if raw[pos : pos + 1] in (b"\r", b"\n"):
                blank_end = line_end(raw, pos)
                blank, pos = raw[pos:blank_end], blank_end
            break
        lines.append(line)
        pos = next_line
    return Block(lines, blank, pos, tuple(defects))


def cut_fields(lines: list[bytes]) -> tuple[list[bytes], tuple[str, ...]]:
    """A header block's lines as fields, each cut to its limits, and the defects that say what was cut."""
    out: list[bytes] = []
    defects: tuple[str, ...] = ()
    for field in join_folded(lines):
        field, cut = cut_field(field)
        defects += cut
        out.append(field)
    return out, defects


def content_type_of(fields: list[bytes], default_type: str) -> email.message.Message:
    """A message holding the block's first Content-Type, as the email package reads it (compat32
    header_source_parse): what tells the body's type."""
    content_type = email.message.Message()
    content_type.set_default_type(default_type)
    for field in fields:
        if field[:13].lower() == b"content-type:":
            value = field[13:].decode("ascii", "surrogateescape").lstrip(" \t").rstrip("\r\n")
            content_type.set_raw("Content-Type", value)
            break
    return content_type


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
