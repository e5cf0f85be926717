"""`escalation-agent drill`: a synthetic incident end to end through the [drill] ladder.

It sends a T1 as an engineer would (through the configured SMTP server, the watched mailbox in Cc, to the drill's
T1 address), then watches the agent see it, escalate at the drill's deadlines and see its own CC copies come back.
When an agent runs (it holds the database's lock) the drill only watches the database; when none does, the drill
takes the lock and runs the agent's cycles itself. Every step is printed with its timing; the drill incident is
resolved at the end, passed or failed. Drill incidents climb the drill's ladder only (internal test mailboxes,
checked when config.ini is read) and stay out of `status`, the metrics and the canned queries of real incidents."""

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn, TypeVar

from agent.adapters import selfwatch
from agent.adapters.rows import EscalationRow, NoticeRow
from agent.adapters.smtp import Smtp
from agent.adapters.store import Store
from agent.core.deciding import drill as words
from agent.core.deciding.drill import Step
from agent.core.errors import AgentError, ConfigError, SendError
from agent.core.procedure.policy import Status
from agent.core.reading.mail import in_domains
from agent.core.settings import Config, DrillConfig
from agent.core.sop import Tier
from agent.core.times import from_iso, iso
from agent.core.writing import compose
from agent.engine import ladder
from agent.engine.clock import utcnow
from agent.engine.lock import DatabaseLock
from agent.engine.service import Agent

Found = TypeVar("Found")


class Failed(Exception):
    """A step did not pass: its line is printed, the drill stops."""


