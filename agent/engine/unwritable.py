"""What a database that cannot be written costs, said in the error line: its path, and which deadlines are overdue
now, from what can still be read (a full disk still reads). Nothing is recorded or sent until it can be written:
the outbox row comes before every send, so the operator must know what is waiting."""

from datetime import datetime
from pathlib import Path

from agent.adapters.store import Store
from agent.core.errors import why
from agent.core.procedure.policy import Reason, decide
from agent.core.settings import Config
from agent.core.times import gmt
from agent.engine.ladder import policy_of

# SQLite's primary result codes for a write the file system refused: SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL.
_CODES = {8: "read-only", 10: "I/O error", 13: "full"}
# The same, by SQLite's words, for a driver that gives no code (every sqlite3 / pysqlite3 error class is checked by
# its name: pysqlite3's errors are not the standard library's classes).
_WORDS = ("database or disk is full", "attempt to write a readonly database", "disk i/o error")


def cannot_write(e: BaseException) -> str | None:
    """SQLite's own words when `e` says the database cannot be written (a full disk, a read-only file system);
    None for any other failure."""
    if type(e).__name__ not in ("OperationalError", "DatabaseError") or "sqlite" not in type(e).__module__:
        return None
    code = getattr(e, "sqlite_errorcode", None)
    text = " ".join(str(e).split())
    if (isinstance(code, int) and code & 0xFF in _CODES) or text.lower() in _WORDS:
        return text
    return None


def overdue(store: Store, config: Config, now: datetime) -> list[str]:
    """`incident 3 T2 due 11:45:00 GMT on Mon 07 Dec 2026`: each deadline already past, read without writing."""
    out = []
    for incident, _ in store.open_incidents():
        d = decide(incident, policy_of(config, incident.drill), now)
        if d.due_at is None or d.due_at > now:
            continue
        what = d.tier.label if d.tier is not None else "exhausted notice" if d.reason == Reason.EXHAUSTED else None
        if what is not None:
            out.append(f"incident {incident.id} {what} due {gmt(d.due_at)}")
    return out


def line(store: Store, config: Config, now: datetime, words: str) -> str:
    """The one error line: the database's path, SQLite's words, what is overdue now, and the fix."""
    path = Path(config.agent.database).resolve()
    try:
        late = overdue(store, config, now)
        said = f"overdue now: {'; '.join(late)}" if late else "no deadline is overdue yet"
    except Exception as e:  # unreadable too: say so, the path and the fix still stand
        said = f"which deadlines are overdue is unknown ({why(e)})"
    return (
        f"the database {path} cannot be written ({words}): nothing is recorded or sent until it can; {said}; "
        f"free space on its file system, or make it writable"
    )
