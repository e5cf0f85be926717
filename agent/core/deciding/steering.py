"""steer(incident, command, by, policy, now): what an engineer's command does to an incident, as effects. Pure.

A command by mail and its CLI twin go through here alike. Every command is answered: one short reply to its
sender says what was done and what happens next ("T2 on hold until 04:10:00 GMT"); a command that cannot
apply changes nothing and the reply says why in one line.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from agent.core.deciding.effect import CancelPending, Event, SetState, Steer
from agent.core.deciding.mail_commands import Command, Malformed, Verb
from agent.core.procedure.policy import Decision, Incident, Policy, Reason, State, Status, Steering, decide
from agent.core.sop import Tier
from agent.core.times import gmt


@dataclass(frozen=True)
class Reply:
    """The answer to the command's sender, threaded, the watched mailbox in Cc."""

    to: str
    subject: str
    body: str


SteerEffect = Steer | Reply | SetState | CancelPending | Event


def steer(
    incident: Incident, command: Command, by: str, policy: Policy, now: datetime, recent: tuple[str, ...] = ()
) -> list[SteerEffect]:
    """`recent`: the incident's last audit events, told in the answer to #status."""
    verb, note = command.verb, command.note
    said = f"#{verb}" + (f" {_span(command)}" if command.hold_for else "") + (f" ({note})" if note else "")
    refusal = _refusal(incident, command)
    if refusal:
        return [
            Event("command_refused", f"{said} from {by}: {refusal}", "changes nothing"),
            Reply(by, f"#{verb} not applied", f"Your {said} changed nothing: {refusal}."),
        ]
    out: list[SteerEffect] = []
    after = incident
    if verb == Verb.STOP:
        out += [
            SetState(State.RESOLVED, note=f"{said} by {by}", by=f"#{verb} from {by}"),
            CancelPending(f"stopped by {by}"),
            Event("resolved", f"resolved by {said} from {by}; was {incident.state}", "an engineer's command"),
        ]
        after = replace(incident, state=State.RESOLVED)
    elif verb == Verb.HOLD and command.hold_for is not None:
        steering = Steering(hold_until=now + command.hold_for, resumed_at=incident.steering.resumed_at)
        out.append(Steer(steering))
        after = replace(incident, steering=steering)
    elif verb == Verb.ESCALATE:
        steering = Steering(escalate_at=now, resumed_at=incident.steering.resumed_at)
        out.append(Steer(steering))
        after = replace(incident, steering=steering)
    elif verb == Verb.RESUME:
        steering = Steering(resumed_at=now)
        out += [SetState(State.AWAITING_RESPONSE, note=f"{said} by {by}"), Steer(steering)]
        after = replace(incident, state=State.AWAITING_RESPONSE, steering=steering)
    next_step = what_next(decide(after, policy, now), after)
    if verb == Verb.STATUS:
        next_step = f"{STATE_WORDS[incident.state]}; the highest tier contacted is {incident.tier.label}. {next_step}"
    out.append(Event("command", f"{said} from {by}", next_step))
    title = "status" if verb == Verb.STATUS else f"#{verb} done"
    told = f"{_done(verb, said)} {next_step}."
    if verb == Verb.STATUS and recent:
        told += "\n\nWhat happened last:\n" + "\n".join(f"- {line}" for line in recent)
    return out + [Reply(by, title, told)]


def refused(malformed: Malformed, by: str) -> list[SteerEffect]:
    """A line that reads as a command but is none."""
    return [
        Event("command_refused", f"{malformed.line!r} from {by}: {malformed.why}", "changes nothing"),
        Reply(by, "command not understood", f"Your line {malformed.line!r} changed nothing: {malformed.why}."),
    ]


STATE_WORDS = {
    State.AWAITING_RESPONSE: "awaiting the vendor's response",
    State.RESPONDED: "answered by the vendor",
    State.RESOLVED: "resolved",
    State.MISROUTED: "not for the urgent line",
    State.STALE: "older than max_incident_age when first seen, never escalated",
}


def what_next(d: Decision, incident: Incident) -> str:
    """The next step in one sentence, for the reply and the audit log."""
    if incident.state != State.AWAITING_RESPONSE:
        return f"The incident is {STATE_WORDS[incident.state]}: no tier is sent"
    if d.reason == Reason.FAILED:
        return "A tier was rejected for good by the mail server: escalate by hand"
    if d.due_at is None:
        return "Nothing more is due: every tier was contacted"
    target = d.tier or incident.next_tier
    what = target.label if target else "the every-tier-tried notice"
    if d.reason == Reason.HELD:
        return f"{what} on hold until {gmt(d.due_at)}"
    if d.send:
        return f"{what} goes now"
    return f"{what} due {gmt(d.due_at)}"


def _refusal(incident: Incident, command: Command) -> str | None:
    verb, state = command.verb, incident.state
    if verb == Verb.STATUS:
        return None
    if verb == Verb.RESUME:
        if state in (State.RESOLVED, State.RESPONDED):
            return None
        return f"the incident is {state}; #resume opens a resolved or responded one again"
    if verb == Verb.STOP and state == State.RESOLVED:
        return "the incident is already resolved"
    if state != State.AWAITING_RESPONSE and verb != Verb.STOP:
        return f"the incident is {state}, not awaiting a response"
    rejected = next((e.tier for e in incident.escalations if e.status == Status.FAILED), None)
    if verb in (Verb.HOLD, Verb.ESCALATE) and rejected is not None:
        return f"the {rejected.label} was rejected for good by the mail server; escalate by hand"
    if verb in (Verb.HOLD, Verb.ESCALATE) and incident.tier == Tier.T3:
        return f"every tier was contacted (T3 is the last); #{verb} has nothing left to act on"
    return None


def _span(command: Command) -> str:
    seconds = int(command.hold_for.total_seconds()) if command.hold_for else 0
    h, m = divmod(seconds // 60, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m" if m else f"{seconds}s"


def _done(verb: Verb, said: str) -> str:
    return {
        Verb.STOP: f"Done: {said}.",  # what_next says it is resolved
        Verb.HOLD: f"Done: {said}.",
        Verb.ESCALATE: f"Done: {said}.",
        Verb.RESUME: f"Done: {said}. The incident is open again.",
        Verb.STATUS: "The incident is",
    }[verb]
