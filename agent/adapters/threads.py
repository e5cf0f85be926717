"""The rows of mails and their threads in the state database: what ingest and the thread lookups ask."""

import json
from collections.abc import Callable
from datetime import datetime

import sqlite_utils

from agent.adapters.rows import JoinedRow, MessageRow, Row, ThreadMessage, typed
from agent.core.deciding.classify import Candidate
from agent.core.deciding.ties import ThreadMail
from agent.core.times import from_iso, iso


class Rows:
    """The database, and the plain-SQL helpers every part of the store shares."""

    db: sqlite_utils.Database

    # Plain SQL below, not sqlite-utils' get/rows_where/insert/update: those read the table's schema on every
    # call, and in a cycle over 200 open incidents that was 42 % of the agent's time (docs/benchmarks.md).
    def _rows(self, sql: str, *params) -> list[dict]:
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def _typed(self, row: Callable[..., Row], sql: str, *params) -> list[Row]:
        """The rows of a query as `row`, a dataclass of agent/adapters/rows.py."""
        return typed(row, self.db.execute(sql, params))

    def _insert(self, table: str, row: dict) -> int:
        names = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        row_id = self.db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", row).lastrowid
        assert row_id is not None  # sqlite3 sets it on every INSERT that succeeds
        return row_id

    def _update(self, table: str, row_id: int, fields: dict) -> None:
        assigns = ", ".join(f"{k} = :{k}" for k in fields)
        self.db.execute(f"UPDATE {table} SET {assigns} WHERE id = :_id", {**fields, "_id": row_id})


class MessageRows(Rows):
    """Every mail seen (its folder and UID, how it was classified, its incident), the case ids the vendor's mail
    taught, and the lookups that tie a new mail to a thread."""

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

    def message_size(self, message_id: str) -> int | None:
        """The size the server gave a recorded mail (RFC822.SIZE)."""
        row = self.db.execute("SELECT size FROM messages WHERE message_id = ? LIMIT 1", [message_id]).fetchone()
        return row[0] if row and row[0] is not None else None

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

    def thread_mails(self, incident_id: int) -> list[ThreadMail]:
        """The incident's recorded mails, as the command tie reads them (agent.core.deciding.ties)."""
        rows = self.db.execute(
            "SELECT message_id, original_message_id, in_reply_to, refs, thread_index, kind FROM messages "
            "WHERE incident_id = ? ORDER BY id",
            [incident_id],
        )
        return [ThreadMail(r[0], r[1], tuple(f"{r[2]} {r[3]}".split()), r[4], r[5]) for r in rows]

    def outbox_message_ids(self, incident_id: int) -> frozenset[str]:
        """The Message-IDs the agent gave its own mails to the incident's thread: its escalations and notices."""
        return frozenset(
            r[0]
            for r in self.db.execute(
                "SELECT message_id FROM escalations WHERE incident_id = ? AND status != 'manual' "
                "UNION ALL SELECT message_id FROM notices WHERE incident_id = ?",
                [incident_id, incident_id],
            )
        )

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

    def orphans_referring_to(self, message_id: str) -> list[MessageRow]:
        """Mails seen before their T1 (another folder, an earlier UID) that point at it."""
        return self._typed(
            MessageRow,
            "SELECT m.* FROM message_refs r JOIN messages m ON m.message_id = r.message_id "
            "WHERE r.ref = ? AND m.incident_id IS NULL ORDER BY m.id",
            message_id,
        )

    def attach_message(self, message_id: str, incident_id: int, kind: str, reason: str) -> None:
        self.db.execute(
            "UPDATE messages SET incident_id = ?, kind = ?, reason = ? WHERE message_id = ?",
            [incident_id, kind, reason, message_id],
        )

    def thread_messages(self, incident_id: int) -> list[ThreadMessage]:
        """The incident's mails, in the order of their Date (of when they were seen, for one without)."""
        return self._typed(
            ThreadMessage,
            "SELECT message_id, folder, uid, sender, recipients, subject, date, internaldate, kind, reason, "
            "automatic, seen_at, in_reply_to, refs FROM messages WHERE incident_id = ? "
            "ORDER BY coalesce(date, seen_at), id",
            incident_id,
        )

    # -- issue 21.4: T1s that joined an open incident (core/procedure/outage.py) ----------------------------------
    def open_outages(self) -> list[tuple[int, dict, str | None]]:
        """Every real incident awaiting a response: its id, its SOP items, its marketplace."""
        rows = self.db.execute(
            "SELECT id, items, marketplace FROM incidents WHERE state = 'awaiting_response' AND drill = 0 ORDER BY id"
        ).fetchall()
        return [(r[0], json.loads(r[1] or "{}"), r[2]) for r in rows]

    def add_joined(self, incident_id: int, row: dict) -> None:
        self._insert("joined_t1s", dict(incident_id=incident_id, **row))
        participants = self.db.execute("SELECT participants FROM incidents WHERE id = ?", [incident_id]).fetchone()
        joined = sorted(set(json.loads(participants[0])) | set(json.loads(row["recipients"])) | {row["sender"]})
        self.db.execute("UPDATE incidents SET participants = ? WHERE id = ?", [json.dumps(joined), incident_id])

    def joined_t1s(self, incident_id: int) -> list[JoinedRow]:
        return self._typed(JoinedRow, "SELECT * FROM joined_t1s WHERE incident_id = ? ORDER BY id", incident_id)
