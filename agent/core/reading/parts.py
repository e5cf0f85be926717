"""A mail's MIME parts found by walking its raw bytes: where each begins and ends, its type, its name. Pure.

Header blocks are parsed alone and bodies never decoded, so the walk is linear in the mail's size and bounded in
depth and parts. agent.core.writing.attach walks the T1 so to leave its largest parts out of the attached copy.
"""

import email.header
import email.message
import email.parser
import email.policy
import email.utils
import re
from dataclasses import dataclass, field

from agent.core.reading import header_cut, limits
from agent.core.reading.text import clean

MAX_DEPTH = 20  # nested multiparts walked; a deeper mail is attached as its header block
BODY = "its body"  # the root part's name: a whole body left out (a one-part mail, or one fetched as its header fields)


@dataclass(eq=False)
class Part:
    """One MIME part as offsets into the raw mail, with what its header block says."""

    start: int  # where its header block begins
    head_end: int  # where its header block ends
    body: int  # where its body begins
    end: int  # where it ends (before the line break that precedes the next delimiter)
    content_type: str
    name: str
    base64: bool
    text: bool  # the mail's own text: text/plain or text/html, not an attachment, no file name
    boundary: bytes | None = None  # a multipart's delimiter ("--" + boundary)
    children: list["Part"] = field(default_factory=list)
    closed: bool = True  # a multipart whose closing delimiter was seen; a leaf fetched to its end

    def leaves(self) -> list["Part"]:
        if self.boundary is None:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def open_multiparts(self) -> list["Part"]:
        """The multiparts left unclosed (a mail fetched only in part), outermost first."""
        if self.boundary is None or self.closed:
            return []
        return [self] + [m for child in self.children for m in child.open_multiparts()]

    def decoded_size(self, raw: bytes, whole_size: int) -> int:
        if self.closed:
            size = self.end - self.body - raw.count(b"\n", self.body, self.end) - raw.count(b"\r", self.body, self.end)
        else:  # the rest of the mail was never fetched: its line breaks are guessed (76 characters a line)
            size = (max(whole_size, self.end) - self.body) * 76 // 78
        return max(size * 3 // 4 if self.base64 else size, 0)


class TooComplex(Exception):
    """Nested deeper than MAX_DEPTH, or more parts than MAX_MIME_PARTS, or a header block over MAX_HEADER_BYTES."""


_BLANK = re.compile(rb"\r?\n\r?\n|\r\r")


def walk(raw: bytes, complete: bool) -> Part:
    """The mail's tree of parts. `complete`: False when only its beginning was fetched, so its last part is open.
    Raises TooComplex (or what the email package raises on a header block) when it is past the limits."""
    return _walk(raw, 0, len(raw), 0, [0], complete)


def _walk(raw: bytes, start: int, end: int, depth: int, count: list[int], complete: bool) -> Part:
    """One part from `start` to `end`: its header block read alone, then its children if it is a multipart."""
    count[0] += 1
    if count[0] > limits.MAX_MIME_PARTS or depth > MAX_DEPTH:
        raise TooComplex
    if raw.startswith((b"\r\n", b"\n"), start):
        head_end, body = start, start + (2 if raw.startswith(b"\r\n", start) else 1)
    else:
        m = _BLANK.search(raw, start, end)
        head_end, body = (m.start(), m.end()) if m else (end, end)
    if head_end - start > header_cut.MAX_HEADER_BYTES:
        raise TooComplex
    if m is None and not complete and depth > 0:
        # the fetch ended inside this part's header block: what it is was never seen
        return Part(start, head_end, body, end, "unknown", "the rest of the mail", False, False, closed=False)
    head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[start:head_end])
    ctype = head.get_content_type()
    name = _filename(head)
    disposition = str(head.get_content_disposition() or "").lower()
    text = ctype in ("text/plain", "text/html") and not name and disposition != "attachment"
    cte = str(head.get("Content-Transfer-Encoding", "")).strip().lower()
    fallback = BODY if depth == 0 else "its text" if text else f"an unnamed {ctype} part"
    part = Part(start, head_end, body, end, ctype, name or fallback, cte == "base64", text, closed=complete)
    boundary = head.get_param("boundary") if head.get_content_maintype() == "multipart" else None
    if isinstance(boundary, str) and boundary and body < end:
        part.boundary = ("--" + boundary).encode("ascii", "surrogateescape")
        part.children, part.closed = _children(raw, part, depth, count, complete)
    return part


def _children(raw: bytes, part: Part, depth: int, count: list[int], complete: bool) -> tuple[list[Part], bool]:
    """A multipart's parts, between its delimiter lines; whether its closing delimiter was seen."""
    assert part.boundary is not None
    sep, pos = part.boundary, part.body
    opened: int | None = None
    out: list[Part] = []
    while True:
        at = raw.find(sep, pos, part.end)
        if at < 0:
            break
        line_end = raw.find(b"\n", at, part.end)
        line_end = part.end if line_end < 0 else line_end + 1
        rest = raw[at + len(sep) : line_end].rstrip(b"\r\n").strip(b" \t")
        if not (at == part.body or raw[at - 1 : at] in (b"\n", b"\r")) or rest not in (b"", b"--"):
            pos = at + len(sep)
            continue
        if opened is not None:
            stop = at - 2 if raw[at - 2 : at] == b"\r\n" else at - 1
            out.append(_walk(raw, opened, max(stop, opened), depth + 1, count, True))
        if rest == b"--":
            return out, True
        opened = pos = line_end
    if opened is not None:  # no closing delimiter: the rest is its last part, whole only if the mail is
        out.append(_walk(raw, opened, part.end, depth + 1, count, complete))
    return out, complete and opened is None and bool(out)


def _filename(head: email.message.Message) -> str:
    """A part's file name, decoded and made safe to name in a sentence; \"\" when it has none or it is broken."""
    try:
        name = head.get_filename() or head.get_param("name")
        if isinstance(name, tuple):
            name = email.utils.collapse_rfc2231_value(name)
        if not name:
            return ""
        decoded = str(email.header.make_header(email.header.decode_header(str(name))))
        return " ".join(clean(decoded).split())[:200]
    except Exception:
        return ""
