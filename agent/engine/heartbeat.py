"""The dead-man's switch: after each cycle in which the mailbox was read and nothing failed, a GET to
heartbeat_url (at most every heartbeat_interval); after a cycle that failed, a GET to heartbeat_url + "/fail"
(the healthchecks.io convention, which push monitors such as Uptime Kuma accept too). A monitor that stops
hearing from the agent raises the alarm: a dead host or a hung process cannot say so itself."""

import time
from collections.abc import Callable

from agent.core.settings import AgentConfig
from agent.engine import courier
from agent.engine.health import Troubles


class Heartbeat:
    def __init__(self, config: AgentConfig, troubles: Troubles, clock: Callable[[], float] = time.monotonic):
        self.url, self.command = config.heartbeat_url, config.heartbeat_command
        self.every = config.heartbeat_interval.total_seconds()
        self.clock = clock
        self._last: tuple[bool, float] | None = None  # (ok, when) of the last beat handed over
        self.courier = courier.Courier("heartbeat", "heartbeat", troubles) if self.enabled else None

    @property
    def enabled(self) -> bool:
        return bool(self.url or self.command)

    @property
    def state(self) -> str:
        if not self.enabled:
            return "off"
        if self._last is None:
            return "not sent yet"
        return "ok" if self._last[0] else "fail"

    def after_cycle(self, ok: bool) -> None:
        """A beat when the state changed, or when the last one is heartbeat_interval old."""
        if self.courier is None:
            return
        now = self.clock()
        if self._last is not None and self._last[0] == ok and now - self._last[1] < self.every:
            return
        self._last = (ok, now)
        if self.url:
            self.courier.send(courier.get(self.url if ok else self.url.rstrip("/") + "/fail"))
        else:
            self.courier.send(courier.run(self.command, "ok" if ok else "fail"))
