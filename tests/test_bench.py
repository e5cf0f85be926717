"""`bench/run.py --quick` works: a smoke check that the benchmark runs and reports every figure. Not its goals:
speed is shown by the benchmark's figures (docs/benchmarks.md), never by a timed test."""

import json
import subprocess
import sys

import pytest

from support import REPO

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

KEYS = (
    "ingest_ratio",
    "first_start_50k_s",
    "resync_ratio",
    "lateness_during_resync_max_s",
    "idle_cycle_ratio_50k_vs_1k",
    "escalation_lateness_p99_s",
    "reply_detection_p99_s",
    "idle_rss_mb",
    "idle_cpu_percent",
)


def test_the_quick_benchmark_runs_and_reports_every_figure():
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["quick"] is True
    assert all(isinstance(figures[k], (int, float)) and figures[k] >= 0 for k in KEYS), figures
    assert figures["idle_cycle_imap"][0] == "DONE" and figures["idle_cycle_imap"][-1] == "IDLE"
    assert "no Dovecot of this run is left running" in lines
