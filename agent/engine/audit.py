"""Trust in the audit trail: the events' hash chain, SQLite's integrity check, consistent backups."""

from dataclasses import dataclass
from pathlib import Path

from agent.adapters import upkeep
from agent.adapters.records import Records
from agent.adapters.store import Store, chain_hash


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


def verify(store: Store | Records) -> Verdict:
    """Recompute every event's hash from its fields and the previous hash, in id order. A read-only `Records` will
    do: the auditors' report and export verify what they hand out."""
    checked = unchained = 0
    prev = None
    for link in upkeep.chain(store):
        if link.hash is None and prev is None:
            unchained += 1
            continue
        expected_prev = prev or ""
        fields = (link.at, link.incident_id, link.kind, link.detail, link.reason)
        if link.prev_hash != expected_prev or link.hash != chain_hash(expected_prev, *fields):
            return Verdict(checked, unchained, link.id, upkeep.integrity(store))
        prev = link.hash
        checked += 1
    return Verdict(checked, unchained, None, upkeep.integrity(store), prev)


def backup(store: Store, target: Path) -> int:
    """A consistent copy through SQLite's backup API, safe while the agent writes. Returns its size."""
    return upkeep.backup(store, target)
