"""Cutting a mail to the limits before any parser sees it. Pure, bounded and never recursive.

The email package's feed parser reads a mail line by line; a line that matches the boundary of any enclosing
multipart ends the current part. `_Cutter` follows the same rules over the raw bytes (agent.core.reading.feed_lines),
without recursion deeper than MAX_MIME_DEPTH, and writes out what the parser may see: every header block cut to the
limits (agent.core.reading.header_cut), text contents within the budgets, attachments' contents left out (nothing
here reads them).
"""

import email.message
import re

from agent.core.reading.feed_lines import count_lines, delimiter, line_end
from agent.core.reading.header_cut import content_type_of, cut_fields, header_block, read_block

# What one mail may cost. Beyond each limit the rest is not read and a defect says so.
MAX_MIME_DEPTH = 50  # nested MIME parts descended into; the email package recurses once per level
MAX_MIME_PARTS = 500  # MIME parts (and boundary lines) read
MAX_DASH_LINES = 20_000  # lines starting with '--' that are no boundary: each is checked one by one
MAX_PARSE_BYTES = 4 * 1024 * 1024  # header blocks and text handed to the parser; attachments' contents never are
MAX_PARSE_LINES = 250_000  # lines handed to the parser, each counted once per enclosing multipart
MAX_MAIL_LINES = 8_000_000  # the same over the whole mail, attachments included: what re-reading it whole costs


def cut(raw: bytes, headers_only: bool) -> tuple[bytes, tuple[str, ...]]:
    """What the parsers may see (attachments' contents left out), and the limits the mail was over."""
    try:
        return _Cutter(raw, headers_only).run()
    except Exception as e:  # a bug here must not lose the mail: fall back to its header block
        return _fallback(raw, e)


def _fallback(raw: bytes, e: Exception) -> tuple[bytes, tuple[str, ...]]:
    return header_block(raw) + b"\r\n", (
        f"cutting to the limits failed ({type(e).__name__}): read the header block only",
    )


