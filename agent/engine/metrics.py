"""Prometheus text exposition (format 0.0.4) of the agent's state: over HTTP, or as a node_exporter textfile."""

import logging
import math
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from agent.core.policy import State, Status

log = logging.getLogger("agent.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TIERS = (2, 3)
FAILURE_KINDS = ("send_failed", "send_rejected")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _family(name: str, kind: str, help_text: str, samples: list[tuple[dict, float | int]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        text = ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in labels.items())
        lines.append(f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}")
    return lines


def render(store, last_sync_at: datetime | None, now: datetime, role: str = "alone") -> str:
    """The exposition text. `store` is a Store or anything with `.db` (or a sqlite_utils.Database).

    Every state and every (tier, status) is written, zeros included: a series that appears only once
    it is non-zero breaks rate() and alerts written as `== 0`. Drill incidents (`escalation-agent drill`) are not
    real ones: they are counted apart, and their escalations and failed sends not at all.
    """
    db = getattr(store, "db", store)
    one = lambda sql, args=(): db.execute(sql, list(args)).fetchone()[0]  # noqa: E731
    by_state = dict(db.execute("SELECT state, count(*) FROM incidents WHERE drill = 0 GROUP BY state").fetchall())
    by_tier = {
        (t, s): n
        for t, s, n in db.execute(
            "SELECT e.tier, e.status, count(*) FROM escalations e JOIN incidents i ON i.id = e.incident_id "
            "WHERE i.drill = 0 GROUP BY e.tier, e.status"
        ).fetchall()
    }
    failures = one(
        f"SELECT count(*) FROM events WHERE kind IN ({','.join('?' * len(FAILURE_KINDS))}) AND (incident_id IS NULL "
        "OR incident_id NOT IN (SELECT id FROM incidents WHERE drill = 1))",
        FAILURE_KINDS,
    )
    drills = one("SELECT count(*) FROM incidents WHERE drill = 1")
    blind = one(
        "SELECT count(*) FROM alarms a WHERE kind = 'blind' AND status != 'cancelled' AND NOT EXISTS "
        "(SELECT 1 FROM alarms s WHERE s.kind = 'sight' AND s.outage = a.outage)"
    )
    if last_sync_at is None:  # never synced since start: +Inf makes `> threshold` alerts fire
        stamp, age = 0.0, math.inf
    else:
        stamp, age = last_sync_at.timestamp(), max(0.0, (now - last_sync_at).total_seconds())
    lines = []
    lines += _family(
        "escalation_agent_mails_seen_total",
        "counter",
        "Mails recorded in the state database (each Message-ID once).",
        [({}, one("SELECT count(*) FROM messages"))],
    )
    lines += _family(
        "escalation_agent_incidents",
        "gauge",
        "Incidents by current state.",
        [({"state": str(s)}, by_state.get(str(s), 0)) for s in State],
    )
    # A gauge despite the name: rows move between statuses (pending -> sent), so a series can go down.
    lines += _family(
        "escalation_agent_escalations_total",
        "gauge",
        "Escalation rows by tier and current status.",
        [({"tier": str(t), "status": str(s)}, by_tier.get((t, str(s)), 0)) for t in TIERS for s in Status],
    )
    lines += _family(
        "escalation_agent_send_failures_total",
        "counter",
        "Send attempts (escalations and notices) that failed: send_failed (retried) and send_rejected (not).",
        [({}, failures)],
    )
    lines += _family(
        "escalation_agent_drills_total",
        "counter",
        "Drill incidents (escalation-agent drill), which the other series leave out.",
        [({}, drills)],
    )
    lines += _family(
        "escalation_agent_blind",
        "gauge",
        "1 while the agent has told ops_address it cannot read the mailbox and not yet that it can again.",
        [({}, min(blind, 1))],
    )
    lines += _family(
        "escalation_agent_last_sync_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful mailbox sync (0: none since start).",
        [({}, stamp)],
    )
    lines += _family(
        "escalation_agent_seconds_since_last_sync",
        "gauge",
        "Seconds since the last successful mailbox sync (+Inf: none since start).",
        [({}, age)],
    )
    lines += _family(
        "escalation_agent_role",
        "gauge",
        "1 for this member's role: leader (holds the [ha] lease: decides and sends), standby (reads only), alone.",
        [({"role": r}, int(r == role)) for r in ("leader", "standby", "alone")],
    )
    return "\n".join(lines) + "\n"


def render_file(path: Path | str, last_sync_at: datetime | None, now: datetime, role: str = "alone") -> str:
    """render() over a read-only connection of its own: sqlite3 connections must not cross threads,
    so the HTTP thread cannot use the agent's Store."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)
    try:
        return render(conn, last_sync_at, now, role)
    finally:
        conn.close()


def serve(port: int, render: Callable[[], str]) -> ThreadingHTTPServer:
    """GET /metrics on 127.0.0.1:`port` from a daemon thread; `server.shutdown()` stops it.

    Loopback only: the numbers are harmless, but nothing else of this host should be exposed by it.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?", 1)[0] != "/metrics":
                self._answer(404, b"not found: try /metrics\n", "text/plain; charset=utf-8")
                return
            try:
                body = render().encode("utf-8")
            except Exception as e:  # a scrape must never take the agent down
                log.error("metrics render failed: %s: %s", type(e).__name__, e)
                self._answer(500, b"metrics unavailable\n", "text/plain; charset=utf-8")
                return
            self._answer(200, body, CONTENT_TYPE)

        def _answer(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # one line per scrape would drown the journal
            log.debug("metrics %s " + format, self.address_string(), *args)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server


def write_textfile(path: Path | str, text: str) -> None:
    """Replace `path` atomically, so node_exporter never reads half a file. The temporary name does
    not end in .prom, so the textfile collector ignores it while it is being written."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # node_exporter runs as another user; these numbers are not secret
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
