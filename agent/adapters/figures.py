"""The counts the metrics show, read from the state database: the one place their SQL lives."""

from dataclasses import dataclass
from pathlib import Path

from agent.adapters import probes
from agent.adapters.sqlite import sqlite3
from agent.core.procedure.probe import Run

FAILURE_KINDS = ("send_failed", "send_rejected")


@dataclass(frozen=True)
class Figures:
    mails: int
    by_state: dict[str, int]  # real incidents (no drills) by state
    by_tier: dict[tuple[int, str], int]  # escalation rows of real incidents by (tier, status)
    failures: int  # send_failed and send_rejected events, drills left out
    drills: int
    blind: int  # blind alarms not cancelled whose outage has no all-clear yet
    probe_runs: tuple[Run, ...] = ()  # [probe]: the API check's last runs, oldest first


def read(db) -> Figures:
    """`db`: a sqlite3 connection or a sqlite_utils.Database (anything with `.execute`)."""

    def one(sql: str, *args: object) -> int:
        return int(db.execute(sql, list(args)).fetchone()[0])

    failures = one(
        f"SELECT count(*) FROM events WHERE kind IN ({','.join('?' * len(FAILURE_KINDS))}) AND (incident_id IS NULL "
        "OR incident_id NOT IN (SELECT id FROM incidents WHERE drill = 1))",
        *FAILURE_KINDS,
    )
    return Figures(
        mails=one("SELECT count(*) FROM messages"),
        by_state=dict(db.execute("SELECT state, count(*) FROM incidents WHERE drill = 0 GROUP BY state").fetchall()),
        by_tier={
            (t, s): n
            for t, s, n in db.execute(
                "SELECT e.tier, e.status, count(*) FROM escalations e JOIN incidents i ON i.id = e.incident_id "
                "WHERE i.drill = 0 GROUP BY e.tier, e.status"
            ).fetchall()
        },
        failures=failures,
        drills=one("SELECT count(*) FROM incidents WHERE drill = 1"),
        blind=one(
            "SELECT count(*) FROM alarms a WHERE kind = 'blind' AND status != 'cancelled' AND NOT EXISTS "
            "(SELECT 1 FROM alarms s WHERE s.kind = 'sight' AND s.outage = a.outage)"
        ),
        probe_runs=tuple(probes.last(db, 500)),
    )


def read_file(path: Path | str) -> Figures:
    """read() over a read-only connection of its own: sqlite3 connections must not cross threads, so the metrics'
    HTTP thread cannot use the agent's Store."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)
    try:
        return read(conn)
    finally:
        conn.close()
