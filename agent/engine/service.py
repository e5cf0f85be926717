"""The shell around the pure core: one cycle (sync, decide, check, send), and the loop that repeats it."""

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import schedule

from agent.adapters.imap import Mailbox
from agent.adapters.smtp import Smtp
from agent.adapters.store import Store
from agent.core.errors import AgentError, MailboxError, StoreError, why
from agent.core.folder import Fetched, FolderState
from agent.core.policy import Outgoing, Status
from agent.core.settings import Config
from agent.core.times import gmt, iso
from agent.engine import audit, ladder, metrics, outbox, systemd
from agent.engine.clock import utcnow
from agent.engine.health import IdleWitness, Troubles
from agent.engine.ingest import ingest

log = logging.getLogger("agent.service")

MAX_IDLE = 300.0  # seconds: IDLE is renewed well inside RFC 2177's 29 minutes and NAT timeouts


@dataclass
class CycleReport:
    new_mails: int = 0
    sent: list[str] = field(default_factory=list)
    next_deadline: datetime | None = None
    mailbox_ok: bool = True


class Agent:
    def __init__(
        self,
        config: Config,
        store: Store,
        mailbox: Mailbox | None = None,
        smtp: Smtp | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.config = config
        self.store = store
        self.mailbox = mailbox or Mailbox(config.imap)
        self.smtp = smtp or Smtp(config.smtp)
        self.clock = clock
        self.next_deadline: datetime | None = None
        self.last_sync_at: datetime | None = None  # the last time every folder was read
        self.failures = 0  # consecutive cycles in trouble: the loop backs off
        self.troubles = Troubles()
        self.idle_witness = IdleWitness()
        self._idle: bool | None = None  # does the server offer IDLE? None: not asked yet
        self._ping_every = systemd.watchdog_interval()  # None unless systemd's WatchdogSec= is set
        self._next_ping = 0.0
        self._ready = False

    def close(self) -> None:
        self.mailbox.close()

    def _problem(self, where: str, text: str) -> None:
        self.troubles.problem(where, text)

    def _fine(self, where: str) -> None:
        self.troubles.fine(where)

    # -- one cycle -------------------------------------------------------------------------------
    def sync(self, now: datetime) -> int:
        """Fetch and ingest what is new in every watched folder; returns how many mails were new."""
        new = 0
        for folder in self.config.imap.folders:
            known = self.store.folder_state(folder)
            pending = self.mailbox.pending(folder, known)
            if pending.reset and known is not None:  # always known: a reset is a change from the stored UIDVALIDITY
                self.store.event(
                    now,
                    "mailbox_reset",
                    f"{folder}: UIDVALIDITY {known.uidvalidity} -> "
                    f"{pending.state.uidvalidity}; reading the folder again",
                    None,
                    "the server renumbered the folder; Message-IDs prevent duplicates",
                )
                log.warning("UIDVALIDITY changed folder=%s; reading it again", folder)
            for chunk in self.mailbox.fetch(pending, self.config.agent.max_message_bytes):
                # One transaction (one fsync under synchronous=FULL) a chunk, its folder state included; each
                # mail is a savepoint inside it, so a mail that fails is quarantined alone.
                with self.store.transaction():
                    for fetched in chunk:
                        new += self._ingest_one(fetched, now)
                    state = FolderState(pending.state.uidvalidity, chunk[-1].uid if chunk else pending.state.last_uid)
                    self.store.set_folder_state(folder, state, now)
                self.tick()  # a first sync over years of mail is long, and not a hang
            if known != pending.state and not pending.uids:
                self.store.set_folder_state(folder, pending.state, now)
        self.last_sync_at = now
        return new

    def _ingest_one(self, fetched: Fetched, now: datetime) -> int:
        try:
            return 1 if ingest(self.store, fetched, self.config, now) else 0
        except sqlite3.Error:
            raise  # the database, not the mail: the cycle fails and the mail is read again next time
        except Exception as e:  # one bad mail must never stop the cycle
            reason = why(e)
            self.store.event(
                now, "quarantined", f"{fetched.folder} UID {fetched.uid} could not be processed", None, reason
            )
            log.error("mail quarantined folder=%s uid=%s: %s", fetched.folder, fetched.uid, reason)
            return 0

    def _try_sync(self, now: datetime) -> tuple[int, bool]:
        try:
            new = self.sync(now)
        except MailboxError as e:
            self._problem("imap", str(e))
            return 0, False
        self._fine("imap")
        return new, True

    def cycle(self) -> CycleReport:
        """Sync, decide, sync again right before a send (a reply that just came stops it), send."""
        now = self.clock()
        report = CycleReport()
        report.new_mails, report.mailbox_ok = self._try_sync(now)
        agent_cfg = self.config.agent
        if outbox.in_doubt(self.store):
            if report.mailbox_ok:
                outbox.reconcile(self.store, self.mailbox.holds_message_id, now, agent_cfg.resend_after)
            else:
                outbox.reconcile(self.store, lambda _: False, now, agent_cfg.resend_after + agent_cfg.unconfirmed_grace)
        decisions = ladder.decisions(self.store, self.config, now)
        if report.mailbox_ok and any(d.send for d in decisions.values()):
            new, report.mailbox_ok = self._try_sync(now)  # check, then act
            report.new_mails += new
            decisions = ladder.decisions(self.store, self.config, now)
        waiting = []
        for incident_id, d in decisions.items():
            if d.tier is None or d.due_at is None:
                continue
            caveat = None
            if not report.mailbox_ok:
                if now < d.due_at + agent_cfg.unconfirmed_grace:
                    waiting.append(d.due_at + agent_cfg.unconfirmed_grace)
                    continue
                since = f"since {gmt(self.last_sync_at)}" if self.last_sync_at else "since the agent started"
                caveat = (
                    f"Note: the partner's mailbox could not be read {since} "
                    f"({self.troubles.now('imap') or 'IMAP error'}), so a reply in that time may have been missed."
                )
            escalation_id = outbox.escalate(self.store, self.config, incident_id, d.tier, d, now, caveat=caveat)
            status = self._deliver(Outgoing.ESCALATION, escalation_id)
            if status in (Status.SENT, Status.DRY_RUN):
                report.sent.append(f"incident {incident_id} {d.tier.label}")
            elif status == Status.FAILED:
                ladder.tell_rejected(self.store, self.config, incident_id, d.tier, escalation_id, now)
        for incident_id, d in decisions.items():
            if d.notice == "exhausted":
                ladder.tell_exhausted(self.store, self.config, incident_id, now)
        for row in self.store.outbox_with_status(Outgoing.NOTICE, Status.PENDING):
            status = self._deliver(Outgoing.NOTICE, row["id"])
            if status in (Status.SENT, Status.DRY_RUN):
                report.sent.append(f"incident {row['incident_id']} notice {row['kind']}")
        if report.sent:  # a send starts the next window: learn its deadline now, not at the next poll
            decisions = ladder.decisions(self.store, self.config, self.clock())
        future = [d.due_at for d in decisions.values() if d.due_at and d.due_at > now and not d.send] + waiting
        report.next_deadline = self.next_deadline = min(future, default=None)
        return report

    def _deliver(self, kind: Outgoing, row_id: int) -> Status:
        status = outbox.deliver(self.store, self.smtp, kind, row_id, self.config.agent.dry_run, self.clock)
        if status == Status.PENDING:  # a transient failure: retried next cycle
            self._problem("smtp", self.store.outbox_row(kind, row_id)["last_error"])
        elif status == Status.SENT:
            self._fine("smtp")
        return status

    def safe_cycle(self) -> CycleReport | None:
        """A cycle that never raises: for the loop."""
        try:
            report = self.cycle()
        except AgentError as e:
            self._problem("cycle", str(e))
            self.failures += 1
            return None
        except Exception as e:
            log.debug("cycle failed", exc_info=True)
            self._problem("cycle", f"cycle failed: {why(e)}")
            self.failures += 1
            return None
        self._fine("cycle")
        self.failures = 0 if report.mailbox_ok else self.failures + 1
        self._publish()
        if report.new_mails or report.sent:
            log.info(
                "cycle new_mails=%s sent=%s next_deadline=%s",
                report.new_mails,
                ",".join(report.sent) or "-",
                iso(report.next_deadline),
            )
        return report

    # -- the loop --------------------------------------------------------------------------------
    def pause(self) -> float:
        """Seconds until the next poll: poll_interval, or a jittered backoff while a server is in trouble."""
        poll = self.config.agent.poll_interval
        if not self.failures:
            return poll
        ceiling = max(poll, min(5 * poll, 300))
        return min(poll * 2 ** (self.failures - 1), ceiling) * random.uniform(0.8, 1.2)

    def startup_checks(self) -> None:
        """The database must be sound before the agent acts on it; a broken audit chain is reported."""
        verdict = audit.verify(self.store)
        if verdict.integrity != "ok":
            raise StoreError(f"the state database {self.store.path} failed its integrity check: {verdict.integrity}")
        if verdict.broken_at is not None:
            log.error("%s; run `escalation-agent audit verify`", verdict.sentence())
            self.store.event(self.clock(), "audit_broken", verdict.sentence(), None, "found at start")
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
            ",".join(self.config.imap.folders),
            self.config.agent.poll_interval,
            self.config.agent.dry_run,
            self.store.path,
        )
        self.safe_cycle()  # at once: an agent that was down past a deadline escalates now
        woken: bool | None = None  # how the last wait ended: IDLE announced mail, IDLE ran out, or no IDLE
        next_poll = self.clock().timestamp() + self.pause()
        while not stop.is_set():
            self.tick()
            now = self.clock()
            due = self.next_deadline is not None and now >= self.next_deadline
            if due or now.timestamp() >= next_poll:
                self.next_deadline = None
                report = self.safe_cycle()
                if report is not None and self.idle_witness.after_cycle(woken, report.new_mails):
                    self._say_idle_is_mute()
                woken = None
                next_poll = self.clock().timestamp() + self.pause()
                continue
            chores.run_pending()
            wait = next_poll - now.timestamp()
            if self.next_deadline is not None:
                wait = min(wait, (self.next_deadline - now).total_seconds())
            if self._ping_every:
                wait = min(wait, self._ping_every)  # an IDLE of MAX_IDLE must not starve the watchdog
            woken = self._wait(max(wait, 0.01), stop)
            if woken:
                next_poll = 0  # the server announced new mail: a cycle now
        systemd.notify("STOPPING=1")
        log.info("stopped")

    def tick(self) -> None:
        """Feed systemd's watchdog (at most every half WatchdogSec): a hung loop stops feeding it."""
        if self._ping_every and time.monotonic() >= self._next_ping:
            systemd.notify("WATCHDOG=1")
            self._next_ping = time.monotonic() + self._ping_every

    def _publish(self) -> None:
        """After each cycle: READY once the mailbox was read, a STATUS line, the metrics textfile."""
        if not self._ready and self.last_sync_at is not None:
            self._ready = systemd.notify("READY=1") or True
        problems = self.troubles.summary()
        systemd.notify(f"STATUS={problems or 'watching ' + ', '.join(self.config.imap.folders)}")
        path = self.config.agent.metrics_textfile
        if path:
            try:
                metrics.write_textfile(path, metrics.render(self.store, self.last_sync_at, self.clock()))
                self._fine("metrics")
            except (OSError, sqlite3.Error) as e:
                self._problem("metrics", f"cannot write the metrics textfile {path}: {e}")

    def _wait(self, seconds: float, stop: threading.Event) -> bool | None:
        """Wait up to `seconds` (IDLE sessions are renewed every MAX_IDLE): True when IDLE announced mail, False
        when an IDLE wait ran out, None when the loop waited without IDLE."""
        if self.failures or not self._idle_available():
            stop.wait(min(seconds, 5.0))
            return None
        try:
            return self.mailbox.wait_for_news(min(seconds, MAX_IDLE), stop)
        except MailboxError as e:
            self._problem("imap", str(e))
            self._idle = None  # asked again after the next cycle that reaches the server
            return None

    def _say_idle_is_mute(self) -> None:
        text = (
            f"the IMAP server's IDLE never announced new mail while {self.idle_witness.found_by_polls} polls "
            f"found some: a reply is seen only at the next poll (poll_interval = {self.config.agent.poll_interval}s;"
            " on Cyrus, run idled)"
        )
        log.warning("%s", text)
        self.store.event(self.clock(), "idle_silent", text, None, "IDLE accepted but never announcing mail")

    def _idle_available(self) -> bool:
        if not self.config.imap.idle:
            return False
        if self._idle is None:
            try:
                self._idle = self.mailbox.supports_idle()
            except MailboxError:
                return False
            if not self._idle:
                log.info("the IMAP server offers no IDLE: polling every %ss", self.config.agent.poll_interval)
            else:
                log.info(
                    "waiting in IMAP IDLE on %s between polls (every %ss)",
                    self.config.imap.folders[0],
                    self.config.agent.poll_interval,
                )
        return self._idle

    def _checkpoint(self) -> None:
        """Keep the WAL file small; a chore, so any failure is only logged."""
        try:
            self.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            log.warning("WAL checkpoint failed: %s", e)
