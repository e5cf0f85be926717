"""The API check's runner: a thread beside the loop that runs [probe] command and/or url every interval while it is
wanted (an incident is open, or `always`), each with its own timeout, and hands the runs over. It never touches the
database (the loop's thread records what it hands over) and never holds up a cycle or a deadline.

A command starts in a session of its own and, at its timeout, its whole process group is killed: killing only the
shell would leave a child holding the pipes open (LIBRARY-NOTES, "subprocess timeouts")."""

import logging
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime

from agent.core.procedure import probe
from agent.core.settings import ProbeConfig

log = logging.getLogger("agent.probe")
OUTPUT_LIMIT = 64 * 1024  # bytes of a probe's output read: only its first line counts


_children: set[subprocess.Popen] = set()  # probes running now: killed with the agent (`Prober.close`)


def run_command(config: ProbeConfig, at: datetime) -> probe.Run:
    try:
        child = subprocess.Popen(
            config.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as e:
        return probe.Run(at, False, probe.evidence(f"cannot start {config.command[0]}: {e.strerror or e}", "?"))
    _children.add(child)
    try:
        output, _ = child.communicate(timeout=config.timeout.total_seconds())
    except subprocess.TimeoutExpired:
        _kill_group(child)
        return probe.command_run(at, None, None, config.timeout)
    finally:
        _children.discard(child)
    return probe.command_run(at, child.returncode, output[:OUTPUT_LIMIT], config.timeout)


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        child.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a grandchild that left the group holds the pipe: let it go
        child.kill()


def run_url(config: ProbeConfig, at: datetime) -> probe.Run:
    assert config.url is not None
    request = urllib.request.Request(config.url, method="GET", headers={"User-Agent": "escalation-agent probe"})
    try:
        with urllib.request.urlopen(request, timeout=config.timeout.total_seconds()) as answer:
            return probe.http_run(at, answer.status, config.url_status, None, answer.read(1024))
    except urllib.error.HTTPError as e:
        return probe.http_run(at, e.code, config.url_status, None, e.read(1024) if e.fp else None)
    except (OSError, ValueError) as e:  # URLError, a timeout, a refused connection, a TLS failure
        why = getattr(e, "reason", None) or e
        return probe.http_run(at, None, config.url_status, f"no answer from the URL: {why}")


def run_once(config: ProbeConfig, at: datetime) -> probe.Run:
    runs = []
    if config.command:
        runs.append(run_command(config, at))
    if config.url:
        runs.append(run_url(config, at))
    return probe.both(runs)


class Prober:
    """Runs the probe in its own thread while `want(True)`; `results()` hands the runs over to the loop's thread."""

    def __init__(self, config: ProbeConfig, clock: Callable[[], datetime]):
        self.config, self.clock = config, clock
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._runs: queue.SimpleQueue[probe.Run] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="probe", daemon=True)
        self._thread.start()

    def want(self, wanted: bool) -> None:
        if wanted and not self._wanted.is_set():
            log.info("API check started: every %ss", self.config.interval.total_seconds())
        elif not wanted and self._wanted.is_set():
            log.info("API check paused: no incident is open")
        (self._wanted.set if wanted else self._wanted.clear)()

    def results(self) -> list[probe.Run]:
        out = []
        while True:
            try:
                out.append(self._runs.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """Stop probing; a probe running now is killed with its process group (its own session outlives us else)."""
        self._stop.set()
        for attempt in range(2):  # again after the join: a run may have started just as we stopped
            for child in list(_children):
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if attempt == 0:
                self._thread.join(timeout=1.0)

    def _work(self) -> None:
        next_at = 0.0
        while not self._stop.is_set():
            if not self._wanted.is_set():
                self._stop.wait(0.2)
                continue
            if time.monotonic() < next_at:
                self._stop.wait(min(0.2, next_at - time.monotonic()))
                continue
            next_at = time.monotonic() + self.config.interval.total_seconds()
            try:
                run = run_once(self.config, self.clock())
            except Exception as e:  # the runner must outlive any surprise; the run counts as a failure
                log.debug("probe failed", exc_info=True)
                run = probe.Run(self.clock(), False, probe.evidence(f"the probe could not run: {e}", "?"))
            self._runs.put(run)
