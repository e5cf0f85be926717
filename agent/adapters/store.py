"""The state database: one SQLite file (sqlite-utils) that the agent writes and auditors read."""

import hashlib
import json
import os
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from agent.adapters.outbox_rows import OutboxRows
from agent.adapters.rows import EventRow, IncidentRow, MirroredEvent
from agent.adapters.schema import migrations
from agent.adapters.sqlite import sqlite3
from agent.adapters.threads import MessageRows
from agent.core.deciding.effect import NewIncident
from agent.core.errors import StoreError, UnknownIncident
from agent.core.procedure.policy import Escalation, Incident, State, Status, Steering
from agent.core.reading.folder import FolderState
from agent.core.sop import Tier
from agent.core.times import from_iso, iso


def chain_hash(prev: str, at: str, incident_id, kind: str, detail: str, reason) -> str:
    """sha256 over the previous event's hash and this event's fields: the audit log's chain."""
    fields = json.dumps([prev, at, incident_id, kind, detail, reason], ensure_ascii=False)
    return hashlib.sha256(fields.encode()).hexdigest()


class Store(MessageRows, OutboxRows):
    """Queries and writes of the agent's state; every write that belongs together shares a transaction. The rows of
    mails and their threads are `MessageRows`' (agent/adapters/threads.py), the outbox's `OutboxRows`'
    (agent/adapters/outbox_rows.py)."""

    def __init__(self, path: Path | str, read_only: bool = False):
        self.path = Path(path)
        if read_only:
            self.db = _open_read_only(self.path)
            return
        try:
            if self.path != Path(":memory:"):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            conn.create_function("chain_hash", 6, chain_hash, deterministic=True)
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")  # NORMAL can lose the last commits on power loss
            migrations.apply(self.db)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the state database {self.path}: {e}") from None

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def transaction(self):
        with self.db.atomic():
            yield self

    # -- audit log -------------------------------------------------------------------------------
    def event(
        self, at: datetime, kind: str, detail: str, incident_id: int | None = None, reason: str | None = None
    ) -> None:
        # One statement: reading the last hash and appending happen under one write lock.
        self.db.execute(
            "INSERT INTO events (at, incident_id, kind, detail, reason, prev_hash, hash) "
            "SELECT :at, :incident_id, :kind, :detail, :reason, p, "
            "chain_hash(p, :at, :incident_id, :kind, :detail, :reason) "
            "FROM (SELECT coalesce((SELECT hash FROM events ORDER BY id DESC LIMIT 1), '') AS p)",
            dict(at=iso(at), incident_id=incident_id, kind=kind, detail=detail, reason=reason),
        )

    def has_event(self, incident_id: int, kind: str) -> bool:
        found = self.db.execute("SELECT 1 FROM events WHERE incident_id = ? AND kind = ? LIMIT 1", [incident_id, kind])
        return found.fetchone() is not None

    def last_event_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])

    def events_after(self, after_id: int, kinds: tuple[str, ...]) -> list[MirroredEvent]:
        """Audit events newer than `after_id` of these kinds, oldest first, with their incident's subject."""
        marks = ",".join("?" * len(kinds))
        return self._typed(
            MirroredEvent,
            f"SELECT e.id, e.at, e.incident_id, e.kind, e.detail, e.reason, i.subject FROM events e "
            f"LEFT JOIN incidents i ON i.id = e.incident_id WHERE e.id > ? AND e.kind IN ({marks}) ORDER BY e.id",
            after_id,
            *kinds,
        )

    def audit_events(self, incident_id: int) -> list[EventRow]:
        return self._typed(EventRow, "SELECT * FROM events WHERE incident_id = ? ORDER BY id", incident_id)

    # -- mailbox state ---------------------------------------------------------------------------
    def folder_state(self, folder: str) -> FolderState | None:
        row = self.db.execute("SELECT uidvalidity, last_uid FROM mailbox_state WHERE folder = ?", [folder]).fetchone()
        return FolderState(*row) if row else None

    def set_folder_state(self, folder: str, state: FolderState, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO mailbox_state (folder, uidvalidity, last_uid, synced_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
            "last_uid = excluded.last_uid, synced_at = excluded.synced_at",
            [folder, state.uidvalidity, state.last_uid, iso(now)],
        )

    def add_passed_over(self, folder: str, count: int) -> None:
        """Old mail of the folder the server passed over: counted in the transaction that moves the state past it."""
        self.db.execute("UPDATE mailbox_state SET passed_over = passed_over + ? WHERE folder = ?", [count, folder])

    def take_passed_over(self, folder: str) -> int:
        """The count of old mail passed over since it was last taken, set back to 0 (in the caller's transaction)."""
        row = self.db.execute("SELECT passed_over FROM mailbox_state WHERE folder = ?", [folder]).fetchone()
        self.db.execute("UPDATE mailbox_state SET passed_over = 0 WHERE folder = ?", [folder])
        return int(row[0]) if row else 0

    def set_reading(self, folder: str, progress: str | None) -> None:
        """How far a long read of the folder is (`first sync INBOX 34,000 / 50,000`), for `status`; None: done."""
        self.db.execute("UPDATE mailbox_state SET reading = ? WHERE folder = ?", [progress, folder])

    # -- incidents -------------------------------------------------------------------------------
    def add_incident(self, new: NewIncident, now: datetime) -> int:
        return self._insert(
            "incidents",
            dict(
                state=str(new.state),
                subject=new.subject,
                subject_key=new.subject_key,
                t1_message_id=new.t1_message_id,
                t1_sender=new.t1_sender,
                t1_recipients=json.dumps(new.t1_recipients),
                participants=json.dumps(list(new.participants)),
                t1_sent_at=iso(new.t1_sent_at),
                t1_sent_at_source=new.t1_sent_at_source,
                t1_references=" ".join(new.t1_references),
                t1_text=new.t1_text,
                t1_raw=new.t1_raw,
                opened_at=iso(now),
                state_changed_at=iso(now),
                items=json.dumps(new.items),
                missing_items=json.dumps(list(new.missing_items)),
                marketplace=new.marketplace,
                misroute=new.misroute,
            ),
        )

    def incident_record(self, incident_id: int) -> IncidentRow:
        rows = self._typed(IncidentRow, "SELECT * FROM incidents WHERE id = ?", incident_id)
        if not rows:
            raise UnknownIncident(f"there is no incident {incident_id}")
        return rows[0]

    def set_state(self, incident_id: int, state: State, now: datetime, **fields) -> None:
        self.update_incident(incident_id, state=str(state), state_changed_at=iso(now), **fields)

    def set_steering(self, incident_id: int, steering: Steering) -> None:
        self.update_incident(
            incident_id,
            hold_until=iso(steering.hold_until),
            escalate_at=iso(steering.escalate_at),
            resumed_at=iso(steering.resumed_at),
        )

    def set_last_decision(self, incident_id: int, text: str) -> None:
        self.update_incident(incident_id, last_decision=text)

    def update_incident(self, incident_id: int, **fields) -> None:
        self._update("incidents", incident_id, fields)

    def incident(self, incident_id: int) -> Incident:
        rows = self._rows("SELECT * FROM incidents WHERE id = ?", incident_id)
        if not rows:
            raise UnknownIncident(f"there is no incident {incident_id}")
        escalations = self._rows("SELECT * FROM escalations WHERE incident_id = ? ORDER BY tier", incident_id)
        notices = self._rows("SELECT * FROM notices WHERE incident_id = ? ORDER BY id", incident_id)
        return _incident(rows[0], escalations, notices)

    def oldest_awaiting_t1(self) -> datetime | None:
        """When the oldest T1 still awaiting a response was sent: mail since then may answer or steer it."""
        row = self.db.execute(
            "SELECT min(t1_sent_at) FROM incidents WHERE state = ?", [str(State.AWAITING_RESPONSE)]
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def open_incidents(self) -> list[tuple[Incident, str | None]]:
        """Every incident awaiting a response, with its last recorded decision: three queries, however many."""
        waiting = [str(State.AWAITING_RESPONSE)]
        rows = self._rows(
            "SELECT id, state, t1_sent_at, t1_message_id, last_decision, hold_until, escalate_at, resumed_at, drill, "
            "acknowledged_at "
            "FROM incidents WHERE state = ? ORDER BY id",
            *waiting,
        )
        escalations: dict[int, list[dict]] = {}
        notices: dict[int, list[dict]] = {}
        for e in self._rows(
            "SELECT incident_id, tier, status, sent_at, message_id FROM escalations WHERE incident_id IN "
            "(SELECT id FROM incidents WHERE state = ?) ORDER BY tier",
            *waiting,
        ):
            escalations.setdefault(e["incident_id"], []).append(e)
        for n in self._rows(
            "SELECT incident_id, kind FROM notices WHERE incident_id IN "
            "(SELECT id FROM incidents WHERE state = ?) ORDER BY id",
            *waiting,
        ):
            notices.setdefault(n["incident_id"], []).append(n)
        return [
            (_incident(r, escalations.get(r["id"], ()), notices.get(r["id"], ())), r["last_decision"]) for r in rows
        ]

    def incident_rows(
        self, *, everything: bool, now: datetime, recent: timedelta = timedelta(hours=24), drills: bool = False
    ) -> list[IncidentRow]:
        """`drills`: the drill incidents too (`escalation-agent drill`), which are otherwise left out."""
        real = "" if drills else " AND drill = 0"
        if everything:
            return self._typed(IncidentRow, f"SELECT * FROM incidents WHERE 1{real} ORDER BY id")
        return self._typed(
            IncidentRow,
            # a T1 recorded stale (too old when first seen) changed nothing a person must act on: a first start over
            # years of mail records hundreds of them "now"
            f"SELECT * FROM incidents WHERE (state = ? OR (state_changed_at >= ? AND state != ?)){real} ORDER BY id",
            str(State.AWAITING_RESPONSE),
            iso(now - recent),
            str(State.STALE),
        )

    def stale_count(self) -> int:
        [(n,)] = self.db.execute("SELECT count(*) FROM incidents WHERE state = ?", [str(State.STALE)]).fetchall()
        return int(n)


def database_status(path: Path) -> str:
    """For `check`: whether this user's agent can use its database, creating and writing nothing (a database made
    by root's `check` would lock the service user out)."""
    if not path.exists():
        parent = next(p for p in path.parents if p.exists())
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"the state database {path} cannot be created: {parent} is not writable by this user")
        return "not created yet: the agent creates it when it first starts"
    if not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(f"the state database {path} is not writable by this user (run check as the service user)")
    db = _open_read_only(path, older=True)
    pending = len(migrations.pending(db))
    db.conn.close()
    return "ok" + (f" ({pending} schema change(s) to apply when the agent starts)" if pending else "")


def read_only_connection(path: Path) -> sqlite3.Connection:
    """The database as the auditors' commands read it: nothing is created, migrated or written, and no password is
    needed to find it. A running agent keeps the -wal and -shm files, which a reader shares (a -shm it may only read
    is enough). Without a -wal no connection is open: the file is read as immutable, which makes no -wal or -shm (a
    reader without write access to the directory could not, and a root-owned -shm left behind would lock the service
    out). An agent starting in the instant between the two is the one race left: a short read may then miss its
    first commits."""
    if not path.is_file():
        raise StoreError(
            f"the state database {path} does not exist yet: the agent creates it when it first starts "
            "(systemctl start escalation-agent)"
        )
    live = Path(f"{path}-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        conn.create_function("chain_hash", 6, chain_hash, deterministic=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a file that is no database fails here
    except sqlite3.Error as e:
        raise StoreError(f"cannot open the state database {path}: {e}") from None
    return conn


def _open_read_only(path: Path, older: bool = False) -> sqlite_utils.Database:
    """`read_only_connection` for the Store; a database an older version wrote is refused unless `older`."""
    db = sqlite_utils.Database(read_only_connection(path))
    try:
        pending = migrations.pending(db)
    except sqlite3.Error as e:
        db.conn.close()
        raise StoreError(f"cannot open the state database {path}: {e}") from None
    if pending and not older:
        db.conn.close()
        raise StoreError(
            f"the state database {path} is from an older version ({len(pending)} schema change(s) to apply): "
            "start the agent, which upgrades it"
        )
    return db


def _incident(row: dict, escalations, notices) -> Incident:
    return Incident(
        row["id"],
        State(row["state"]),
        from_iso(row["t1_sent_at"]),
        tuple(
            Escalation(Tier(e["tier"]), Status(e["status"]), from_iso(e["sent_at"]), e["message_id"])
            for e in escalations
        ),
        frozenset(n["kind"] for n in notices),
        row["t1_message_id"],
        Steering(from_iso(row["hold_until"]), from_iso(row["escalate_at"]), from_iso(row["resumed_at"])),
        bool(row.get("drill")),
        from_iso(row.get("acknowledged_at")),
    )
