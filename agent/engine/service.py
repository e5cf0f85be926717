"""The shell around the pure core: one cycle (sync, decide, check, send), and the loop that repeats it."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from agent.adapters import selfwatch
from agent.adapters.imap import Mailbox
from agent.adapters.smtp import Smtp
from agent.adapters.sqlite import sqlite3
from agent.adapters.store import Store
from agent.core.errors import AgentError, MailboxError, why
from agent.core.procedure.policy import Decision, Outgoing, Status
from agent.core.settings import Config
from agent.core.times import gmt, iso
from agent.engine import enqueue, evidence, ladder, metrics, outbox, systemd, unwritable
from agent.engine.blind import Watchman
from agent.engine.chat import Mirror
from agent.engine.clock import utcnow
from agent.engine.health import IdleWitness, Troubles
from agent.engine.heartbeat import Heartbeat
from agent.engine.lease import Role
from agent.engine.probe import Prober
from agent.engine.reading import SLICE, Reader, slice_budget
from agent.engine.standby import COORDINATION, Standby

log = logging.getLogger("agent.service")


@dataclass
class CycleReport:
    new_mails: int = 0
    sent: list[str] = field(default_factory=list)
    next_deadline: datetime | None = None
    mailbox_ok: bool = True
    backlog_left: int = 0  # old mails still to read: the loop cycles again at once
    role: Role = Role.ALONE  # [ha]: a standby reads the mailbox and sends nothing


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
        self.heartbeat = Heartbeat(config.agent, self.troubles)
        self.mirror = Mirror(config.agent, store, self.troubles)
        self.watchman = Watchman(config, store, self.troubles, clock())  # the blind alarm; the heartbeat's outcome
        self.reader = Reader(config, store, self.mailbox, self.tick, self._mark_drills)
        self.standby = Standby(config, store, self.mailbox, clock)  # [ha]: the lease, the fence
        self._incidents_seen = 0  # incidents up to this id were looked at for being drills
        self.ping_every = systemd.watchdog_interval()  # None unless systemd's WatchdogSec= is set
        self._next_ping = 0.0
        self._ready = False
        self.prober: Prober | None = None  # [probe]: started by `run`, beside the loop (agent/engine/probe.py)

    def close(self) -> None:
        if self.prober is not None:
            self.prober.close()
        self.standby.close()
        self.mailbox.close()

    def problem(self, where: str, text: str) -> None:
        self.troubles.problem(where, text)

    def _fine(self, where: str) -> None:
        self.troubles.fine(where)

    # -- one cycle -------------------------------------------------------------------------------
    def sync(self, now: datetime) -> int:
        """Fetch and ingest everything not read yet in every watched folder, a backlog too; returns how many
        mails were new. The cycle reads the backlog a slice at a time instead (`cycle`)."""
        new = self.reader.new(now) + self.reader.read_backlog(now, None)
        self.last_sync_at = now
        return new

    def _mark_drills(self) -> None:
        drill = self.config.escalation.drill
        if drill is not None:
            for incident_id in selfwatch.mark_drills(self.store, drill.t1_address, self._incidents_seen):
                log.info("drill incident=%s (its T1 went to [drill] t1_address)", incident_id)
            self._incidents_seen = selfwatch.last_incident_id(self.store)

    def _try_sync(self, now: datetime, read: Callable[[datetime], int] | None = None) -> tuple[int, bool]:
        try:
            new = (read or self.reader.new)(now)
        except MailboxError as e:
            self.problem("imap", str(e))
            self.watchman.unreadable(now, self.last_sync_at)
            return 0, False
        self._fine("imap")
        self.watchman.read(now)
        self.last_sync_at = now  # what is new is read: a backlog of old mail answers no incident
        return new, True

    def cycle(self, backlog_budget: float | None = SLICE) -> CycleReport:
        """Sync, decide, sync again right before a send (a reply that just came stops it), send; then read a slice
        of a backlog of old mail (`backlog_budget` seconds; None: all of it), which no decision waits for."""
        now = self.clock()
        report = CycleReport()
        evidence.collect(self.store, self.prober)  # the API check's runs since the last cycle, recorded
        report.new_mails, report.mailbox_ok = self._try_sync(now)
        if self._standing_by(now, report):
            self._read_backlog(now, report, backlog_budget)
            return report
        self._reconcile(now, report.mailbox_ok)
        decisions = self._decide(now, report)
        waiting = self._escalate(decisions, now, report)
        for incident_id, d in decisions.items():
            if d.notice == "exhausted":
                ladder.tell_exhausted(self.store, self.config, incident_id, now)
        self._probe_chores(now)
        self._send_notices(report)
        self.watchman.check(now)  # the mailbox unreadable for blind_alert_after: ops_address is told, once
        self._send_alarms(report)
        alarm_due = self.watchman.due_at()
        if alarm_due is not None and alarm_due > now:
            waiting.append(alarm_due)
        if report.sent:  # a send starts the next window: learn its deadline now, not at the next poll
            decisions = ladder.decisions(self.store, self.config, self.clock())
        future = [d.due_at for d in decisions.values() if d.due_at and d.due_at > now and not d.send] + waiting
        report.next_deadline = self.next_deadline = min(future, default=None)
        self._read_backlog(now, report, backlog_budget)
        return report

    def _reconcile(self, now: datetime, mailbox_ok: bool) -> None:
        """Rows a crash left in `sending`: looked for in the mailbox; while it cannot be read, none is found, and each
        waits unconfirmed_grace longer before it is sent again."""
        if not outbox.in_doubt(self.store):
            return
        agent_cfg = self.config.agent
        if mailbox_ok:
            outbox.reconcile(self.store, self.mailbox.holds_message_id, now, agent_cfg.resend_after)
        else:
            outbox.reconcile(self.store, lambda _: False, now, agent_cfg.resend_after + agent_cfg.unconfirmed_grace)

    def _decide(self, now: datetime, report: CycleReport) -> dict[int, Decision]:
        """Every open incident's decision. Check, then act: when one is to send, what is new in the mailbox is read
        first and the decisions are made again."""
        decisions = ladder.decisions(self.store, self.config, now)
        if report.mailbox_ok and any(d.send for d in decisions.values()):
            new, report.mailbox_ok = self._try_sync(now)
            report.new_mails += new
            decisions = ladder.decisions(self.store, self.config, now)
        return decisions

    def _escalate(self, decisions: dict[int, Decision], now: datetime, report: CycleReport) -> list[datetime]:
        """The tiers due, written and sent. While the mailbox cannot be read a tier waits unconfirmed_grace past its
        deadline, then goes with a caveat; returns those later deadlines."""
        grace, waiting = self.config.agent.unconfirmed_grace, []
        for incident_id, d in decisions.items():
            if d.tier is None or d.due_at is None:
                continue
            caveat = None
            if not report.mailbox_ok:
                if now < d.due_at + grace:
                    waiting.append(d.due_at + grace)
                    continue
                caveat = self._unread_caveat()
            escalation_id = enqueue.escalate(self.store, self.config, incident_id, d.tier, d, now, caveat=caveat)
            status = self._deliver(Outgoing.ESCALATION, escalation_id)
            if status in (Status.SENT, Status.DRY_RUN):
                report.sent.append(f"incident {incident_id} {d.tier.label}")
            elif status == Status.FAILED:
                ladder.tell_rejected(self.store, self.config, incident_id, d.tier, escalation_id, now)
        return waiting

    def _unread_caveat(self) -> str:
        """What an escalation sent while the mailbox cannot be read says of it."""
        since = f"since {gmt(self.last_sync_at)}" if self.last_sync_at else "since the agent started"
        return (
            f"Note: the partner's mailbox could not be read {since} "
            f"({self.troubles.now('imap') or 'IMAP error'}), so a reply in that time may have been missed."
        )

    def _send_notices(self, report: CycleReport) -> None:
        """Every pending notice, sent (each incident's people's, and the answers to commands)."""
        for row in self.store.outbox_with_status(Outgoing.NOTICE, Status.PENDING):
            status = self._deliver(Outgoing.NOTICE, row.id)
            if status in (Status.SENT, Status.DRY_RUN):
                report.sent.append(f"incident {row.incident_id} notice {row.kind}")

    def _send_alarms(self, report: CycleReport) -> None:
        """Every pending alarm about the agent itself, sent to ops_address."""
        for alarm in self.store.outbox_with_status(Outgoing.ALARM, Status.PENDING):
            if self._deliver(Outgoing.ALARM, alarm.id) in (Status.SENT, Status.DRY_RUN):
                report.sent.append(f"alarm {alarm.kind}")

    def _standing_by(self, now: datetime, report: CycleReport) -> bool:
        """[ha]: the role for this cycle. A standby has read the mailbox (its database stays current) and decides and
        sends nothing, but its own alarm that it cannot reach the coordination service."""
        report.role = self.standby.role(now)
        trouble = self.standby.lease.trouble
        if trouble:  # one ERROR line per outage of the coordination service, and the STATUS line
            self.problem("ha", trouble)
        else:
            self._fine("ha")
        self.standby.watch(now)
        if report.role != Role.STANDBY:
            return False
        for row in self.store.outbox_with_status(Outgoing.ALARM, Status.PENDING):
            if row.kind in COORDINATION and self._deliver(Outgoing.ALARM, row.id) == Status.SENT:
                report.sent.append(f"alarm {row.kind}")
        report.next_deadline = self.next_deadline = None
        return True

    def _read_backlog(self, now: datetime, report: CycleReport, backlog_budget: float | None) -> None:
        if self.reader.backlogs and report.mailbox_ok:
            budget = slice_budget(backlog_budget, report.next_deadline, self.clock())
            old, report.mailbox_ok = self._try_sync(now, lambda t: self.reader.read_backlog(t, budget))
            report.new_mails += old
            if report.mailbox_ok:  # else the loop backs off as after any failed read, not at once again
                report.backlog_left = self.reader.backlog_left()

    def _probe_chores(self, now: datetime) -> None:
        """[probe]: run it while an incident is open (or always); tell each incident's people when the API answers
        again."""
        if self.config.probe is None:
            return
        open_incidents = [i for i, _ in self.store.open_incidents() if not i.drill]
        if self.prober is not None:
            self.prober.want(self.config.probe.always or bool(open_incidents))
        evidence.tell_recoveries(self.store, self.config, open_incidents, now)

    def _deliver(self, kind: Outgoing, row_id: int) -> Status:
        dry_run, member = self.config.agent.dry_run, self.config.agent.member
        status = outbox.deliver(self.store, self.smtp, kind, row_id, dry_run, self.clock, member, self.standby.fence)
        if status == Status.PENDING and self.standby.held is not None:  # [ha]: not the lease holder now
            return status
        if status == Status.PENDING:  # a transient failure: retried next cycle
            error = self.store.outbox_row(kind, row_id).last_error
            assert error is not None  # recorded with the failure
            self.problem("smtp", error)
        elif status == Status.SENT:
            self._fine("smtp")
        return status

    def safe_cycle(self) -> CycleReport | None:
        """A cycle that never raises: for the loop. The heartbeat and the chat mirror follow every one."""
        report = self._guarded_cycle()
        self.heartbeat.after_cycle(report is not None and report.mailbox_ok and self.troubles.now("smtp") is None)
        try:
            self.watchman.heartbeat(self.heartbeat, self.clock())
        except sqlite3.Error as e:
            log.debug("heartbeat outcome not recorded: %s", e)
        try:
            self.mirror.after_cycle(self.store)
        except sqlite3.Error as e:  # the cycle's own trouble with the database is said by the cycle
            log.debug("chat mirror: %s", e)
        return report

    def _guarded_cycle(self) -> CycleReport | None:
        try:
            report = self.cycle()
        except AgentError as e:
            self.problem("cycle", str(e))
            self.failures += 1
            return None
        except Exception as e:
            log.debug("cycle failed", exc_info=True)
            words = unwritable.cannot_write(e)
            if words is None:
                self.problem("cycle", f"cycle failed: {why(e)}")
            else:  # said again whenever what is overdue changes: a T2 falling due during the outage is news
                self.troubles.problem(
                    "cycle", unwritable.line(self.store, self.config, self.clock(), words), again=True
                )
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

    def tick(self) -> None:
        """Feed systemd's watchdog (at most every half WatchdogSec): a hung loop stops feeding it. [ha]: refresh the
        lease, or try to take it (every third of it); a member that just took it cycles at once."""
        if self.ping_every and time.monotonic() >= self._next_ping:
            systemd.notify("WATCHDOG=1")
            self._next_ping = time.monotonic() + self.ping_every
        lease = self.standby.lease
        before = lease.role
        if lease.tick() == Role.LEADER and before != Role.LEADER:
            self.next_deadline = self.clock()

    def _publish(self) -> None:
        """After each cycle: READY once the mailbox was read, a STATUS line, the metrics textfile."""
        if not self._ready and self.last_sync_at is not None:
            self._ready = systemd.notify("READY=1") or True
        problems = self.troubles.summary()
        reading = "; ".join(self.reader.progress().values())
        systemd.notify(f"STATUS={problems or reading or 'watching ' + ', '.join(self.config.imap.folders)}")
        path = self.config.agent.metrics_textfile
        if path:
            try:
                text = metrics.render(self.store, self.last_sync_at, self.clock(), self.standby.lease.role)
                metrics.write_textfile(path, text)
                self._fine("metrics")
            except (OSError, sqlite3.Error) as e:
                self.problem("metrics", f"cannot write the metrics textfile {path}: {e}")
