"""A long sync (a first sync over years of mail, a renumbered folder) says how far it is, and is not a hang."""

import logging
import time
from collections.abc import Callable

from agent.core.reading.folder import progress_line
from agent.engine import systemd

log = logging.getLogger("agent.service")

EVERY = 5.0  # seconds between progress lines


class Progress:
    """Call `advance(done)` after each chunk: the watchdog is fed (through `tick`) every time, and every `every`
    seconds a log line and a systemd STATUS= line say done / total, mails a second and the time left."""

    def __init__(
        self,
        what: str,
        total: int,
        tick: Callable[[], None],
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.what, self.total, self.tick, self.every, self.clock = what, total, tick, every, clock
        self.started = clock()
        self._next = self.started + every
        self.lines = 0

    def advance(self, done: int) -> None:
        self.tick()
        now = self.clock()
        if now < self._next:
            return
        line = progress_line(self.what, done, self.total, now - self.started)
        log.info("%s", line)
        systemd.notify(f"STATUS={line}")
        self.lines += 1
        self._next = now + self.every
