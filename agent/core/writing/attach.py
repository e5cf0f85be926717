"""The original T1 as an escalation attaches it, within a size: whole, or without its large parts. Pure.

A relay refuses a mail over its size limit (Postfix's default 10,240,000 bytes, Exchange Online's 25 MB, Gmail's
25 MB, counted after base64's 4/3 growth), and a refused escalation is one that never happened. So the T1 is
attached whole only when it fits; else without its largest parts, one by one, until it does. A part is left out
whole, never cut inside: in its place stands a short text part that names it (file name, type, size), so whoever
opens the attachment sees what is missing and where. The T1's header block is always kept as it was.

The raw mail is walked as bytes (header blocks parsed alone, bodies never decoded): linear in its size, bounded in
depth and parts, and what remains is checked against agent.core.reading.limits, so the parser that later reads the
attachment never cuts it either. A mail fetched only in part (over max_message_bytes: its beginning) is walked the
same way: its last, unfinished part is left out, and named when its header block was fetched.
"""

import email.header
import email.message
import email.parser
import email.policy
import email.utils
import enum
import quopri
import re
from dataclasses import dataclass, field

from agent.core.reading import limits
from agent.core.reading.text import clean

DEFAULT_LIMIT = 10_000_000  # [escalation] attach_limit's default: under Postfix's default 10,240,000 (config.ini)
MAX_DEPTH = 20  # nested multiparts walked; a deeper mail is attached as its header block
PLACEHOLDER_BYTES = 400  # about what the text part standing for a left-out part costs


BODY = "its body"  # the name of a whole body left out (a one-part mail, or one fetched as its header fields)


class Form(enum.StrEnum):
    """How much of the T1 is attached, most first."""

    WHOLE = "whole"
    TRIMMED = "without its large parts"
    TEXT = "headers and text only"
    HEADER = "header only"
    NONE = "not attached"


@dataclass(frozen=True)
class LeftOut:
    """A part of the T1 that the attached copy does not hold."""

    name: str
    content_type: str
    size: int  # decoded bytes (an estimate when it was not fetched whole)
    fetched: bool = True  # False: the mail was over max_message_bytes and only its beginning was fetched
    text: bool = False  # the mail's own text (text/plain or text/html, no file name)


@dataclass(frozen=True)
class Attachment:
    """The T1 as attached: its bytes (None: not attached) and what was left out of them."""

    form: Form
    raw: bytes | None
    size: int  # the original's size on the server
    left_out: tuple[LeftOut, ...] = ()

    def says(self) -> str:
        """One sentence for the escalation's text: exactly what is attached."""
        if self.form == Form.WHOLE:
            return f"The original T1 is attached in full ({megabytes(self.size)})."
        if self.form == Form.NONE:
            return (
                f"The original T1 ({megabytes(self.size)}) is not attached: even its header would make this mail "
                "larger than attach_limit. Its text is quoted below."
            )
        if [p.name for p in self.left_out] == [BODY]:
            body = self.left_out[0]
            why = (
                "was not fetched: the mail is over max_message_bytes"
                if not body.fetched
                else "is left out (too large for attach_limit, or past the limits of what the agent re-encodes)"
            )
            return f"The original T1 ({megabytes(self.size)}) is attached as its header only: its body {why}."
        files = [p for p in self.left_out if not p.text]
        texts = len(self.left_out) - len(files)
        what = []
        if texts:
            what.append("its text")
        if files:
            many = len(files) > 1
            count = f"its {len(files)} attachment{'s' if many else ''} of {_about(files)}{megabytes(_total(files))}"
            what.append(f"{count}: {', '.join(_named(p, many) for p in files)}")
        without = " and ".join(what)
        if self.form == Form.HEADER:
            return f"The original T1 ({megabytes(self.size)}) is attached as its header only, without {without}."
        return f"The original T1 is attached without {without}."


def _total(parts: list[LeftOut]) -> int:
    return sum(p.size for p in parts)


def _about(parts: list[LeftOut]) -> str:
    return "about " if any(not p.fetched for p in parts) else ""


