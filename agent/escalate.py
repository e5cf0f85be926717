"""Decisions become outbox rows; outbox rows become sent mails. Each step is safe to repeat after a crash."""

import email
import email.policy
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agent import compose
from agent.config import Config
from agent.errors import AgentError, PermanentSendError, TransientSendError
from agent.outbox import Smtp
from agent.policy import Decision, Policy, State, Status, decide
from agent.sop import Tier
from agent.store import Store
from agent.times import from_iso, gmt, iso

log = logging.getLogger("agent.escalate")

# A row left in `sending` by a crash is resent (same Message-ID) only when its CC copy has not shown up
# in the mailbox by then: the server may have accepted it a moment before we died.
SENDING_GRACE = timedelta(seconds=30)


def policy_of(config: Config) -> Policy:
    return Policy(config.escalation.t2_after, config.escalation.t3_after)


def decisions(store: Store, config: Config, now: datetime) -> dict[int, Decision]:
    """decide() for every incident still awaiting a response; each changed decision goes to the audit log."""
    policy = policy_of(config)
    out = {}
    for incident_id in store.open_incident_ids():
        d = decide(store.incident(incident_id), policy, now)
        out[incident_id] = d
        summary = f"{d.reason.name} tier={d.tier and d.tier.label} due={iso(d.due_at)}"
        if store.incident_row(incident_id)["last_decision"] != summary:
            with store.transaction():
                store.set_last_decision(incident_id, summary)
                if d.send:
                    what = f"send {d.tier.label} (due {gmt(d.due_at)})"
                else:
                    what = f"wait until {gmt(d.due_at)}" if d.due_at else "nothing to send"
                store.event(now, "decision", what, incident_id, d.reason.value)
    return out


def enqueue(store: Store, config: Config, incident_id: int, tier: Tier, decision: Decision, now: datetime) -> int:
    """The escalation's outbox row, with its Message-ID and the composed mail, written with its audit event."""
    existing = {r["tier"]: r for r in store.escalation_rows(incident_id)}
    if int(tier) in existing:
        return existing[int(tier)]["id"]
    row = store.incident_row(incident_id)
    original = compose.Original(
        message_id=row["t1_message_id"], subject=row["subject"], sender=row["t1_sender"],
        recipients=tuple(json.loads(row["t1_recipients"])), references=tuple(row["t1_references"].split()),
        sent_at=from_iso(row["t1_sent_at"]), text=row["t1_text"], raw=row["t1_raw"])
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
                             from_address=config.smtp.from_address, message_id=message_id, now=now)
    with store.transaction():
        escalation_id = store.add_escalation(dict(
            incident_id=incident_id, tier=int(tier), message_id=message_id, status=str(Status.PENDING),
            decided_at=iso(now), due_at=iso(decision.due_at), recipients=json.dumps([to, *cc]),
            raw=msg.as_bytes()))
        store.event(now, "escalation_decided", f"{tier.label} to {to}, Message-ID {message_id}",
                    incident_id, decision.reason.value)
    log.info("escalation decided incident=%s tier=%s message_id=%s", incident_id, tier.label, message_id)
    return escalation_id


def deliver(store: Store, smtp: Smtp, escalation_id: int, dry_run: bool, clock: Callable[[], datetime]) -> Status:
    """Send one pending escalation. Recorded as sent only after the SMTP server accepted it."""
    row = store.escalation_row(escalation_id)
    incident_id, label = row["incident_id"], f"T{row['tier']}"
    now = clock()
    if dry_run:
        with store.transaction():
            store.update_escalation(escalation_id, status=str(Status.DRY_RUN), sent_at=iso(now))
            store.event(now, "escalation_dry_run", f"{label} {row['message_id']} composed, not sent "
                        f"(escalation-agent show {incident_id} prints it)", incident_id, "dry_run = true")
        log.warning("dry run: %s not sent incident=%s message_id=%s\n%s", label, incident_id,
                    row["message_id"], row["raw"].decode("utf-8", "replace"))
        return Status.DRY_RUN
    attempt = row["attempts"] + 1
    with store.transaction():
        store.update_escalation(escalation_id, status=str(Status.SENDING), attempts=attempt,
                                last_attempt_at=iso(now))
    msg = email.message_from_bytes(row["raw"], policy=email.policy.default)
    recipients = json.loads(row["recipients"])
    try:
        refused = smtp.send(msg, recipients)
    except TransientSendError as e:
        with store.transaction():
            store.update_escalation(escalation_id, status=str(Status.PENDING), last_error=str(e))
            store.event(clock(), "send_failed", f"{label} attempt {attempt}: {e}", incident_id,
                        "transient: retried next cycle")
        log.warning("send failed, will retry incident=%s tier=%s attempt=%s: %s", incident_id, label, attempt, e)
        return Status.PENDING
    except PermanentSendError as e:
        with store.transaction():
            store.update_escalation(escalation_id, status=str(Status.FAILED), last_error=str(e))
            store.event(clock(), "send_rejected", f"{label} attempt {attempt}: {e}", incident_id,
                        "permanent: not retried")
        log.error("send rejected incident=%s tier=%s: %s", incident_id, label, e)
        return Status.FAILED
    accepted_at = clock()
    to = recipients[0]
    with store.transaction():
        note = f"; refused: {', '.join(f'{a} ({w})' for a, w in refused.items())}" if refused else ""
        if to in refused:
            store.update_escalation(escalation_id, status=str(Status.FAILED), last_error=f"{to} refused{note}")
            store.event(accepted_at, "send_rejected", f"{label}: the tier address was refused{note}",
                        incident_id, "permanent: not retried")
            return Status.FAILED
        store.update_escalation(escalation_id, status=str(Status.SENT), sent_at=iso(accepted_at),
                                last_error=None)
        store.event(accepted_at, "escalation_sent", f"{label} {row['message_id']} accepted by "
                    f"{smtp.where} at {gmt(accepted_at)} (attempt {attempt}){note}", incident_id,
                    "the SMTP server accepted it")
    log.info("escalation sent incident=%s tier=%s message_id=%s attempt=%s", incident_id, label,
             row["message_id"], attempt)
    return Status.SENT


def reconcile(store: Store, holds_message_id: Callable[[str], bool], now: datetime) -> None:
    """Rows a crash left in `sending`: sent if the mailbox holds their CC copy, else pending again."""
    for row in store.escalations_with_status(Status.SENDING):
        label = f"T{row['tier']}"
        if holds_message_id(row["message_id"]):
            with store.transaction():
                store.update_escalation(row["id"], status=str(Status.SENT),
                                        sent_at=row["last_attempt_at"], confirmed_at=iso(now))
                store.event(now, "escalation_reconciled", f"{label} {row['message_id']} found in the mailbox",
                            row["incident_id"], "sent before a crash; not sent again")
        elif now - from_iso(row["last_attempt_at"]) >= SENDING_GRACE:
            with store.transaction():
                store.update_escalation(row["id"], status=str(Status.PENDING))
                store.event(now, "escalation_reconciled", f"{label} {row['message_id']} not in the mailbox",
                            row["incident_id"], "interrupted before the server accepted it; resent with the same Message-ID")


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
