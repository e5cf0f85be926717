"""The state database: one SQLite file (sqlite-utils) that the agent writes and auditors read."""

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from agent.adapters.schema import migrations
from agent.core.classify import Candidate
from agent.core.effects import NewIncident
from agent.core.errors import StoreError, UnknownIncident
from agent.core.folder import FolderState
from agent.core.policy import Escalation, Incident, Outgoing, State, Status, Steering
from agent.core.sop import Tier
from agent.core.times import from_iso, iso


def chain_hash(prev: str, at: str, incident_id, kind: str, detail: str, reason) -> str:
    """sha256 over the previous event's hash and this event's fields: the audit log's chain."""
    fields = json.dumps([prev, at, incident_id, kind, detail, reason], ensure_ascii=False)
    return hashlib.sha256(fields.encode()).hexdigest()


class Store:
    """Queries and writes of the agent's state; every write that belongs together shares a transaction."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
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

    def events_after(self, after_id: int, kinds: tuple[str, ...]) -> list[dict]:
        """Audit events newer than `after_id` of these kinds, oldest first, with their incident's subject."""
        marks = ",".join("?" * len(kinds))
        return self._rows(
            f"SELECT e.id, e.at, e.incident_id, e.kind, e.detail, e.reason, i.subject FROM events e "
            f"LEFT JOIN incidents i ON i.id = e.incident_id WHERE e.id > ? AND e.kind IN ({marks}) ORDER BY e.id",
            after_id,
            *kinds,
        )

    def events(self, incident_id: int) -> list[dict]:
        return self._rows("SELECT * FROM events WHERE incident_id = ? ORDER BY id", incident_id)

    # Plain SQL below, not sqlite-utils' get/rows_where/insert/update: those read the table's schema on every
    # call, and in a cycle over 200 open incidents that was 42 % of the agent's time (docs/benchmarks.md).
    def _rows(self, sql: str, *params) -> list[dict]:
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def _insert(self, table: str, row: dict) -> int:
        names = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        row_id = self.db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", row).lastrowid
        assert row_id is not None  # sqlite3 sets it on every INSERT that succeeds
        return row_id

    def _update(self, table: str, row_id: int, fields: dict) -> None:
        assigns = ", ".join(f"{k} = :{k}" for k in fields)
        self.db.execute(f"UPDATE {table} SET {assigns} WHERE id = :_id", {**fields, "_id": row_id})

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

    def set_reading(self, folder: str, progress: str | None) -> None:
        """How far a long read of the folder is (`first sync INBOX 34,000 / 50,000`), for `status`; None: done."""
        self.db.execute("UPDATE mailbox_state SET reading = ? WHERE folder = ?", [progress, folder])

    # -- messages and threads --------------------------------------------------------------------
    def has_message(self, message_id: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM messages WHERE message_id = ?", [message_id]).fetchone())

    def known_message_ids(self, ids: list[str]) -> set[str]:
        """Which of `ids` are recorded (in any folder)."""
        found: set[str] = set()
        for i in range(0, len(ids), 500):  # SQLite's limit on host parameters
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            found.update(
                r[0] for r in self.db.execute(f"SELECT message_id FROM messages WHERE message_id IN ({marks})", part)
            )
        return found

    def remap_messages(self, folder: str, uidvalidity: int, uids: list[tuple[int, str]]) -> None:
        """A renumbered folder: its recorded mails' rows take their new (UID, UIDVALIDITY). A mail first recorded
        from another folder keeps that folder's row."""
        self.db.conn.executemany(
            "UPDATE messages SET uid = ?, uidvalidity = ? WHERE message_id = ? AND folder = ?",
            [(uid, uidvalidity, message_id, folder) for uid, message_id in uids],
        )

    def add_message(self, row: dict) -> None:
        self._insert("messages", row)
        refs = set(f"{row['in_reply_to']} {row['refs']}".split())
        if row["incident_id"] is None and refs:  # it may belong to a T1 not seen yet
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO message_refs (message_id, ref) VALUES (?, ?)",
                [(row["message_id"], ref) for ref in refs],
            )

    def incident_for_message_ids(self, ids: tuple[str, ...]) -> int | None:
        if not ids:
            return None
        marks = ",".join("?" * len(ids))
        # A mail whose Message-ID a relay rewrote is found by either: the vendor may reply to the one it got.
        row = self.db.execute(
            f"SELECT incident_id FROM messages WHERE message_id IN ({marks}) AND incident_id IS NOT NULL "
            f"UNION ALL SELECT incident_id FROM messages WHERE original_message_id IN ({marks}) "
            f"AND incident_id IS NOT NULL "
            f"UNION ALL SELECT incident_id FROM escalations WHERE message_id IN ({marks}) LIMIT 1",
            list(ids) * 3,
        ).fetchone()
        return row[0] if row else None

    def incident_for_case_ids(self, ids: tuple[str, ...]) -> int | None:
        """The incident of the first of `ids` that the vendor's mail has taught us (a subject's come first)."""
        if not ids:
            return None
        marks = ",".join("?" * len(ids))
        owners = dict(self.db.execute(f"SELECT case_id, incident_id FROM case_ids WHERE case_id IN ({marks})", ids))
        return next((owners[i] for i in ids if i in owners), None)

    def has_case_ids(self) -> bool:
        return self.db.execute("SELECT 1 FROM case_ids LIMIT 1").fetchone() is not None

    def add_case_id(self, case_id: str, incident_id: int, message_id: str, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO case_ids (case_id, incident_id, message_id, learned_at) VALUES (?, ?, ?, ?)",
            [case_id, incident_id, message_id, iso(now)],
        )

    def case_ids(self, incident_id: int) -> list[str]:
        rows = self.db.execute("SELECT case_id FROM case_ids WHERE incident_id = ? ORDER BY rowid", [incident_id])
        return [r[0] for r in rows]

    def incident_for_thread_index(self, key: str) -> int | None:
        row = self.db.execute(
            "SELECT incident_id FROM messages WHERE thread_index = ? AND incident_id IS NOT NULL LIMIT 1", [key]
        ).fetchone()
        return row[0] if row else None

    def incidents_with_subject(self, subject_key: str) -> list[Candidate]:
        rows = self.db.execute(
            "SELECT id, t1_sent_at, participants FROM incidents WHERE subject_key = ?", [subject_key]
        ).fetchall()
        return [Candidate(r[0], from_iso(r[1]), frozenset(json.loads(r[2]))) for r in rows]

    def own_message_ids(self, among: tuple[str | None, ...]) -> frozenset[str]:
        """Which of `among` are Message-IDs of mail the agent sent (an escalation, a notice, an alarm)."""
        ids = [i for i in among if i]
        if not ids:
            return frozenset()
        marks = ",".join("?" * len(ids))
        return frozenset(
            r[0]
            for r in self.db.execute(
                f"SELECT message_id FROM escalations WHERE message_id IN ({marks}) UNION ALL "
                f"SELECT message_id FROM notices WHERE message_id IN ({marks}) UNION ALL "
                f"SELECT message_id FROM alarms WHERE message_id IN ({marks})",
                ids * 3,
            )
        )

    def orphans_referring_to(self, message_id: str) -> list[dict]:
        """Mails seen before their T1 (another folder, an earlier UID) that point at it."""
        return self._rows(
            "SELECT m.* FROM message_refs r JOIN messages m ON m.message_id = r.message_id "
            "WHERE r.ref = ? AND m.incident_id IS NULL ORDER BY m.id",
            message_id,
        )

    def attach_message(self, message_id: str, incident_id: int, kind: str, reason: str) -> None:
        self.db.execute(
            "UPDATE messages SET incident_id = ?, kind = ?, reason = ? WHERE message_id = ?",
            [incident_id, kind, reason, message_id],
        )

    def messages(self, incident_id: int) -> list[dict]:
        return list(
            self.db.query(
                "SELECT message_id, folder, uid, sender, recipients, subject, date, internaldate, kind, reason, "
                "automatic, seen_at FROM messages WHERE incident_id = ? ORDER BY coalesce(date, seen_at), id",
                [incident_id],
            )
        )

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

    def incident_row(self, incident_id: int) -> dict:
        rows = self._rows("SELECT * FROM incidents WHERE id = ?", incident_id)
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
        row = self.incident_row(incident_id)
        return _incident(row, self.escalation_rows(incident_id), self.notice_rows(incident_id))

    def open_incidents(self) -> list[tuple[Incident, str | None]]:
        """Every incident awaiting a response, with its last recorded decision: three queries, however many."""
        waiting = [str(State.AWAITING_RESPONSE)]
        rows = self._rows(
            "SELECT id, state, t1_sent_at, t1_message_id, last_decision, hold_until, escalate_at, resumed_at, drill "
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
    ) -> list[dict]:
        """`drills`: the drill incidents too (`escalation-agent drill`), which are otherwise left out."""
        real = "" if drills else " AND drill = 0"
        if everything:
            return list(self.db.query(f"SELECT * FROM incidents WHERE 1{real} ORDER BY id"))
        return list(
            self.db.query(
                f"SELECT * FROM incidents WHERE (state = ? OR state_changed_at >= ?){real} ORDER BY id",
                [str(State.AWAITING_RESPONSE), iso(now - recent)],
            )
        )

    # -- the outbox: escalations (one per tier) and notices (one per kind) ------------------------
    def escalation_rows(self, incident_id: int) -> list[dict]:
        return self._rows("SELECT * FROM escalations WHERE incident_id = ? ORDER BY tier", incident_id)

    def notice_rows(self, incident_id: int) -> list[dict]:
        return self._rows("SELECT * FROM notices WHERE incident_id = ? ORDER BY id", incident_id)

    def add_outbox(self, kind: Outgoing, row: dict) -> int:
        return self._insert(_TABLES[kind], row)

    def outbox_row(self, kind: Outgoing, row_id: int) -> dict:
        [row] = self._rows(f"SELECT * FROM {_TABLES[kind]} WHERE id = ?", row_id)
        return row

    def claim_outbox(self, kind: Outgoing, row_id: int, attempt: int, now: datetime) -> bool:
        """pending -> sending, in one statement; False when the row was not pending any more."""
        done = self.db.execute(
            f"UPDATE {_TABLES[kind]} SET status = 'sending', attempts = ?, last_attempt_at = ? "
            "WHERE id = ? AND status = 'pending'",
            [attempt, iso(now), row_id],
        )
        return done.rowcount == 1

    def update_outbox(self, kind: Outgoing, row_id: int, **fields) -> None:
        self._update(_TABLES[kind], row_id, fields)

    def outbox_with_status(self, kind: Outgoing, *statuses: Status, incident_id: int | None = None) -> list[dict]:
        marks = ",".join("?" * len(statuses))
        only = "" if incident_id is None else " AND incident_id = ?"
        extra = () if incident_id is None else (incident_id,)
        return self._rows(
            f"SELECT * FROM {_TABLES[kind]} WHERE status IN ({marks}){only} ORDER BY id",
            *[str(s) for s in statuses],
            *extra,
        )

    def outbox_by_message_id(self, message_id: str) -> tuple[Outgoing, dict] | None:
        for kind, table in _TABLES.items():
            rows = self._rows(f"SELECT * FROM {table} WHERE message_id = ?", message_id)
            if rows:
                return kind, rows[0]
        return None


_TABLES = {Outgoing.ESCALATION: "escalations", Outgoing.NOTICE: "notices", Outgoing.ALARM: "alarms"}


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
    )