class Cut:
    """One mail cut once: its header block when first asked (`head`, what `cut(raw, True)` gives), and its body only
    if it is asked for (`whole`, what `cut(raw, False)` gives), cut on from where the header block ended. Ingest
    reads every mail's header block and few bodies: neither is cut twice."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self._cutter = _Cutter(raw, False)
        self._content_type: email.message.Message | None = None  # None: the header block ran out of a budget
        self._head: tuple[bytes, tuple[str, ...]] | None = None
        self._whole: tuple[bytes, tuple[str, ...]] | None = None
        self._failed: Exception | None = None

    def head(self) -> tuple[bytes, tuple[str, ...]]:
        if self._head is None:
            try:
                try:
                    self._content_type = self._cutter.headers("text/plain")
                except _Stop:
                    pass
                self._head = self._cutter.result()
            except Exception as e:  # as `cut`: a bug here must not lose the mail
                self._failed = e
                self._head = _fallback(self.raw, e)
        return self._head

    def whole(self) -> tuple[bytes, tuple[str, ...]]:
        if self._whole is None:
            self.head()
            try:
                if self._failed is not None:
                    raise self._failed
                if self._content_type is not None:
                    try:
                        self._cutter.body(0, self._content_type)
                    except _Stop:
                        pass
                self._whole = self._cutter.result()
            except Exception as e:
                self._whole = _fallback(self.raw, e)
        return self._whole


class _Stop(Exception):
    """A budget ran out: nothing after this point is read."""


class _Cutter:
    def __init__(self, raw: bytes, headers_only: bool):
        self.raw, self.headers_only = raw, headers_only
        self.pos = 0
        self.out: list[bytes] = []
        self.seps: list[bytes] = []  # delimiters of the enclosing multiparts, innermost last
        self.defects: dict[str, None] = {}
        self.parts = self.bytes = self.lines = self.all_lines = self.dashes = 0
        self.lf = self.cr = -2  # the next "\n--" and "\r--" (-1: none left; -2: not looked for yet)

    def run(self) -> tuple[bytes, tuple[str, ...]]:
        try:
            self.message(0, "text/plain")
        except _Stop:
            pass
        return self.result()

    def result(self) -> tuple[bytes, tuple[str, ...]]:
        """What was cut so far, and the limits it was over."""
        if self.all_lines > MAX_MAIL_LINES:
            self.defect(
                f"over {MAX_MAIL_LINES} lines in all (counted once per enclosing multipart): too costly to parse whole"
            )
        return b"".join(self.out), tuple(self.defects)

    def defect(self, text: str) -> None:
        self.defects[text] = None

    def charge(self, lines: int) -> None:
        """Lines about to be handed to the parser, which reads each once per enclosing multipart."""
        self.lines += lines * (len(self.seps) + 1)
        if self.lines > MAX_PARSE_LINES:
            self.defect(f"over {MAX_PARSE_LINES} lines to parse: the rest not read")
            raise _Stop

    def message(self, depth: int, default_type: str) -> None:
        """A mail or a MIME part: its header block, then its body by its content type (the feed parser's
        _parsegen)."""
        content_type = self.headers(default_type)
        if depth == 0 and self.headers_only:
            return
        self.body(depth, content_type)

    def body(self, depth: int, content_type: email.message.Message) -> None:
        """A mail's or a MIME part's body, by its content type."""
        ctype = content_type.get_content_type()
        maintype = content_type.get_content_maintype()
        container = maintype == "multipart" or (maintype == "message" and ctype != "message/delivery-status")
        if container and depth >= MAX_MIME_DEPTH:
            self.defect(f"MIME parts nested over {MAX_MIME_DEPTH} deep: not read")
            self.content(keep=False)
        elif maintype == "multipart":
            sep = self.separator(content_type)
            if sep is None:
                self.content(keep=False)  # no usable boundary: the parser reads it all as one opaque payload
            else:
                self.multipart(depth, sep, "message/rfc822" if ctype == "multipart/digest" else "text/plain")
        elif container:
            self.count_part()
            self.message(depth + 1, "text/plain")
        else:
            self.content(keep=maintype == "text")

    @staticmethod
    def separator(content_type: email.message.Message) -> bytes | None:
        try:
            boundary = content_type.get_boundary()
        except Exception:
            return None
        if boundary is None:
            return None
        try:
            return ("--" + boundary).encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            return None  # no line can match it: the parser never finds a part

    def multipart(self, depth: int, sep: bytes, default_type: str) -> None:
        self.seps.append(sep)
        try:
            close = self.content(keep=True)  # the preamble
            if close is None:
                return  # the end, or a delimiter of an enclosing multipart
            if close:  # closed before it opened: the parser ignores the rest up to an enclosing delimiter
                self.delimiter_line()
                self.seps.pop()
                self.content(keep=False)
                return
            while True:
                self.delimiter_line()
                while self.own_delimiter(sep) is not None:  # repeated delimiters: the parser skips them
                    self.delimiter_line()
                self.message(depth + 1, default_type)
                close = self.own_delimiter(sep)
                if close is None:
                    return
                if close:
                    self.delimiter_line()
                    self.seps.pop()
                    self.content(keep=True)  # the epilogue
                    return
        finally:
            if self.seps and self.seps[-1] is sep:
                self.seps.pop()

    def own_delimiter(self, sep: bytes) -> bool | None:
        """Whether the line at the cursor is a delimiter of the innermost multipart (open: False, close: True)."""
        line = self.raw[self.pos : line_end(self.raw, self.pos)]
        if not line or self.owner(line) is not sep:
            return None
        return delimiter(line, sep)

    def owner(self, line: bytes) -> bytes | None:
        """The delimiter of the enclosing multipart that `line` belongs to, or None. When several match, the
        outermost: the parser checks the enclosing multiparts' delimiters before a multipart's own."""
        if line[:2] != b"--":
            return None
        for sep in self.seps:
            if delimiter(line, sep) is not None:
                return sep
        return None

    def delimiter_line(self) -> None:
        self.count_part()
        end = line_end(self.raw, self.pos)
        self.charge(1)
        self.all_lines += len(self.seps) + 1
        self.out.append(self.raw[self.pos : end])
        self.pos = end

    def count_part(self) -> None:
        self.parts += 1
        if self.parts > MAX_MIME_PARTS:
            self.defect(f"over {MAX_MIME_PARTS} MIME parts: the rest not read")
            raise _Stop

    def content(self, keep: bool) -> bool | None:
        """Body lines up to the next delimiter of an enclosing multipart (left unread) or the end. Kept (within the
        budgets) when `keep`, else skipped. Returns what ends it: None for the end or an outer multipart's
        delimiter, else whether the innermost multipart's delimiter closes it."""
        raw, start = self.raw, self.pos
        end, found, stop = len(raw), None, False
        if self.seps:
            active = frozenset(self.seps)
            at = self.next_dash(start)
            while at >= 0:
                line = raw[at : line_end(raw, at)]
                core = line.rstrip(b"\r\n").rstrip(b" \t")
                if (core in active or (core[-2:] == b"--" and core[:-2] in active)) and self.owner(line):
                    end, found = at, line
                    break
                self.dashes += 1
                if self.dashes > MAX_DASH_LINES:
                    self.defect(f"over {MAX_DASH_LINES} lines starting with '--': the rest not read")
                    end, stop = at, True
                    break
                at = self.next_dash(at + 1)
        lines = count_lines(raw, start, end)
        self.all_lines += lines * (len(self.seps) + 1)
        if keep and not self.headers_only:
            self.keep_text(start, end, lines)
        self.pos = end
        if stop:
            raise _Stop
        if found is None or self.owner(found) is not self.seps[-1]:
            return None
        return delimiter(found, self.seps[-1])

    def next_dash(self, start: int) -> int:
        """Where the first line from `start` (a line start) on that begins with "--" starts, or -1: where a
        delimiter may be. The cursor only moves forward, so each "\\n--" and "\\r--" is looked for once: one
        bytes.find per part would be quadratic, and a regular expression with a look-behind is ten times slower."""
        after = max(start - 1, 0)
        if self.lf == -2 or 0 <= self.lf < after:
            self.lf = self.raw.find(b"\n--", after)
        if self.cr == -2 or 0 <= self.cr < after:
            self.cr = self.raw.find(b"\r--", after)
        found = [p for p in (self.lf, self.cr) if p >= 0]
        return min(found) + 1 if found else -1

    def keep_text(self, start: int, end: int, lines: int) -> None:
        room_bytes = MAX_PARSE_BYTES - self.bytes
        room_lines = (MAX_PARSE_LINES - self.lines) // (len(self.seps) + 1)
        if end - start <= room_bytes and lines <= room_lines:
            self.bytes += end - start
            self.lines += lines * (len(self.seps) + 1)
            self.out.append(self.raw[start:end])
            return
        by_lines = start
        if room_lines > 0:
            m = re.compile(rb"(?:[^\r\n]*(?:\r\n|\r|\n)){1,%d}" % room_lines).match(self.raw, start, end)
            by_lines = m.end() if m else start
        if lines > room_lines and by_lines <= start + room_bytes:
            cut = by_lines
            self.defect(f"over {MAX_PARSE_LINES} lines to parse: the rest not read")
        else:
            cut = start + max(room_bytes, 0)
            self.defect(f"over {MAX_PARSE_BYTES} bytes to parse: the rest not read")
        self.out.append(self.raw[start:cut])
        raise _Stop

    def headers(self, default_type: str) -> email.message.Message:
        """Read one header block (up to the blank line, a line that is no header, or a delimiter), write it out cut
        to the limits, and return a message holding its Content-Type, to learn the body's type exactly as the
        email package will."""
        block = read_block(self.raw, self.pos, lambda line: self.owner(line) is not None)
        for defect in block.defects:
            self.defect(defect)
        self.all_lines += (len(block.lines) + bool(block.blank)) * (len(self.seps) + 1)
        fields, defects = cut_fields(block.lines)
        for defect in defects:
            self.defect(defect)
        joined = b"".join(fields)
        self.charge(count_lines(joined, 0, len(joined)) + bool(block.blank))
        self.bytes += len(joined) + len(block.blank)
        if self.bytes > MAX_PARSE_BYTES:
            self.defect(f"over {MAX_PARSE_BYTES} bytes to parse: the rest not read")
            raise _Stop
        self.out.append(joined + block.blank)
        self.pos = block.end
        return content_type_of(fields, default_type)
