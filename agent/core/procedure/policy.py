"""decide(incident, policy, now): the procedure's clock. Pure: no I/O, no clock of its own."""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.core.procedure.probe import Hold
from agent.core.sop import Tier


class State(enum.StrEnum):
    AWAITING_RESPONSE = "awaiting_response"
    RESPONDED = "responded"
    RESOLVED = "resolved"
    MISROUTED = "misrouted"
    STALE = "stale"  # already older than max_incident_age when first seen: recorded, never escalated


class Status(enum.StrEnum):
    """Where one escalation stands in the outbox."""

    PENDING = "pending"  # decided, not yet accepted by the SMTP server
    SENDING = "sending"  # handed to the SMTP server; outcome unknown until recorded
    SENT = "sent"  # accepted by the SMTP server
    MANUAL = "manual"  # an engineer sent it by hand
    DRY_RUN = "dry_run"  # composed and kept, not sent (dry_run = true)
    FAILED = "failed"  # rejected for good
    CANCELLED = "cancelled"  # decided, then a response or a hand resolve came before it was sent

    @property
    def done(self) -> bool:
        """The tier was contacted (or, in a dry run, would have been): its window starts."""
        return self in (Status.SENT, Status.MANUAL, Status.DRY_RUN)


class Outgoing(enum.StrEnum):
    """What an outbox row is: an escalation to the vendor (one per tier), a notice to our people (one per kind),
    or an alarm about the agent itself to ops_address (one of each kind per outage)."""

    ESCALATION = "escalation"
    NOTICE = "notice"
    ALARM = "alarm"


class Reason(enum.StrEnum):
    """Why decide() chose what it chose; recorded with every decision."""

    RESPONDED = "a response arrived"
    RESOLVED = "resolved by an engineer (#stop or escalation-agent resolve)"
    MISROUTED = "not for the urgent line"
    STALE = "too old when first seen"
    NOT_YET_DUE = "window still open"
    HELD = "on hold by an engineer's command"
    API_ANSWERS = "held: the API answers again (hold_on_recovery)"
    ASKED = "an engineer asked for the next tier now"
    T2_DUE = "no response within the T2 window"
    T3_DUE = "no response within the T3 window"
    RETRY = "escalation decided earlier, not yet accepted by the SMTP server"
    IN_FLIGHT = "escalation handed to the SMTP server, outcome unknown"
    FAILED = "escalation rejected for good"
    LADDER_DONE = "every tier contacted"
    EXHAUSTED = "no response after every tier: the internal recipients are told"


@dataclass(frozen=True)
class Escalation:
    tier: Tier
    status: Status
    sent_at: datetime | None
    message_id: str | None = None


@dataclass(frozen=True)
class Steering:
    """What engineers asked for by command (mail or CLI), which the clock honours."""

    hold_until: datetime | None = None  # the next escalation waits until then (when that is later than its deadline)
    escalate_at: datetime | None = None  # asked then for the next tier at once
    resumed_at: datetime | None = None  # opened again then: the next window runs from it


@dataclass(frozen=True)
class Incident:
    """What decide() needs to know of an incident."""

    id: int
    state: State
    t1_sent_at: datetime
    escalations: tuple[Escalation, ...] = ()
    notices: frozenset[str] = frozenset()  # kinds of notice already decided for this incident
    t1_message_id: str = ""
    steering: Steering = Steering()
    drill: bool = False  # a synthetic incident (`escalation-agent drill`): it climbs the [drill] ladder
    acknowledged_at: datetime | None = None  # when the vendor's case system sent its receipt (no person's answer)

    def escalation(self, tier: Tier) -> Escalation | None:
        return next((e for e in self.escalations if e.tier == tier), None)

    @property
    def tier(self) -> Tier:
        """The highest tier contacted."""
        return max((e.tier for e in self.escalations if e.status.done), default=Tier.T1)

    @property
    def next_tier(self) -> Tier | None:
        """The tier after the highest contacted; None once the T3 was."""
        return Tier(int(self.tier) + 1) if self.tier < Tier.T3 else None


@dataclass(frozen=True)
class Policy:
    t2_after: timedelta
    t3_after: timedelta
    exhausted_after: timedelta = timedelta(minutes=30)  # after the T3: tell our people every tier was tried


@dataclass(frozen=True)
class Decision:
    reason: Reason
    tier: Tier | None = None  # the tier to send now, when there is one
    due_at: datetime | None = None  # the next deadline, when one is running
    notice: str | None = None  # the kind of notice to send now, when there is one

    @property
    def send(self) -> bool:
        return self.tier is not None


_CLOSED = {
    State.RESPONDED: Reason.RESPONDED,
    State.RESOLVED: Reason.RESOLVED,
    State.MISROUTED: Reason.MISROUTED,
    State.STALE: Reason.STALE,
}


def decide(incident: Incident, policy: Policy, now: datetime, probe: Hold | None = None) -> Decision:
    """`probe`: the API answers again and [probe] hold_on_recovery is set: a tier that falls due waits (an engineer's
    #escalate does not), rechecked at the next probe."""
    if incident.state in _CLOSED:
        return Decision(_CLOSED[incident.state])
    t3 = incident.escalation(Tier.T3)
    if t3 is not None and t3.status.done:  # also when an engineer went straight to T3 by hand
        if "exhausted" in incident.notices or t3.sent_at is None:
            return Decision(Reason.LADDER_DONE)
        due_at = t3.sent_at + policy.exhausted_after
        if now >= due_at:
            return Decision(Reason.EXHAUSTED, due_at=due_at, notice="exhausted")
        return Decision(Reason.NOT_YET_DUE, due_at=due_at)
    started = incident.t1_sent_at
    steer = incident.steering
    for tier, window, due_reason in (
        (Tier.T2, policy.t2_after, Reason.T2_DUE),
        (Tier.T3, policy.t3_after, Reason.T3_DUE),
    ):
        due_at = max(started, steer.resumed_at or started) + window
        e = incident.escalation(tier)
        if e is None or e.status == Status.CANCELLED:  # never handed to the server: the tier is not contacted
            reason = due_reason
            if steer.escalate_at is not None and started <= steer.escalate_at < due_at:  # asked during this window
                due_at, reason = steer.escalate_at, Reason.ASKED
            waiting = Reason.NOT_YET_DUE
            if steer.hold_until is not None and due_at < steer.hold_until:
                due_at, reason, waiting = steer.hold_until, due_reason, Reason.HELD
            if now >= due_at:
                if probe is not None and reason != Reason.ASKED:
                    return Decision(Reason.API_ANSWERS, due_at=max(probe.recheck_at, now))
                return Decision(reason, tier, due_at)
            return Decision(waiting, due_at=due_at)
        if e.status == Status.PENDING:
            if steer.hold_until is not None and now < steer.hold_until:  # held while SMTP was still retrying
                return Decision(Reason.HELD, due_at=steer.hold_until)
            return Decision(Reason.RETRY, tier, due_at)
        if e.status == Status.SENDING:
            return Decision(Reason.IN_FLIGHT, due_at=due_at)
        if e.status == Status.FAILED:
            return Decision(Reason.FAILED)
        started = e.sent_at or due_at
    return Decision(Reason.LADDER_DONE)  # not reached: a T3 that is done returned above
