"""The shell around the pure core: one cycle (sync, decide, check, send), and the loop that repeats it."""

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import schedule

from agent import escalate
from agent.config import Config
from agent.errors import AgentError, MailboxError
from agent.ingest import ingest
from agent.mailbox import Fetched, Mailbox
from agent.outbox import Smtp
from agent.policy import Status
from agent.store import FolderState, Store
from agent.times import iso, utcnow

log = logging.getLogger("agent.service")


@dataclass
class CycleReport:
    new_mails: int = 0
    sent: list[str] = field(default_factory=list)
    next_deadline: datetime | None = None
    mailbox_ok: bool = True


class Agent:
    def __init__(self, config: Config, store: Store, mailbox: Mailbox | None = None, smtp: Smtp | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.config = config
        self.store = store
        self.mailbox = mailbox or Mailbox(config.imap)
        self.smtp = smtp or Smtp(config.smtp)
        self.clock = clock
        self.next_deadline: datetime | None = None
        self._last_problem: str | None = None

    def close(self) -> None:
        self.mailbox.close()

    # -- one cycle -------------------------------------------------------------------------------
    def sync(self, now: datetime) -> int:
        """Fetch and ingest what is new in every watched folder; returns how many mails were new."""
        new = 0
        for folder in self.config.imap.folders:
            known = self.store.folder_state(folder)
            pending = self.mailbox.pending(folder, known)
            if pending.reset:
                self.store.event(now, "mailbox_reset", f"{folder}: UIDVALIDITY {known.uidvalidity} -> "
                                 f"{pending.state.uidvalidity}; reading the folder again", None,
                                 "the server renumbered the folder; Message-IDs prevent duplicates")
                log.warning("UIDVALIDITY changed folder=%s; reading it again", folder)
            for chunk in self.mailbox.fetch(pending, self.config.agent.max_message_bytes):
                for fetched in chunk:
                    new += self._ingest_one(fetched, now)
                state = FolderState(pending.state.uidvalidity, chunk[-1].uid if chunk else pending.state.last_uid)
                self.store.set_folder_state(folder, state, now)
            if known != pending.state and not pending.uids:
                self.store.set_folder_state(folder, pending.state, now)
        return new

    def _ingest_one(self, fetched: Fetched, now: datetime) -> int:
        try:
            return 1 if ingest(self.store, fetched, self.config, now) else 0
        except sqlite3.Error:
            raise  # the database, not the mail: the cycle fails and the mail is read again next time
        except Exception as e:  # one bad mail must never stop the cycle
            reason = f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
            self.store.event(now, "quarantined", f"{fetched.folder} UID {fetched.uid} could not be processed",
                             None, reason)
            log.error("mail quarantined folder=%s uid=%s: %s", fetched.folder, fetched.uid, reason)
            return 0

    def cycle(self) -> CycleReport:
        """Sync, decide, sync again right before a send (a reply that just came stops it), send."""
        now = self.clock()
        report = CycleReport()
        report.new_mails = self.sync(now)
        if self.store.escalations_with_status(Status.SENDING):
            escalate.reconcile(self.store, self.mailbox.holds_message_id, now)
        decisions = escalate.decisions(self.store, self.config, now)
        if any(d.send for d in decisions.values()):
            report.new_mails += self.sync(now)  # check, then act
            decisions = escalate.decisions(self.store, self.config, now)
        for incident_id, d in decisions.items():
            if d.send:
                escalation_id = escalate.enqueue(self.store, self.config, incident_id, d.tier, d, now)
                status = escalate.deliver(self.store, self.smtp, escalation_id, self.config.agent.dry_run,
                                          self.clock)
                if status in (Status.SENT, Status.DRY_RUN):
                    report.sent.append(f"incident {incident_id} {d.tier.label}")
        if report.sent:  # a send starts the next window: learn its deadline now, not at the next poll
            decisions = escalate.decisions(self.store, self.config, self.clock())
        future = [d.due_at for d in decisions.values() if d.due_at and d.due_at > now and not d.send]
        report.next_deadline = self.next_deadline = min(future, default=None)
        return report

    def safe_cycle(self) -> CycleReport | None:
        """A cycle that never raises: for the loop. One log line per change of trouble, not per retry."""
        try:
            report = self.cycle()
        except AgentError as e:
            self._trouble(str(e))
            return None
        except Exception as e:
            log.debug("cycle failed", exc_info=True)
            self._trouble(f"cycle failed: {type(e).__name__}: {' '.join(str(e).split())[:200]}")
            return None
        if self._last_problem is not None:
            log.info("recovered after: %s", self._last_problem)
            self._last_problem = None
        if report.new_mails or report.sent:
            log.info("cycle new_mails=%s sent=%s next_deadline=%s", report.new_mails,
                     ",".join(report.sent) or "-", iso(report.next_deadline))
        return report

    def _trouble(self, problem: str) -> None:
        if problem != self._last_problem:
            log.error("%s (retrying every %ss)", problem, self.config.agent.poll_interval)
        self._last_problem = problem

    # -- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Cycle every poll_interval and at each deadline, until `stop` is set (SIGTERM, SIGINT)."""
        scheduler = schedule.Scheduler()
        scheduler.every(self.config.agent.poll_interval).seconds.do(self.safe_cycle)
        log.info("started folders=%s poll_interval=%ss dry_run=%s database=%s",
                 ",".join(self.config.imap.folders), self.config.agent.poll_interval,
                 self.config.agent.dry_run, self.store.path)
        self.safe_cycle()  # at once: an agent that was down past a deadline escalates now
        while not stop.is_set():
            if self.next_deadline is not None and self.clock() >= self.next_deadline:
                self.next_deadline = None
                self.safe_cycle()
                continue
            scheduler.run_pending()
            wait = scheduler.idle_seconds
            wait = self.config.agent.poll_interval if wait is None else wait
            if self.next_deadline is not None:
                wait = min(wait, (self.next_deadline - self.clock()).total_seconds())
            stop.wait(min(max(wait, 0.05), 5.0))
        log.info("stopped")
