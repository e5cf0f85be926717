"""What the state database says about the agent itself: when every folder was last read, the alarms of an outage,
the heartbeat's last outcome, and which incidents are drills. Queries over a `Store`, beside its own."""

from collections.abc import Callable
from datetime import datetime

from agent.adapters.rows import AlarmRow, EventRow, IncidentRow, Row, typed
from agent.adapters.store import Store
from agent.core.procedure.policy import Status
from agent.core.times import from_iso, iso


def touch_folders(store: Store, folders: tuple[str, ...], now: datetime) -> None:
    """Every folder was read just now: `mailbox_state.synced_at` is the last good read, which outlives a restart."""
    marks = ",".join("?" * len(folders))
    store.db.execute(f"UPDATE mailbox_state SET synced_at = ? WHERE folder IN ({marks})", [iso(now), *folders])


def folder_reads(store: Store, folders: tuple[str, ...]) -> dict[str, datetime | None]:
    """Each watched folder's last good read (None: never read)."""
    marks = ",".join("?" * len(folders))
    found = dict(store.db.execute(f"SELECT folder, synced_at FROM mailbox_state WHERE folder IN ({marks})", folders))
    return {f: from_iso(found.get(f)) for f in folders}


def long_reads(store: Store) -> dict[str, str]:
    """The folders a long first sync or re-map is still reading, and how far it is."""
    return dict(store.db.execute("SELECT folder, reading FROM mailbox_state WHERE reading IS NOT NULL ORDER BY folder"))


def last_good_read(store: Store, folders: tuple[str, ...]) -> datetime | None:
    """The last time every folder was read: the oldest folder's last read (None when one was never read)."""
    reads = folder_reads(store, folders).values()
    return None if not reads or None in reads else min(r for r in reads if r is not None)


def open_blind(store: Store) -> AlarmRow | None:
    """The alarm of an outage not over yet: a blind alarm, not cancelled, with no all-clear for its outage."""
    rows = _rows(
        store,
        AlarmRow,
        "SELECT * FROM alarms a WHERE kind = 'blind' AND status != ? AND NOT EXISTS "
        "(SELECT 1 FROM alarms s WHERE s.kind = 'sight' AND s.outage = a.outage) ORDER BY id DESC LIMIT 1",
        str(Status.CANCELLED),
    )
    return rows[0] if rows else None


def own_mail_in(store: Store, message_id: str, incident_id: int) -> bool:
    """Ingest took this mail for the agent's own (our From, believed where DMARC is checked) in this incident."""
    row = store.db.execute("SELECT kind, incident_id FROM messages WHERE message_id = ?", [message_id]).fetchone()
    return row is not None and row[0] == "own" and row[1] == incident_id


def has_alarm(store: Store, kind: str, outage: datetime) -> bool:
    found = store.db.execute("SELECT 1 FROM alarms WHERE kind = ? AND outage = ?", [kind, iso(outage)]).fetchone()
    return found is not None


def unconfirmed_alarms(store: Store) -> list[AlarmRow]:
    """Alarms the server accepted whose CC copy has not been seen yet."""
    return _rows(
        store,
        AlarmRow,
        "SELECT * FROM alarms WHERE status = ? AND confirmed_at IS NULL ORDER BY id",
        str(Status.SENT),
    )


def last_event(store: Store, kinds: tuple[str, ...]) -> EventRow | None:
    """The newest audit event of these kinds about no incident (the agent's own)."""
    marks = ",".join("?" * len(kinds))
    rows = _rows(
        store,
        EventRow,
        f"SELECT * FROM events WHERE incident_id IS NULL AND kind IN ({marks}) ORDER BY id DESC LIMIT 1",
        *kinds,
    )
    return rows[0] if rows else None


def mark_drills(store: Store, t1_address: str, after_id: int) -> list[int]:
    """Incidents newer than `after_id` whose T1 went to the drill's T1 address become drill incidents."""
    rows = store.db.execute(
        "UPDATE incidents SET drill = 1 WHERE id > ? AND drill = 0 AND EXISTS "
        "(SELECT 1 FROM json_each(incidents.t1_recipients) WHERE lower(value) = ?) RETURNING id",
        [after_id, t1_address.lower()],
    ).fetchall()
    return sorted(r[0] for r in rows)


def last_incident_id(store: Store) -> int:
    return int(store.db.execute("SELECT coalesce(max(id), 0) FROM incidents").fetchone()[0])


def incident_by_t1(store: Store, message_id: str) -> IncidentRow | None:
    rows = _rows(store, IncidentRow, "SELECT * FROM incidents WHERE t1_message_id = ?", message_id)
    return rows[0] if rows else None


def _rows(store: Store, row: Callable[..., Row], sql: str, *args: object) -> list[Row]:
    return typed(row, store.db.execute(sql, list(args)))