def _named(p: LeftOut, sized: bool) -> str:
    size = f"about {megabytes(p.size)}, " if sized and not p.fetched else f"{megabytes(p.size)}, " if sized else ""
    if not p.fetched:
        return f"{p.name} ({size}not fetched: the mail is over max_message_bytes)"
    return f"{p.name} ({size[:-2]})" if sized else p.name


def megabytes(size: int) -> str:
    """A size as mail servers publish their limits: decimal megabytes with one decimal; kilobytes below 0.1 MB."""
    if size < 100_000:
        return f"{max(size, 0) / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def fit(raw: bytes, budget: int, whole_size: int | None = None, text_only: bool = False) -> Attachment:
    """The T1 (`raw`: as fetched; `whole_size`: its size on the server, when only its beginning was fetched) within
    `budget` bytes: whole; else without its largest attachments; else without its text too; else not at all.
    `text_only`: the smaller form tried after a size refusal, every attachment left out."""
    size = max(whole_size or 0, len(raw))
    fetched = whole_size is None or whole_size <= len(raw)
    if fetched and not text_only and len(raw) <= budget and not limits.cut(raw, False)[1]:
        return Attachment(Form.WHOLE, raw, size)
    try:
        root = _walk(raw, 0, len(raw), 0, [0], fetched)
    except Exception:  # too deep, too many parts, or a header block over the limits: its header block alone
        return _header_only(raw, budget, size)
    leaves = root.leaves()
    if not leaves:  # a multipart with no part (broken, or fetched only up to its preamble)
        return _header_only(raw, budget, size)
    dropped = [leaf for leaf in leaves if not leaf.closed]
    files = sorted((p for p in leaves if p.closed and not p.text), key=lambda p: p.start - p.end)
    texts = sorted((p for p in leaves if p.closed and p.text), key=lambda p: p.start - p.end)
    order = files + texts
    if text_only:
        dropped += files
        order = texts
    for candidate in [None, *order]:
        if candidate is not None:
            dropped.append(candidate)
        estimate = len(raw) - sum(p.end - p.start - PLACEHOLDER_BYTES for p in dropped)
        if estimate > budget:
            continue
        left_out = tuple(_left_out(p, raw, size) for p in sorted(dropped, key=lambda p: p.start))
        out = _build(raw, root, dropped, left_out)
        if len(out) <= budget and not limits.cut(out, False)[1]:
            form = Form.HEADER if any(p.text for p in dropped) or root in dropped else Form.TRIMMED
            if form == Form.TRIMMED and all(p in dropped for p in files):
                form = Form.TEXT
            return Attachment(form, out, size, left_out)
    return _header_only(raw, budget, size)


def _header_only(raw: bytes, budget: int, size: int) -> Attachment:
    """The last form before none: the header block as the parser may read it (cut to agent.core.reading.limits), and
    a note
    in place of the body."""
    body = LeftOut(BODY, "unknown", max(size - len(limits.header_block(raw)), 0), size <= len(raw))
    head = _CONTENT_FIELD.sub(b"", limits.cut(raw, True)[0].rstrip(b"\r\n") + b"\r\n")
    out = head + _placeholder(body)
    if len(out) > budget:
        return Attachment(Form.NONE, None, size, ())
    return Attachment(Form.HEADER, out, size, (body,))


def _left_out(p: "_Part", raw: bytes, whole_size: int) -> LeftOut:
    return LeftOut(p.name, p.content_type, p.decoded_size(raw, whole_size), p.closed, p.text)


# -- walking the mail as bytes ----------------------------------------------------------------------
@dataclass(eq=False)
class _Part:
    start: int  # where its header block begins
    head_end: int  # where its header block ends
    body: int  # where its body begins
    end: int  # where it ends (before the line break that precedes the next delimiter)
    content_type: str
    name: str
    base64: bool
    text: bool  # the mail's own text: text/plain or text/html, not an attachment, no file name
    boundary: bytes | None = None  # a multipart's delimiter ("--" + boundary)
    children: list["_Part"] = field(default_factory=list)
    closed: bool = True  # a multipart whose closing delimiter was seen; a leaf fetched to its end

    def leaves(self) -> list["_Part"]:
        if self.boundary is None:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def open_multiparts(self) -> list["_Part"]:
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


