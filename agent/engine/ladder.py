"""The ladder over time: decide() for every open incident, with each changed decision in the audit log, and
the notices the ladder's own outcomes call for (a tier rejected for good, every tier tried)."""

import logging
from datetime import datetime

from agent.adapters.store import Store
from agent.core.deciding import consequences as effects
from agent.core.deciding import steering
from agent.core.deciding.effect import Event, StandDown
from agent.core.deciding.mail_commands import Command
from agent.core.errors import AgentError
from agent.core.procedure.policy import Decision, Outgoing, Policy, Reason, State, decide
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import gmt, iso, span
from agent.core.writing import notices
from agent.engine import enqueue, evidence, originals
from agent.engine.apply import apply

log = logging.getLogger("agent.escalate")


def policy_of(config: Config, drill: bool = False) -> Policy:
    """The ladder's windows: the [drill] ladder's for a drill incident."""
    return config.escalation.policy(drill)


def decisions(store: Store, config: Config, now: datetime) -> dict[int, Decision]:
    """decide() for every incident still awaiting a response; each changed decision goes to the audit log."""
    policy, drills = policy_of(config), policy_of(config, drill=True)
    out = {}
    for incident, last_decision in store.open_incidents():
        incident_id = incident.id
        if incident.drill and config.escalation.drill is None:
            # A drill left open (the drill was killed) after [drill] was removed: its ladder is gone, and it must
            # never climb the real one to the vendor.
            log.debug("drill incident=%s skipped: no [drill] ladder in the config", incident_id)
            continue
        d = decide(incident, drills if incident.drill else policy, now, evidence.hold(store, config, incident))
        out[incident_id] = d
        held = d.reason == Reason.API_ANSWERS  # its recheck moves with every probe: one event for the whole hold
        summary = f"{d.reason.name} tier={d.tier and d.tier.label} due={'next check' if held else iso(d.due_at)}"
        if last_decision != summary:
            with store.transaction():
                store.set_last_decision(incident_id, summary)
                if d.tier is not None and d.due_at is not None:
                    what = f"send {d.tier.label} (due {gmt(d.due_at)})"
                elif held:
                    what = "hold the next tier while the API answers again"
                else:
                    what = f"wait until {gmt(d.due_at)}" if d.due_at else "nothing to send"
                store.event(now, "decision", what, incident_id, d.reason.value)
    return out


def tell_rejected(
    store: Store, config: Config, incident_id: int, tier: Tier, escalation_id: int, now: datetime
) -> None:
    error = store.outbox_row(Outgoing.ESCALATION, escalation_id).last_error
    assert error is not None  # a rejection records the server's words
    subject, body = notices.rejected(tier, config.escalation.tier_address(tier), error)
    enqueue.notify(
        store,
        config,
        incident_id,
        f"rejected_{tier.label.lower()}",
        subject,
        body,
        now,
        "the SMTP server rejected it for good",
    )


def tell_exhausted(store: Store, config: Config, incident_id: int, now: datetime) -> None:
    subject, body = notices.exhausted(
        originals.steps(store, config, incident_id), span(config.escalation.exhausted_after)
    )
    enqueue.notify(store, config, incident_id, "exhausted", subject, body, now, "no response after every tier")


def steer_by_hand(store: Store, config: Config, incident_id: int, command: Command, now: datetime) -> str:
    """A command from the CLI (`hold`, `escalate`, `resume`): applied and recorded as the mail command would be,
    with no answer mail; returns what happens next, or raises AgentError with why it cannot apply."""
    incident = store.incident(incident_id)
    done = steering.steer(incident, command, "the command line", policy_of(config), now)
    refused = next((e for e in done if isinstance(e, Event) and e.kind == "command_refused"), None)
    if refused is not None:
        raise AgentError(refused.detail.split(": ", 1)[-1])
    events = [e for e in done if isinstance(e, Event) and e.kind == "command"]
    apply(store, config, incident_id, [e for e in done if not isinstance(e, steering.Reply)], now)
    log.info("incident steered by hand incident=%s command=%s", incident_id, command.verb)
    return events[0].reason or "done" if events else "done"


def resolve(store: Store, config: Config, incident_id: int, note: str, now: datetime) -> str | None:
    """Stop escalating by hand; pending escalations are cancelled. Recorded in the audit log. Returns what the tiers
    contacted are told, if anything (the stand-down: the running agent sends it)."""
    incident = store.incident(incident_id)
    if incident.state == State.RESOLVED:
        raise AgentError(f"incident {incident_id} is already resolved")
    note = " ".join(note.split())
    if not note:
        raise AgentError("--note must say why the incident is resolved")
    done = effects.resolution(incident, note, config, now)
    apply(store, config, incident_id, done, now)
    told = next((e for e in done if isinstance(e, StandDown)), None)
    if told is None:
        return None
    return f"{', '.join(t.label for t in told.tiers)} will be told: answered, no further action needed"
