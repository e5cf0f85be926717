"""The API check's runner (agent/engine/probe.py) with real processes and a real HTTP server on 127.0.0.1: a probe
that hangs is killed at its timeout with its whole process group, output is made safe, a URL must answer its status,
and the prober runs only while it is wanted, beside the caller, never holding it up."""

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.core.settings import ProbeConfig
from agent.engine.probe import Prober, run_command, run_once, run_url

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 6, 11, 15, 6, tzinfo=UTC)


def config(**kw) -> ProbeConfig:
    kw.setdefault("interval", timedelta(seconds=1))
    kw.setdefault("timeout", timedelta(seconds=1))
    return ProbeConfig(**kw)


def script(tmp_path, body: str) -> tuple[str, ...]:
    path = tmp_path / "probe.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return (str(path),)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead too
        return f.read().split()[2] != "Z"


def test_a_probe_that_hangs_is_killed_at_its_timeout_with_the_child_it_started(tmp_path):
    pidfile = tmp_path / "sleeper"
    # no exec: the shell's child `sleep` would hold the pipe open if only the shell were killed
    command = script(tmp_path, f"sleep 30 &\necho $! > {pidfile}\necho still working\nwait\n")
    started = time.monotonic()
    run = run_command(config(command=command), NOW)
    took = time.monotonic() - started
    assert run.ok is False and run.evidence == "no answer within 1s (the probe was stopped)"
    assert took < 5, took
    sleeper = int(pidfile.read_text())
    time.sleep(0.2)
    assert not alive(sleeper)


def test_exit_status_and_the_first_line_of_a_command_hostile_bytes_made_safe(tmp_path):
    ok = run_command(config(command=script(tmp_path, "echo '200 SUCCESS requestId=abc'\nexit 0\n")), NOW)
    assert ok.ok and ok.evidence == "200 SUCCESS requestId=abc"
    bad = run_command(
        config(command=script(tmp_path, r"printf '\033[2J\007<script>F500</script>\n' 1>&2; exit 7")), NOW
    )
    assert not bad.ok and bad.evidence == "[2J <script>F500</script>"  # stderr counts; escaped where it is shown
    missing = run_command(config(command=(str(tmp_path / "nowhere"),)), NOW)
    assert not missing.ok and missing.evidence.startswith(f"cannot start {tmp_path / 'nowhere'}")


class Api:
    def __init__(self):
        self.status, self.hang = 200, threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if api.hang.is_set():
                    time.sleep(3)
                body = b"partner API health\n"
                self.send_response(api.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_url_must_answer_its_status_in_time(tmp_path):
    api = Api()
    try:
        assert run_url(config(url=api.url), NOW).evidence == "HTTP 200 partner API health"
        api.status = 503
        assert not run_url(config(url=api.url), NOW).ok
        assert run_url(config(url=api.url, url_status=503), NOW).ok
        api.hang.set()
        slow = run_url(config(url=api.url, url_status=503), NOW)
        assert not slow.ok and "timed out" in slow.evidence
        api.hang.clear()
        api.status = 200
        both = run_once(config(url=api.url, command=script(tmp_path, "echo F500 GeneralError; exit 1\n")), NOW)
        assert not both.ok and both.evidence == "F500 GeneralError"
    finally:
        api.close()


def test_the_prober_runs_only_while_wanted_and_never_holds_up_its_caller(tmp_path):
    prober = Prober(config(command=script(tmp_path, "sleep 30\n"), timeout=timedelta(seconds=1)), lambda: NOW)
    try:
        time.sleep(0.5)
        assert prober.results() == []  # not wanted: no run
        started = time.monotonic()
        prober.want(True)
        assert time.monotonic() - started < 0.1  # handing over never waits for a probe
        deadline = time.monotonic() + 10
        runs = []
        while len(runs) < 2 and time.monotonic() < deadline:
            runs += prober.results()
            time.sleep(0.05)
        assert len(runs) >= 2 and not any(r.ok for r in runs)
        prober.want(False)
        time.sleep(1.5)
        prober.results()
        time.sleep(1.5)
        assert prober.results() == []
    finally:
        prober.close()
