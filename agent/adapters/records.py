"""The state database opened read-only, for the auditors' report and export: it never writes, never migrates, and
reads every table of a period in a few queries, whatever the number of incidents."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from agent.adapters.sqlite import sqlite3
from agent.adapters.store import read_only_connection
from agent.core.errors import StoreError
from agent.core.times import iso

# The columns of a probe's results, under the names the report knows (a table named probe*, if there is one).
_PROBE_TIME = ("at", "ran_at", "started_at", "checked_at")
_PROBE_OUTCOME = ("ok", "passed", "up", "success", "outcome", "status", "result")
_PROBE_EVIDENCE = ("evidence", "line", "detail", "output")
_GOOD = ("1", "ok", "pass", "passed", "up", "success", "true")
# What the report and the export read of each table (no raw mail): the export's CSV headers too.
COLUMNS = {
    "incidents": (
        "id", "state", "subject", "t1_message_id", "t1_sender", "t1_sent_at", "t1_sent_at_source", "opened_at",
        "state_changed_at", "response_message_id", "note", "marketplace", "misroute", "drill", "t1_text",
    ),
    "escalations": (
        "id", "incident_id", "tier", "status", "message_id", "decided_at", "due_at", "sent_at", "confirmed_at",
        "attempts", "last_error", "recipients",
    ),
    "mails": (
        "id", "incident_id", "message_id", "folder", "uid", "sender", "recipients", "subject", "date", "internaldate",
        "kind", "reason", "automatic", "seen_at",
    ),
    "events": ("id", "at", "incident_id", "kind", "detail", "reason", "prev_hash", "hash"),
}  # fmt: skip


class Records:
    """Read-only queries over the state database (store.read_only_connection: SQLite refuses any write)."""

    def __init__(self, conn: sqlite3.Connection, path: str = "?"):
        self.db = conn  # `audit.verify` reads the chain through it; a Datasette plugin passes its own connection
        self.path = path

    @classmethod
    def open(cls, path: Path | str) -> "Records":
        path = Path(path)
        conn = read_only_connection(path)  # no -wal or -shm left behind, and none needed (docs/audit.md)
        try:
            conn.execute("SELECT count(*) FROM incidents").fetchone()
        except sqlite3.Error as e:
            conn.close()
            raise StoreError(f"cannot read the state database {path}: {e}") from None
        return cls(conn, str(path))

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def snapshot(self) -> Iterator["Records"]:
        """One read transaction: every query inside sees the same state, however the agent writes meanwhile."""
        self.db.execute("BEGIN")
        try:
            yield self
        finally:
            self.db.execute("COMMIT")

    def _rows(self, sql: str, *params) -> list[dict]:
        # Dicts from the cursor's description, not a row factory: a borrowed connection (Datasette's) keeps its own.
        try:
            cursor = self.db.execute(sql, params)
        except sqlite3.OperationalError as e:  # an older schema (no such column), a damaged file
            raise StoreError(f"cannot read {self.path}: {e} (start the agent once to upgrade its schema)") from None
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def incidents(self, since: datetime | None, *, drills: bool, stale: bool) -> list[dict]:
        """Incidents whose T1 was sent at or after `since`, oldest first; drills and stale ones only when asked."""
        where = ["t1_sent_at >= ?"] if since else []
        where += [] if drills else ["drill = 0"]
        where += [] if stale else ["state != 'stale'"]
        clause = " AND ".join(where) or "1"
        params = [iso(since)] if since else []
        return self._rows(
            f"SELECT {', '.join(COLUMNS['incidents'])} FROM incidents WHERE {clause} ORDER BY t1_sent_at, id",
            *params,
        )

    def incident(self, incident_id: int) -> dict | None:
        rows = self._rows("SELECT * FROM incidents WHERE id = ?", incident_id)
        return rows[0] if rows else None

    def _of(self, table: str, columns: tuple[str, ...], ids: list[int], order: str) -> dict[int, list[dict]]:
        out: dict[int, list[dict]] = {i: [] for i in ids}
        if not ids:
            return out
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS chosen (id INTEGER PRIMARY KEY)")
        self.db.execute("DELETE FROM chosen")  # temp tables live outside the read-only file
        self.db.executemany("INSERT INTO chosen (id) VALUES (?)", [(i,) for i in ids])
        for r in self._rows(
            f"SELECT {', '.join(columns)} FROM {table} WHERE incident_id IN (SELECT id FROM chosen) ORDER BY {order}"
        ):
            out[r["incident_id"]].append(r)
        return out

    def escalations(self, ids: list[int]) -> dict[int, list[dict]]:
        return self._of("escalations", COLUMNS["escalations"], ids, "tier")

    def messages(self, ids: list[int]) -> dict[int, list[dict]]:
        return self._of("messages", COLUMNS["mails"], ids, "id")

    def events(self, ids: list[int]) -> dict[int, list[dict]]:
        return self._of("events", COLUMNS["events"], ids, "id")

    def agent_events(self, since: datetime | None) -> list[dict]:
        """Events about the agent itself (no incident): outages, alarms, a broken chain found at start."""
        return self._rows(
            f"SELECT {', '.join(COLUMNS['events'])} FROM events WHERE incident_id IS NULL AND at >= ? ORDER BY id",
            iso(since) or "",
        )

    def head(self) -> str | None:
        row = self.db.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def probes(self, since: datetime | None) -> list[dict]:
        """The probe's results, as `at`, `ok`, `evidence`: from the first table named probe* that has a time and an
        outcome column; none when the probe was never configured (no such table)."""
        tables = [
            r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'probe%'")
        ]
        for table in sorted(tables):
            columns = [r[1] for r in self.db.execute(f'PRAGMA table_info("{table}")')]
            at = next((c for c in _PROBE_TIME if c in columns), None)
            ok = next((c for c in _PROBE_OUTCOME if c in columns), None)
            if at is None or ok is None:
                continue
            evidence = next((c for c in _PROBE_EVIDENCE if c in columns), None)
            said = f'"{evidence}"' if evidence else "NULL"
            rows = self._rows(
                f'SELECT "{at}" AS at, "{ok}" AS outcome, {said} AS evidence FROM "{table}" '
                f'WHERE "{at}" >= ? ORDER BY "{at}"',
                iso(since) or "",
            )
            return [dict(at=r["at"], ok=str(r["outcome"]).lower() in _GOOD, evidence=r["evidence"]) for r in rows]
        return []
