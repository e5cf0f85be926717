"""Trust in the audit trail: the events' hash chain, SQLite's integrity check, consistent backups."""

from dataclasses import dataclass
from pathlib import Path

from agent.adapters.records import Records
from agent.adapters.sqlite import sqlite3
from agent.adapters.store import Store, chain_hash
from agent.core.errors import StoreError


@dataclass(frozen=True)
class Verdict:
    events: int  # events whose hash was checked
    unchained: int  # events written before the chain existed (schema 0001), not checkable
    broken_at: int | None  # the id of the first event whose hash does not match, or None
    integrity: str  # PRAGMA integrity_check's answer: "ok" or its first complaint
    head: str | None = None  # the last event's hash: kept elsewhere, it also reveals a truncated log

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.integrity == "ok"

    def sentence(self) -> str:
        if self.integrity != "ok":
            return f"the database is damaged: {self.integrity}"
        if self.broken_at is not None:
            return f"the audit log was altered: event {self.broken_at} does not match the hash chain"
        extra = f" ({self.unchained} older events predate the chain)" if self.unchained else ""
        return f"audit log intact: {self.events} events chained{extra}, head {self.head}; integrity_check ok"


def integrity(store: Store | Records) -> str:
    rows = [tuple(r) for r in store.db.execute("PRAGMA integrity_check").fetchall()]
    return "ok" if rows == [("ok",)] else "; ".join(r[0] for r in rows[:3])


def verify(store: Store | Records) -> Verdict:
    """Recompute every event's hash from its fields and the previous hash, in id order. A read-only `Records` will
    do: the auditors' report and export verify what they hand out."""
    checked = unchained = 0
    prev = None
    cursor = store.db.execute(
        "SELECT id, at, incident_id, kind, detail, reason, prev_hash, hash FROM events ORDER BY id"
    )
    for event_id, at, incident_id, kind, detail, reason, prev_hash, hash_ in cursor:
        if hash_ is None and prev is None:
            unchained += 1
            continue
        expected_prev = prev or ""
        if prev_hash != expected_prev or hash_ != chain_hash(expected_prev, at, incident_id, kind, detail, reason):
            return Verdict(checked, unchained, event_id, integrity(store))
        prev = hash_
        checked += 1
    return Verdict(checked, unchained, None, integrity(store), prev)


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
