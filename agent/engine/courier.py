"""A background worker for what must never hold up a cycle or an escalation: heartbeats and chat lines.

Each job is an HTTP request (or a command) with a timeout of a few seconds, tried a few times; the loop only
hands jobs over. A failure is logged once per change (agent.engine.health.Troubles), a success after
failures once; a queue that overflows (the far end is down for long) drops its oldest jobs and says so.
"""

import json
import logging
import queue
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from agent.core.errors import one_line
from agent.engine.health import Troubles

log = logging.getLogger("agent.service")
TIMEOUT = 5.0  # seconds for one request or command
TRIES = 3
BACKOFF = 1.0  # seconds before the second try; doubled before the third

Job = Callable[[], None]


def where(url: str) -> str:
    """The URL as it may be logged: scheme and host only (push URLs carry their secret in the path)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


def get(url: str) -> Job:
    def job() -> None:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=TIMEOUT) as answer:
            answer.read(1024)

    return job


def post_json(url: str, payload: dict[str, str]) -> Job:
    def job() -> None:
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            answer.read(1024)

    return job


def run(command: tuple[str, ...], *args: str) -> Job:
    def job() -> None:
        done = subprocess.run([*command, *args], capture_output=True, timeout=TIMEOUT * 2, stdin=subprocess.DEVNULL)
        if done.returncode:
            raise RuntimeError(f"{command[0]} exited {done.returncode}")

    return job


class Courier:
    def __init__(self, name: str, what: str, troubles: Troubles, size: int = 100, backoff: float = BACKOFF):
        self.name, self.what, self.troubles, self.backoff = name, what, troubles, backoff
        self.delivered = 0  # jobs done (read by the loop's thread: `status` learns the heartbeat's outcome)
        self._jobs: queue.Queue[Job] = queue.Queue(maxsize=size)
        self._thread = threading.Thread(target=self._work, name=f"courier-{name}", daemon=True)
        self._thread.start()

    def send(self, job: Job) -> None:
        """Hand a job over; never blocks. When the queue is full the oldest job is dropped."""
        while True:
            try:
                self._jobs.put_nowait(job)
                return
            except queue.Full:
                try:
                    self._jobs.get_nowait()
                    log.warning("%s: queue full, the oldest %s dropped", self.name, self.what)
                except queue.Empty:
                    pass

    def idle(self, timeout: float = 30.0) -> bool:
        """For tests and a clean stop: True once every job handed over was tried."""
        deadline = time.monotonic() + timeout
        while self._jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._jobs.unfinished_tasks

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                self._try(job)
            finally:
                self._jobs.task_done()

    def _try(self, job: Job) -> None:
        for attempt in range(TRIES):
            try:
                job()
                self.delivered += 1
                self.troubles.fine(self.name)
                return
            except (OSError, urllib.error.URLError, subprocess.SubprocessError, RuntimeError, ValueError) as e:
                error = one_line(getattr(e, "reason", None) or e) or type(e).__name__
                if attempt + 1 < TRIES:
                    time.sleep(self.backoff * 2**attempt)
        self.troubles.problem(self.name, f"{self.name}: {self.what} failed after {TRIES} tries ({error})")