class _TooComplex(Exception):
    pass


_BLANK = re.compile(rb"\r?\n\r?\n|\r\r")


def _walk(raw: bytes, start: int, end: int, depth: int, count: list[int], complete: bool) -> _Part:
    count[0] += 1
    if count[0] > limits.MAX_MIME_PARTS or depth > MAX_DEPTH:
        raise _TooComplex
    if raw.startswith((b"\r\n", b"\n"), start):
        head_end, body = start, start + (2 if raw.startswith(b"\r\n", start) else 1)
    else:
        m = _BLANK.search(raw, start, end)
        head_end, body = (m.start(), m.end()) if m else (end, end)
    if head_end - start > limits.MAX_HEADER_BYTES:
        raise _TooComplex
    if m is None and not complete and depth > 0:
        # the fetch ended inside this part's header block: what it is was never seen
        return _Part(start, head_end, body, end, "unknown", "the rest of the mail", False, False, closed=False)
    head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[start:head_end])
    ctype = head.get_content_type()
    name = _filename(head)
    disposition = str(head.get_content_disposition() or "").lower()
    text = ctype in ("text/plain", "text/html") and not name and disposition != "attachment"
    cte = str(head.get("Content-Transfer-Encoding", "")).strip().lower()
    fallback = BODY if depth == 0 else "its text" if text else f"an unnamed {ctype} part"
    part = _Part(start, head_end, body, end, ctype, name or fallback, cte == "base64", text, closed=complete)
    boundary = head.get_param("boundary") if head.get_content_maintype() == "multipart" else None
    if isinstance(boundary, str) and boundary and body < end:
        part.boundary = ("--" + boundary).encode("ascii", "surrogateescape")
        part.children, part.closed = _children(raw, part, depth, count, complete)
    return part


def _children(raw: bytes, part: _Part, depth: int, count: list[int], complete: bool) -> tuple[list[_Part], bool]:
    """A multipart's parts, between its delimiter lines; whether its closing delimiter was seen."""
    assert part.boundary is not None
    sep, pos = part.boundary, part.body
    opened: int | None = None
    out: list[_Part] = []
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


# -- writing what remains ---------------------------------------------------------------------------
_CONTENT_FIELD = re.compile(rb"(?im)^content-(?:type|transfer-encoding|disposition)[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n?")


def _build(raw: bytes, root: _Part, dropped: list[_Part], left_out: tuple[LeftOut, ...]) -> bytes:
    """`raw` with each dropped part replaced by a text part naming it, and the multiparts a partial fetch left
    open closed."""
    notes = dict(zip(sorted(dropped, key=lambda p: p.start), left_out, strict=True))
    if root in notes:  # the mail is one part, or could not be walked: its header block, then the note as its body
        head = _CONTENT_FIELD.sub(b"", raw[root.start : root.head_end].rstrip(b"\r\n") + b"\r\n")
        return head + _placeholder(notes[root])
    pieces, pos = [], 0
    for part, note in notes.items():
        pieces += [raw[pos : part.start], _placeholder(note)]
        pos = part.end
    pieces.append(raw[pos:])
    for multipart in reversed(root.open_multiparts()):
        assert multipart.boundary is not None
        pieces.append(b"\r\n" + multipart.boundary + b"--\r\n")
    return b"".join(pieces)


def _placeholder(p: LeftOut) -> bytes:
    why = "not fetched: the mail is over max_message_bytes" if not p.fetched else "over attach_limit"
    size = f"{'about ' if not p.fetched else ''}{megabytes(p.size)}"
    text = f"[Left out of this copy by escalation-agent ({why}): {p.name}, {p.content_type}, {size}.]"
    return (
        b'Content-Type: text/plain; charset="utf-8"\r\nContent-Disposition: inline\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + quopri.encodestring(text.encode()).rstrip(b"\n")
    )
