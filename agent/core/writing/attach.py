"""The original T1 as an escalation attaches it, within a size: whole, or without its large parts. Pure.

A relay refuses a mail over its size limit (Postfix's default 10,240,000 bytes, Exchange Online's 25 MB, Gmail's
25 MB, counted after base64's 4/3 growth), and a refused escalation is one that never happened. So the T1 is
attached whole only when it fits; else without its largest parts, one by one, until it does. A part is left out
whole, never cut inside: in its place stands a short text part that names it (file name, type, size), so whoever
opens the attachment sees what is missing and where. The T1's header block is always kept as it was.

The raw mail is walked as bytes (agent.core.reading.parts: header blocks parsed alone, bodies never decoded):
linear in its size, bounded in depth and parts, and what remains is checked against agent.core.reading.limits, so
the parser that later reads the attachment never cuts it either. A mail fetched only in part (over
max_message_bytes: its beginning) is walked the same way: its last, unfinished part is left out, and named when its
header block was fetched.
"""

import enum
import quopri
import re
from dataclasses import dataclass

from agent.core.reading import limits, parts
from agent.core.reading.header_cut import header_block

DEFAULT_LIMIT = 10_000_000  # [escalation] attach_limit's default: under Postfix's default 10,240,000 (config.ini)
PLACEHOLDER_BYTES = 400  # about what the text part standing for a left-out part costs


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
        if [p.name for p in self.left_out] == [parts.BODY]:
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
        root = parts.walk(raw, fetched)
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
    body = LeftOut(parts.BODY, "unknown", max(size - len(header_block(raw)), 0), size <= len(raw))
    head = _CONTENT_FIELD.sub(b"", limits.cut(raw, True)[0].rstrip(b"\r\n") + b"\r\n")
    out = head + _placeholder(body)
    if len(out) > budget:
        return Attachment(Form.NONE, None, size, ())
    return Attachment(Form.HEADER, out, size, (body,))


def _left_out(p: parts.Part, raw: bytes, whole_size: int) -> LeftOut:
    return LeftOut(p.name, p.content_type, p.decoded_size(raw, whole_size), p.closed, p.text)


# -- writing what remains ---------------------------------------------------------------------------
_CONTENT_FIELD = re.compile(rb"(?im)^content-(?:type|transfer-encoding|disposition)[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n?")


def _build(raw: bytes, root: parts.Part, dropped: list[parts.Part], left_out: tuple[LeftOut, ...]) -> bytes:
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
