"""The database's own upkeep: its integrity check, the audit chain as stored, the WAL checkpoint and a backup.
Beside the store: SQL and SQLite's APIs stay in the adapters; engine/audit.py judges what these read."""

from collections.abc import Iterator
from pathlib import Path

from agent.adapters.records import Records
from agent.adapters.rows import EventRow
from agent.adapters.sqlite import sqlite3
from agent.adapters.store import Store
from agent.core.errors import StoreError


def integrity(store: Store | Records) -> str:
    """`ok`, or the first problems PRAGMA integrity_check found."""
    rows = store.db.execute("PRAGMA integrity_check").fetchall()
    return "ok" if rows == [("ok",)] else "; ".join(r[0] for r in rows[:3])


def chain(store: Store | Records) -> Iterator[EventRow]:
    """Every audit event, oldest first, as the hash chain covers it (one at a time: the log can be long)."""
    cursor = store.db.execute(
        "SELECT id, at, incident_id, kind, detail, reason, prev_hash, hash FROM events ORDER BY id"
    )
    return (EventRow(*row) for row in cursor)


def checkpoint(store: Store) -> None:
    """Keep the WAL file small (raises sqlite3.Error)."""
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def backup(store: Store, target: Path) -> int:
    """A consistent copy through SQLite's backup API, safe while the agent writes. Returns its size."""
    target = Path(target)
    if target.exists():
        raise StoreError(f"{target} exists already; the backup never overwrites a file")
    try:
        dest = sqlite3.connect(str(target))
        try:
            store.db.conn.backup(dest)
        finally:
            dest.close()
    except (sqlite3.Error, OSError) as e:
        target.unlink(missing_ok=True)
        raise StoreError(f"cannot write the backup {target}: {e}") from None
    return target.stat().st_size
