"""Prometheus text exposition (format 0.0.4) of the agent's state: over HTTP, or as a node_exporter textfile."""

import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from agent.adapters import figures
from agent.core.procedure import probe
from agent.core.procedure.policy import State, Status

log = logging.getLogger("agent.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TIERS = (2, 3)
PREFIX = "escalation_agent_"


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
    """The exposition text. `store` is a Store or anything with `.db` (or a sqlite_utils.Database)."""
    return exposition(figures.read(getattr(store, "db", store)), last_sync_at, now, role)


def render_file(path: Path | str, last_sync_at: datetime | None, now: datetime, role: str = "alone") -> str:
    """render() from the database file, for the HTTP thread (a read-only connection of its own)."""
    return exposition(figures.read_file(path), last_sync_at, now, role)


def exposition(f: figures.Figures, last_sync_at: datetime | None, now: datetime, role: str = "alone") -> str:
    """Every state and every (tier, status) is written, zeros included: a series that appears only once
    it is non-zero breaks rate() and alerts written as `== 0`. Drill incidents (`escalation-agent drill`) are not
    real ones: they are counted apart, and their escalations and failed sends not at all."""
    if last_sync_at is None:  # never synced since start: +Inf makes `> threshold` alerts fire
        stamp, age = 0.0, math.inf
    else:
        stamp, age = last_sync_at.timestamp(), max(0.0, (now - last_sync_at).total_seconds())
    families: list[tuple[str, str, str, list[tuple[dict, float | int]]]] = [
        (
            "mails_seen_total",
            "counter",
            "Mails recorded in the state database (each Message-ID once).",
            [({}, f.mails)],
        ),
        (
            "incidents",
            "gauge",
            "Incidents by current state.",
            [({"state": str(s)}, f.by_state.get(str(s), 0)) for s in State],
        ),
        # A gauge despite the name: rows move between statuses (pending -> sent), so a series can go down.
        (
            "escalations_total",
            "gauge",
            "Escalation rows by tier and current status.",
            [({"tier": str(t), "status": str(s)}, f.by_tier.get((t, str(s)), 0)) for t in TIERS for s in Status],
        ),
        (
            "send_failures_total",
            "counter",
            "Send attempts (escalations and notices) that failed: send_failed (retried) and send_rejected (not).",
            [({}, f.failures)],
        ),
        (
            "drills_total",
            "counter",
            "Drill incidents (escalation-agent drill), which the other series leave out.",
            [({}, f.drills)],
        ),
        (
            "blind",
            "gauge",
            "1 while the agent has told ops_address it cannot read the mailbox and not yet that it can again.",
            [({}, min(f.blind, 1))],
        ),
        (
            "last_sync_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful mailbox sync (0: none since start).",
            [({}, stamp)],
        ),
        (
            "seconds_since_last_sync",
            "gauge",
            "Seconds since the last successful mailbox sync (+Inf: none since start).",
            [({}, age)],
        ),
        (
            "role",
            "gauge",
            "1 for this member's role: leader (holds the [ha] lease: decides and sends), standby (reads only), alone.",
            [({"role": r}, int(r == role)) for r in ("leader", "standby", "alone")],
        ),
    ]
    lines = [line for name, kind, text, samples in families for line in _family(PREFIX + name, kind, text, samples)]
    lines += _probe_families(f.probe_runs)
    return "\n".join(lines) + "\n"


def _probe_families(runs: tuple[probe.Run, ...]) -> list[str]:
    """[probe]: the API check's last outcome and since when it fails; no series until it has run once."""
    s = probe.summarise(list(runs))
    if s is None:
        return []
    lines = _family(
        "escalation_agent_probe_up",
        "gauge",
        "1 when the API check's last run passed, 0 when it failed.",
        [({}, int(s.last.ok))],
    )
    lines += _family(
        "escalation_agent_probe_failing_since_timestamp_seconds",
        "gauge",
        "Unix time of the first failure of the API check's current run of failures (0: it answers).",
        [({}, s.failing_since.timestamp() if s.failing_since else 0.0)],
    )
    lines += _family(
        "escalation_agent_probe_last_run_timestamp_seconds",
        "gauge",
        "Unix time of the API check's last run.",
        [({}, s.last.at.timestamp())],
    )
    return lines


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
