"""The service loop around the cycle: it wakes at the next deadline, every poll_interval, and at once when
IMAP IDLE announces mail; it backs off while a server is in trouble, and stops on SIGTERM/SIGINT."""

import logging
import random
import threading

import schedule

from agent.adapters import upkeep
from agent.adapters.sqlite import sqlite3
from agent.core.errors import MailboxError, StoreError
from agent.engine import audit, systemd
from agent.engine.lock import DatabaseLock
from agent.engine.probe import Prober
from agent.engine.service import Agent, CycleReport

log = logging.getLogger("agent.service")

MAX_IDLE = 300.0  # seconds: IDLE is renewed well inside RFC 2177's 29 minutes and NAT timeouts


def serve(agent: Agent, stop: threading.Event) -> None:
    """The service: the database's lock, then the loop until `stop` is set."""
    lock = DatabaseLock(agent.config.agent.database)
    lock.take()  # systemd's Restart= tries again later: a drill holds it for a minute or two
    if agent.config.probe is not None and agent.prober is None:  # only the service probes: `poll` runs no thread
        agent.prober = Prober(agent.config.probe, agent.clock)
    try:
        Loop(agent).run(stop)
    finally:
        if agent.prober is not None:
            agent.prober.close()
        lock.release()


class Loop:
    def __init__(self, agent: Agent):
        self.agent = agent
        self._idle: bool | None = None  # does the server offer IDLE? None: not asked yet
        self._push_seen = False  # has IDLE announced new mail since this process started?

    def pause(self) -> float:
        """Seconds until the next poll: poll_interval, or a jittered backoff while a server is in trouble."""
        poll = self.agent.config.agent.poll_interval
        if not self.agent.failures:
            return poll
        ceiling = max(poll, min(5 * poll, 300))
        return min(poll * 2 ** (self.agent.failures - 1), ceiling) * random.uniform(0.8, 1.2)

    def startup_checks(self) -> None:
        """The database must be sound before the agent acts on it; a broken audit chain is reported."""
        verdict = audit.verify(self.agent.store)
        if verdict.integrity != "ok":
            raise StoreError(
                f"the state database {self.agent.store.path} failed its integrity check: {verdict.integrity}"
            )
        if verdict.broken_at is not None:
            log.error("%s; run `escalation-agent audit verify`", verdict.sentence())
            self.agent.store.event(self.agent.clock(), "audit_broken", verdict.sentence(), None, "found at start")
        else:
            log.info("%s", verdict.sentence())

    def run(self, stop: threading.Event) -> None:
        """Cycle every poll_interval and at each deadline, until `stop` is set (SIGTERM, SIGINT).
        Between cycles it waits in IMAP IDLE where it can, so a reply is seen at once."""
        self.startup_checks()
        chores = schedule.Scheduler()
        chores.every(1).hours.do(self._checkpoint)
        log.info(
            "started folders=%s poll_interval=%ss dry_run=%s database=%s",
            ",".join(self.agent.config.imap.folders),
            self.agent.config.agent.poll_interval,
            self.agent.config.agent.dry_run,
            self.agent.store.path,
        )
        report = self.agent.safe_cycle()  # at once: an agent that was down past a deadline escalates now
        woken: bool | None = None  # how the last wait ended: IDLE announced mail, IDLE ran out, or no IDLE
        next_poll = self._next_poll(report)
        while not stop.is_set():
            self.agent.tick()
            chores.run_pending()  # here, not only between waits: cycles follow each other while a backlog is read
            now = self.agent.clock()
            due = self.agent.next_deadline is not None and now >= self.agent.next_deadline
            if due or now.timestamp() >= next_poll:
                self.agent.next_deadline = None
                report = self.agent.safe_cycle()
                if report is not None and self.agent.idle_witness.after_cycle(woken, report.new_mails):
                    self._say_idle_is_mute()
                woken = None
                next_poll = self._next_poll(report)
                continue
            wait = next_poll - now.timestamp()
            if self.agent.next_deadline is not None:
                wait = min(wait, (self.agent.next_deadline - now).total_seconds())
            if self.agent.ping_every:
                wait = min(wait, self.agent.ping_every)  # an IDLE of MAX_IDLE must not starve the watchdog
            every = getattr(self.agent.standby.lease, "every", None)
            if every:  # [ha]: the lease is refreshed, or a standby tries to take it, every third of it
                wait = min(wait, every)
            woken = self._wait(max(wait, 0.01), stop)
            if woken:
                next_poll = 0  # the server announced new mail: a cycle now
                if not self._push_seen:
                    self._push_seen = True
                    self._say_idle_pushes()
        systemd.notify("STOPPING=1")
        log.info("stopped")

    def _next_poll(self, report: CycleReport | None) -> float:
        """A backlog of old mail is read a slice a cycle, and the next cycle comes at once until it is read."""
        if report is not None and report.backlog_left:
            return 0.0
        return self.agent.clock().timestamp() + self.pause()

    def _wait(self, seconds: float, stop: threading.Event) -> bool | None:
        """Wait up to `seconds` (IDLE sessions are renewed every MAX_IDLE): True when IDLE announced mail, False
        when an IDLE wait ran out, None when the loop waited without IDLE."""
        if self.agent.failures or not self._idle_available():
            stop.wait(min(seconds, 5.0))
            return None
        try:
            return self.agent.mailbox.wait_for_news(min(seconds, MAX_IDLE), stop)
        except MailboxError as e:
            self.agent.problem("imap", str(e))
            self._idle = None  # asked again after the next cycle that reaches the server
            return None

    def _say_idle_is_mute(self) -> None:
        polls, every = self.agent.idle_witness.found_by_polls, self.agent.config.agent.poll_interval
        text = (
            f"the IMAP server's IDLE never announced new mail while {polls} polls found some: a reply is seen "
            f"only at the next poll (poll_interval = {every}s; on Cyrus, run idled)"
        )
        log.warning("%s", text)
        self.agent.store.event(self.agent.clock(), "idle_silent", text, None, "IDLE accepted but never announcing mail")

    def _say_idle_pushes(self) -> None:
        """Once a run: `check` tells from it that replies are seen as they arrive, not only at the next poll."""
        text = "the IMAP server's IDLE announced new mail: replies are seen as they arrive"
        self.agent.store.event(self.agent.clock(), "idle_announced", text, None, "IDLE woke the loop")

    def _idle_available(self) -> bool:
        if not self.agent.config.imap.idle:
            return False
        if self._idle is None:
            try:
                self._idle = self.agent.mailbox.supports_idle()
            except MailboxError:
                return False
            if not self._idle:
                log.info("the IMAP server offers no IDLE: polling every %ss", self.agent.config.agent.poll_interval)
            else:
                log.info(
                    "waiting in IMAP IDLE on %s between polls (every %ss)",
                    self.agent.config.imap.folders[0],
                    self.agent.config.agent.poll_interval,
                )
        return self._idle

    def _checkpoint(self) -> None:
        """Keep the WAL file small; a chore, so any failure is only logged."""
        try:
            upkeep.checkpoint(self.agent.store)
        except sqlite3.Error as e:
            log.warning("WAL checkpoint failed: %s", e)
