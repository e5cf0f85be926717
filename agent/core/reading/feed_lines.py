"""What the email package's feed parser takes for a line, a header line and a multipart's delimiter line, as rules
over raw bytes: agent.core.reading.limits and header_cut cut a mail by them, so the parser never meets a surprise."""

import re

_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")  # the feed parser's headerRE
_HEADER_RUN = re.compile(rb"(?:(?:From |[\x21-\x39\x3b-\x7e]*:|[\t ])[^\r\n]*(?:\r\n|\r|\n))*")


def line_end(data: bytes, pos: int) -> int:
    """Where the line at `pos` ends, its line break (CRLF, CR or LF, as the feed parser splits) included."""
    return _end(_LINE, data, pos)


def _end(pattern: re.Pattern[bytes], data: bytes, pos: int) -> int:
    """Where `pattern` (_LINE or _HEADER_RUN) ends, matched at `pos`."""
    m = pattern.match(data, pos)
    assert m is not None  # both match the empty string, so they match everywhere
    return m.end()


def header_line(line: bytes) -> bool:
    """Whether the parser takes `line` for a header line (a field, its folded continuation, or a "From " line)."""
    return _HEADER_LINE.match(line) is not None


def header_run_end(data: bytes, pos: int) -> int:
    """Where the run of header lines from `pos` ends: the rest of a header block skipped."""
    return _end(_HEADER_RUN, data, pos)


def delimiter(line: bytes, sep: bytes) -> bool | None:
    """None when `line` is no delimiter of `sep`; True when it closes the multipart, False when it opens a part.
    The feed parser's boundaryre: sep, an optional "--", blanks, the line break."""
    if not line.startswith(sep):
        return None
    rest = line[len(sep) :].rstrip(b"\r\n")
    if not rest.strip(b" \t"):
        return False
    if rest.startswith(b"--") and not rest[2:].strip(b" \t"):
        return True
    return None


def count_lines(data: bytes, start: int, end: int) -> int:
    """The lines the parser sees in data[start:end]: each line break, and a last line without one."""
    if start >= end:
        return 0
    breaks = data.count(b"\n", start, end) + data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    return breaks + (data[end - 1 : end] not in (b"\r", b"\n"))
