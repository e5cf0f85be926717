"""Log lines as the journal and a terminal read them.

Under systemd, stderr is a stream into journald (`$JOURNAL_STREAM` names its device and inode). journald stamps
each line with the time itself, and it reads a `<N>` prefix as the line's syslog priority: without it every line
is stored at the unit's default level and `journalctl -p err` shows no error. A `key=value` whose value holds a
blank is quoted, so that `what="notice 'watching'"` stays one field for a reader or a grep."""

import logging
import os
import re
import sys

# syslog(3) priorities, as journald reads them from the prefix
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrfi]")
_BARE = re.compile(r"[^\s\"'=\\]+")


def priority(levelno: int) -> int:
    return next((p for level, p in _PRIORITY if levelno >= level), 7)


def quoted(value: object) -> str:
    """A value as one field: as it is when it has no blank, quote or backslash; else in double quotes."""
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Formatter(logging.Formatter):
    """Quotes the values of `key=%s` fields; under journald, prefixes the line with its priority."""

    def __init__(self, journal: bool) -> None:
        fmt = "%(levelname)s %(name)s: %(message)s"
        super().__init__(fmt if journal else "%(asctime)s " + fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple) and record.args and "=%" in str(record.msg):
            record.args = _quote_fields(str(record.msg), record.args)
        line = super().format(record)
        if not self.journal:
            return line
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + part for part in line.split("\n"))  # a traceback's every line at its level


def _quote_fields(msg: str, args: tuple) -> tuple:
    out = list(args)
    for i, match in enumerate(_PLACEHOLDER.finditer(msg)):
        if i < len(out) and msg[: match.start()].endswith("="):
            out[i] = quoted(out[i])
    return tuple(out)


def under_journal() -> bool:
    """True when stderr is the journal stream systemd opened for us (not merely inherited by a child's pipe)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def setup(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Formatter(journal=under_journal()))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # it warns on every MIME part it skips
    logging.getLogger("flufl.bounce").setLevel(logging.WARNING)  # a line per detector for every bounce
