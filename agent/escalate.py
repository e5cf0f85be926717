"""Decisions become outbox rows, each written with its audit event; safe to repeat after a crash."""

import json
import logging
from datetime import datetime

from agent import compose, notices
from agent.config import Config
from agent.errors import AgentError
from agent.policy import Decision, Policy, State, Status, decide
from agent.sop import Tier
from agent.store import Store
from agent.times import from_iso, gmt, iso

log = logging.getLogger("agent.escalate")

def policy_of(config: Config) -> Policy:
    return Policy(config.escalation.t2_after, config.escalation.t3_after, config.escalation.exhausted_after)


def decisions(store: Store, config: Config, now: datetime) -> dict[int, Decision]:
    """decide() for every incident still awaiting a response; each changed decision goes to the audit log."""
    policy = policy_of(config)
    out = {}
    for incident, last_decision in store.open_incidents():
        incident_id = incident.id
        d = decide(incident, policy, now)
        out[incident_id] = d
        summary = f"{d.reason.name} tier={d.tier and d.tier.label} due={iso(d.due_at)}"
        if last_decision != summary:
            with store.transaction():
                store.set_last_decision(incident_id, summary)
                if d.send:
                    what = f"send {d.tier.label} (due {gmt(d.due_at)})"
                else:
                    what = f"wait until {gmt(d.due_at)}" if d.due_at else "nothing to send"
                store.event(now, "decision", what, incident_id, d.reason.value)
    return out


def enqueue(store: Store, config: Config, incident_id: int, tier: Tier, decision: Decision, now: datetime,
            caveat: str | None = None) -> int:
    """The escalation's outbox row, with its Message-ID and the composed mail, written with its audit event."""
    existing = {r["tier"]: r for r in store.escalation_rows(incident_id)}
    if int(tier) in existing:
        return existing[int(tier)]["id"]
    original = notices.original_of(store.incident_row(incident_id))
    esc = config.escalation
    steps = [compose.Step(Tier.T1, esc.t1_address, original.sent_at, original.message_id)]
    for r in existing.values():
        if Status(r["status"]).done:
            steps.append(compose.Step(Tier(r["tier"]), esc.tier_address(Tier(r["tier"])),
                                      from_iso(r["sent_at"]), r["message_id"]))
    to = esc.tier_address(tier)
    cc = compose.escalation_cc(original, esc.internal_domains, config.imap.address, exclude=(to,))
    message_id = compose.new_message_id(config.smtp.from_address)
    window = esc.t2_after if tier == Tier.T2 else esc.t3_after
    msg = compose.escalation(original, tier, tuple(steps), window, to=to, cc=cc,
                             from_address=config.smtp.from_address, message_id=message_id, now=now,
                             caveat=caveat)
    with store.transaction():
        escalation_id = store.add_escalation(dict(
            incident_id=incident_id, tier=int(tier), message_id=message_id, status=str(Status.PENDING),
            decided_at=iso(now), due_at=iso(decision.due_at), recipients=json.dumps([to, *cc]),
            raw=msg.as_bytes()))
        store.event(now, "escalation_decided", f"{tier.label} to {to}, Message-ID {message_id}",
                    incident_id, decision.reason.value)
    log.info("escalation decided incident=%s tier=%s message_id=%s", incident_id, tier.label, message_id)
    return escalation_id


def resolve(store: Store, incident_id: int, note: str, now: datetime) -> None:
    """Stop escalating by hand; pending escalations are cancelled. Recorded in the audit log."""
    row = store.incident_row(incident_id)
    if row["state"] == State.RESOLVED:
        raise AgentError(f"incident {incident_id} is already resolved")
    note = " ".join(note.split())
    if not note:
        raise AgentError("--note must say why the incident is resolved")
    with store.transaction():
        store.set_state(incident_id, State.RESOLVED, now, note=note)
        for esc in store.escalation_rows(incident_id):
            if esc["status"] == Status.PENDING:
                store.update_escalation(esc["id"], status=str(Status.CANCELLED), last_error="resolved by hand")
        store.event(now, "resolved", f"was {row['state']}: {note}", incident_id, "resolved by hand")
    log.info("incident resolved by hand incident=%s", incident_id)
