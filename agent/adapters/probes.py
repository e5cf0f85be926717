"""The `probes` table: every run of the API check, written by the running agent, read for evidence and reports."""

from datetime import datetime

from agent.core.procedure.probe import Run
from agent.core.times import from_iso, iso


def record(db, run: Run, incident_id: int | None) -> None:
    db.execute(
        "INSERT INTO probes (at, ok, evidence, incident_id) VALUES (?, ?, ?, ?)",
        [iso(run.at), int(run.ok), run.evidence, incident_id],
    )


def since(db, start: datetime, limit: int = 10_000) -> list[Run]:
    """The runs at or after `start`, oldest first (at most the newest `limit`)."""
    rows = db.execute(
        "SELECT at, ok, evidence FROM (SELECT id, at, ok, evidence FROM probes WHERE at >= ? ORDER BY id DESC LIMIT ?) "
        "ORDER BY id",
        [iso(start), limit],
    ).fetchall()
    return [Run(from_iso(at), bool(ok), evidence) for at, ok, evidence in rows]


def last(db, count: int = 1) -> list[Run]:
    """The newest `count` runs, oldest first."""
    rows = db.execute("SELECT at, ok, evidence FROM probes ORDER BY id DESC LIMIT ?", [count]).fetchall()
    return [Run(from_iso(at), bool(ok), evidence) for at, ok, evidence in reversed(rows)]


def oldest_open_incident(db) -> int | None:
    """The real incident awaiting a response longest: a run is recorded as its evidence."""
    row = db.execute("SELECT min(id) FROM incidents WHERE state = 'awaiting_response' AND drill = 0").fetchone()
    return row[0] if row else None
