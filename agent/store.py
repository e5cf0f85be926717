"""The state database: one SQLite file (sqlite-utils) that the agent writes and auditors read."""

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from agent.classify import Candidate
from agent.errors import StoreError, UnknownIncident
from agent.policy import Escalation, Incident, State, Status
from agent.schema import migrations
from agent.sop import Tier
from agent.times import from_iso, iso


def chain_hash(prev: str, at: str, incident_id, kind: str, detail: str, reason) -> str:
    """sha256 over the previous event's hash and this event's fields: the audit log's chain."""
    fields = json.dumps([prev, at, incident_id, kind, detail, reason], ensure_ascii=False)
    return hashlib.sha256(fields.encode()).hexdigest()


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    last_uid: int


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
    def event(self, at: datetime, kind: str, detail: str, incident_id: int | None = None,
              reason: str | None = None) -> None:
        # One statement: reading the last hash and appending happen under one write lock.
        self.db.execute(
            "INSERT INTO events (at, incident_id, kind, detail, reason, prev_hash, hash) "
            "SELECT :at, :incident_id, :kind, :detail, :reason, p, "
            "chain_hash(p, :at, :incident_id, :kind, :detail, :reason) "
            "FROM (SELECT coalesce((SELECT hash FROM events ORDER BY id DESC LIMIT 1), '') AS p)",
            dict(at=iso(at), incident_id=incident_id, kind=kind, detail=detail, reason=reason))

    def events(self, incident_id: int) -> list[dict]:
        return list(self.db["events"].rows_where("incident_id = ?", [incident_id], order_by="id"))

    # -- mailbox state ---------------------------------------------------------------------------
    def folder_state(self, folder: str) -> FolderState | None:
        rows = list(self.db["mailbox_state"].rows_where("folder = ?", [folder]))
        return FolderState(rows[0]["uidvalidity"], rows[0]["last_uid"]) if rows else None

    def set_folder_state(self, folder: str, state: FolderState, now: datetime) -> None:
        self.db["mailbox_state"].upsert(dict(folder=folder, uidvalidity=state.uidvalidity,
                                             last_uid=state.last_uid, synced_at=iso(now)), pk="folder")

    # -- messages and threads --------------------------------------------------------------------
    def has_message(self, message_id: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM messages WHERE message_id = ?", [message_id]).fetchone())

    def add_message(self, row: dict) -> None:
        self.db["messages"].insert(row)

    def incident_for_message_ids(self, ids: tuple[str, ...]) -> int | None:
        if not ids:
            return None
        marks = ",".join("?" * len(ids))
        row = self.db.execute(
            f"SELECT incident_id FROM messages WHERE message_id IN ({marks}) AND incident_id IS NOT NULL "
            f"UNION ALL SELECT incident_id FROM escalations WHERE message_id IN ({marks}) LIMIT 1",
            list(ids) * 2).fetchone()
        return row[0] if row else None

    def incident_for_thread_index(self, key: str) -> int | None:
        row = self.db.execute("SELECT incident_id FROM messages WHERE thread_index = ? "
                              "AND incident_id IS NOT NULL LIMIT 1", [key]).fetchone()
        return row[0] if row else None

    def incidents_with_subject(self, subject_key: str) -> list[Candidate]:
        rows = self.db.execute("SELECT id, t1_sent_at, participants FROM incidents WHERE subject_key = ?",
                               [subject_key]).fetchall()
        return [Candidate(r[0], from_iso(r[1]), frozenset(json.loads(r[2]))) for r in rows]

    def own_message_ids(self) -> frozenset[str]:
        return frozenset(r[0] for r in self.db.execute(
            "SELECT message_id FROM escalations UNION ALL SELECT message_id FROM notices"))

    def orphans_referring_to(self, message_id: str) -> list[dict]:
        """Mails seen before their T1 (another folder, an earlier UID) that point at it."""
        return list(self.db.query(
            "SELECT * FROM messages WHERE incident_id IS NULL AND (in_reply_to LIKE :p OR refs LIKE :p) "
            "ORDER BY id", {"p": f"%{message_id}%"}))

    def attach_message(self, message_id: str, incident_id: int, kind: str, reason: str) -> None:
        self.db.execute("UPDATE messages SET incident_id = ?, kind = ?, reason = ? WHERE message_id = ?",
                        [incident_id, kind, reason, message_id])

    def messages(self, incident_id: int) -> list[dict]:
        return list(self.db.query(
            "SELECT message_id, folder, uid, sender, recipients, subject, date, internaldate, kind, reason, "
            "automatic, seen_at FROM messages WHERE incident_id = ? ORDER BY coalesce(date, seen_at), id",
            [incident_id]))

    # -- incidents -------------------------------------------------------------------------------
    def add_incident(self, row: dict) -> int:
        return self.db["incidents"].insert(row).last_pk

    def incident_row(self, incident_id: int) -> dict:
        try:
            return self.db["incidents"].get(incident_id)
        except sqlite_utils.db.NotFoundError:
            raise UnknownIncident(f"there is no incident {incident_id}") from None

    def set_state(self, incident_id: int, state: State, now: datetime, **fields) -> None:
        self.db["incidents"].update(incident_id, dict(state=str(state), state_changed_at=iso(now), **fields))

    def set_last_decision(self, incident_id: int, text: str) -> None:
        self.db["incidents"].update(incident_id, dict(last_decision=text))

    def incident(self, incident_id: int) -> Incident:
        row = self.incident_row(incident_id)
        escalations = tuple(
            Escalation(Tier(e["tier"]), Status(e["status"]), from_iso(e["sent_at"]))
            for e in self.escalation_rows(incident_id))
        notices = frozenset(r["kind"] for r in self.notice_rows(incident_id))
        return Incident(row["id"], State(row["state"]), from_iso(row["t1_sent_at"]), escalations, notices)

    def open_incident_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM incidents WHERE state = ? ORDER BY id", [str(State.AWAITING_RESPONSE)])]

    def incident_rows(self, *, everything: bool, now: datetime, recent: timedelta = timedelta(hours=24)) -> list[dict]:
        if everything:
            return list(self.db.query("SELECT * FROM incidents ORDER BY id"))
        return list(self.db.query(
            "SELECT * FROM incidents WHERE state = ? OR state_changed_at >= ? ORDER BY id",
            [str(State.AWAITING_RESPONSE), iso(now - recent)]))

    # -- the outbox: escalations (one per tier) and notices (one per kind) ------------------------
    def escalation_rows(self, incident_id: int) -> list[dict]:
        return list(self.db["escalations"].rows_where("incident_id = ?", [incident_id], order_by="tier"))

    def notice_rows(self, incident_id: int) -> list[dict]:
        return list(self.db["notices"].rows_where("incident_id = ?", [incident_id], order_by="id"))

    def add_escalation(self, row: dict) -> int:
        return self.db["escalations"].insert(row).last_pk

    def add_notice(self, row: dict) -> int:
        return self.db["notices"].insert(row).last_pk

    def outbox_row(self, table: str, row_id: int) -> dict:
        return self.db[_outbox(table)].get(row_id)

    def update_outbox(self, table: str, row_id: int, **fields) -> None:
        self.db[_outbox(table)].update(row_id, fields)

    def update_escalation(self, escalation_id: int, **fields) -> None:
        self.update_outbox("escalations", escalation_id, **fields)

    def escalation_row(self, escalation_id: int) -> dict:
        return self.outbox_row("escalations", escalation_id)

    def outbox_with_status(self, table: str, *statuses: Status) -> list[dict]:
        marks = ",".join("?" * len(statuses))
        return list(self.db.query(f"SELECT * FROM {_outbox(table)} WHERE status IN ({marks}) ORDER BY id",
                                  [str(s) for s in statuses]))

    def escalations_with_status(self, *statuses: Status) -> list[dict]:
        return self.outbox_with_status("escalations", *statuses)

    def outbox_by_message_id(self, message_id: str) -> tuple[str, dict] | None:
        for table in OUTBOX_TABLES:
            rows = list(self.db[table].rows_where("message_id = ?", [message_id]))
            if rows:
                return table, rows[0]
        return None


OUTBOX_TABLES = ("escalations", "notices")


def _outbox(table: str) -> str:
    if table not in OUTBOX_TABLES:
        raise ValueError(f"not an outbox table: {table}")
    return table