class Drill:
    def __init__(
        self,
        config: Config,
        store: Store,
        say: Callable[[str], None],
        slack: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
    ):
        if config.escalation.drill is None:
            raise ConfigError("[drill] is not set: give its t1_address, t2_address and t3_address (test mailboxes)")
        if config.agent.dry_run:
            raise AgentError("dry_run = true: a drill needs the agent to send (set dry_run = false)")
        self.config, self.store, self.say, self.slack, self.clock = config, store, say, slack, clock
        self.ladder: DrillConfig = config.escalation.drill
        self.steps: list[Step] = []
        self.agent: Agent | None = None  # set when the drill runs the cycles itself
        self.started = clock()

    def run(self) -> Step | None:
        """Every step, in order; returns the step that failed, or None when every one passed."""
        lock = DatabaseLock(self.config.agent.database)
        if lock.acquire():
            self.agent = Agent(self.config, self.store, clock=self.clock)
            self.say("no agent runs on this database: the drill runs the agent's cycles itself")
        else:
            self.say(f"an agent runs on this database (process {lock.holder()}): the drill watches it work")
        d = self.ladder
        self.say(
            f"drill ladder: T1 {d.t1_address}, T2 {d.t2_address} after {d.t2_after.total_seconds():g}s, "
            f"T3 {d.t3_address} after {d.t3_after.total_seconds():g}s"
        )
        incident_id = None
        try:
            message_id, sent_at = self._send_t1()
            incident_id = self._seen(message_id)
            t2 = self._tier(incident_id, Tier.T2, from_iso(self.store.incident_record(incident_id).t1_sent_at))
            self._copy(incident_id, Tier.T2)
            self._tier(incident_id, Tier.T3, t2)
            self._copy(incident_id, Tier.T3)
            self._internal_only(incident_id)
        except Failed:
            pass
        finally:
            if incident_id is not None:
                self._close(incident_id)
            if self.agent is not None:
                self.agent.close()
            lock.release()
        return next((s for s in self.steps if not s.ok), None)

    # -- the steps ----------------------------------------------------------------------------------------------
    def _step(self, name: str, ok: bool, detail: str) -> None:
        step = Step(name, ok, (self.clock() - self.started).total_seconds(), detail)
        self.steps.append(step)
        self.say(words.line(step))
        if not ok:
            raise Failed(name)

    def _fail(self, name: str, detail: str) -> NoReturn:
        self._step(name, False, detail)
        raise Failed(name)  # not reached: _step raised

    def _send_t1(self) -> tuple[str, datetime]:
        now = self.clock()
        message_id = compose.new_message_id(self.ladder.from_address)
        msg = words.t1(self.ladder, self.config.imap.address, message_id, now)
        recipients = [self.ladder.t1_address, self.config.imap.address]
        try:
            refused = Smtp(self.config.smtp).send(msg, recipients)
        except SendError as e:
            self._fail("T1 sent", str(e))
        if refused:
            self._fail("T1 sent", f"refused: {', '.join(f'{a} ({w})' for a, w in refused.items())}")
        self._step("T1 sent", True, f"{message_id} to {self.ladder.t1_address}, Cc {self.config.imap.address}")
        return message_id, now

    def _seen(self, message_id: str) -> int:
        found = self._wait(lambda: selfwatch.incident_by_t1(self.store, message_id), self.clock() + self._patience())
        if not found:
            self._fail(
                "T1 seen",
                "no incident was opened for the drill's T1: is its copy delivered to the watched mailbox, and was the "
                "running agent started with this [drill] section?",
            )
        if not found.drill or found.state != "awaiting_response":
            self._fail("T1 seen", f"incident {found.id} is {found.state}, drill={found.drill}")
        self._step("T1 seen", True, f"incident {found.id} opened, marked as a drill")
        return found.id

    def _tier(self, incident_id: int, tier: Tier, started: datetime) -> datetime:
        """The tier went out at its deadline, to the drill's address. Returns when it was sent."""
        name = f"{tier.label} sent"
        due = started + (self.ladder.t2_after if tier == Tier.T2 else self.ladder.t3_after)

        def done() -> EscalationRow | None:
            row = self._escalation(incident_id, tier)
            return row if row and Status(row.status) in (Status.SENT, Status.FAILED, Status.MANUAL) else None

        row = self._wait(done, due + self.slack)
        if row is None:
            last = self._escalation(incident_id, tier)
            why = f"status {last.status}, {last.last_error or 'no error recorded'}" if last else "never decided"
            self._fail(name, f"not sent by {iso(due + self.slack)} (due {iso(due)}): {why}")
        if row.status == Status.FAILED:
            self._fail(name, f"rejected: {row.last_error}")
        to = json.loads(row.recipients or "[]")[:1]
        if to != [self.ladder.tier_address(tier)]:
            self._fail(name, f"went to {to}, not to the drill's {self.ladder.tier_address(tier)}")
        assert row.sent_at is not None  # sent, or sent by hand: both record when
        sent_at = from_iso(row.sent_at)
        self._step(name, True, f"to {to[0]}, {words.late(sent_at, due)} ({iso(sent_at)})")
        return sent_at

    def _copy(self, incident_id: int, tier: Tier) -> None:
        name = f"{tier.label} CC copy back"

        def confirmed() -> EscalationRow | None:
            row = self._escalation(incident_id, tier)
            return row if row and row.confirmed_at else None

        row = self._wait(confirmed, self.clock() + self._patience())
        if row is None:
            self._fail(name, f"the CC copy of the {tier.label} never came back to {self.config.imap.address}")
        assert row.confirmed_at is not None and row.sent_at is not None  # confirmed: its copy came back after the send
        delay = (from_iso(row.confirmed_at) - from_iso(row.sent_at)).total_seconds()
        self._step(name, True, f"seen in the watched mailbox {delay:.1f}s after the send")

    def _internal_only(self, incident_id: int) -> None:
        """Every mail of the drill went to our own addresses, never to the vendor's."""
        rows: list[EscalationRow | NoticeRow] = [*self.store.escalations(incident_id), *self.store.notices(incident_id)]
        esc = self.config.escalation
        outside = sorted(
            {
                a
                for r in rows
                for a in json.loads(r.recipients or "[]")
                if in_domains(a, esc.responder_domains) or not in_domains(a, esc.internal_domains)
            }
        )
        self._step("internal only", not outside, f"to {', '.join(outside)}" if outside else f"{len(rows)} mails, ours")

    def _close(self, incident_id: int) -> None:
        failed = next((s.name for s in self.steps if not s.ok), None)
        note = f"drill over: failed at {failed}" if failed else "drill over: every step passed"
        try:
            ladder.resolve(self.store, self.config, incident_id, note, self.clock())
            self.say(f"drill incident {incident_id} resolved ({note})")
        except AgentError as e:
            self.say(f"drill incident {incident_id} not resolved: {e}")

    # -- waiting ------------------------------------------------------------------------------------------------
    def _patience(self) -> timedelta:
        """How long a mail may take to be seen: the slack, and a poll when another process reads the mailbox."""
        return self.slack + timedelta(seconds=0 if self.agent is not None else self.config.agent.poll_interval)

    def _wait(self, condition: Callable[[], Found | None], until: datetime) -> Found | None:
        while True:
            found = condition()
            if found or self.clock() >= until:
                return found
            if self.agent is not None:
                try:
                    self.agent.cycle()
                except AgentError as e:
                    self.say(f"       (the drill's cycle failed: {e})")
                pause = 1.0
                if self.agent.next_deadline is not None:
                    pause = min(pause, max(0.05, (self.agent.next_deadline - self.clock()).total_seconds()))
            else:
                pause = 0.2
            time.sleep(pause)

    def _escalation(self, incident_id: int, tier: Tier) -> EscalationRow | None:
        return self.store.escalation(incident_id, tier)
