"""The outbox's rows written: every mail the agent is to send (an escalation, a notice, an alarm) is composed here,
stamped with its provenance and written as a pending row with its pre-assigned Message-ID, in the same transaction as
its audit event; and the rows a person's act changes (a tier sent by hand, pending escalations cancelled). Nothing is
sent from here: engine/outbox.py sends."""

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage

from agent.adapters import probes, selfwatch
from agent.adapters.store import Store
from agent.core.procedure import probe
from agent.core.procedure.policy import Decision, Outgoing, Status
from agent.core.reading import provenance
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import iso
from agent.core.writing import compose, escalation
from agent.engine import stamping
from agent.engine.originals import joined_of, original_of, steps

log = logging.getLogger("agent.outbox")


def escalate(
    store: Store,
    config: Config,
    incident_id: int,
    tier: Tier,
    decision: Decision,
    now: datetime,
    caveat: str | None = None,
) -> int:
    """The escalation's outbox row, with its Message-ID and the composed mail, written with its audit event.
    A row of this tier that was cancelled before it was ever sent (the incident was closed, then opened
    again) is composed anew under its own Message-ID; any other row stands as it is."""
    before = store.escalation(incident_id, tier)
    if before is not None and before.status != Status.CANCELLED:
        return before.id
    message_id = before.message_id if before else compose.new_message_id(config.smtp.from_address)
    mail = _tier_mail(store, config, incident_id, tier, message_id, now, caveat)
    fields = dict(
        message_id=message_id,
        status=str(Status.PENDING),
        decided_at=iso(now),
        due_at=iso(decision.due_at),
        recipients=json.dumps([mail.to, *mail.cc]),
        raw=mail.msg.as_bytes(),
        smaller_raw=mail.smaller.as_bytes() if mail.smaller is not None else None,
    )
    with store.transaction():
        if before is None:
            escalation_id = store.add_outbox(
                Outgoing.ESCALATION, dict(incident_id=incident_id, tier=int(tier), **fields)
            )
        else:
            escalation_id = before.id
            store.update_outbox(Outgoing.ESCALATION, escalation_id, last_error=None, **fields)
        store.event(
            now,
            "escalation_decided",
            f"{tier.label} to {mail.to}, Message-ID {message_id}",
            incident_id,
            decision.reason.value,
        )
    log.info("escalation decided incident=%s tier=%s message_id=%s", incident_id, tier.label, message_id)
    return escalation_id


@dataclass(frozen=True)
class TierMail:
    """A tier's mail as composed: the mail, its smaller form (sent if the server refuses the first for its size), and
    the tier's address with the people copied."""

    msg: EmailMessage
    smaller: EmailMessage | None
    to: str
    cc: tuple[str, ...]


def _tier_mail(
    store: Store,
    config: Config,
    incident_id: int,
    tier: Tier,
    message_id: str,
    now: datetime,
    caveat: str | None,
) -> TierMail:
    """The tier's mail composed from the incident's T1s and the rungs climbed so far, with the API check's evidence
    where there is a [probe], and stamped with its provenance."""
    row = store.incident_record(incident_id)
    original = replace(original_of(row, store.message_size(row.t1_message_id)), joined=joined_of(store, incident_id))
    esc, drill = config.escalation, bool(row.drill)
    to = esc.tier_address(tier, drill)  # a drill incident climbs the drill's ladder, never the vendor's
    cc = compose.escalation_cc(original, esc.internal_domains, config.imap.address, exclude=(to,))
    ladder = esc.drill if drill and esc.drill is not None else esc
    window = ladder.t2_after if tier == Tier.T2 else ladder.t3_after
    msg, smaller = escalation.escalation_forms(
        original,
        tier,
        steps(store, config, incident_id),
        window,
        to=to,
        cc=cc,
        from_address=config.smtp.from_address,
        message_id=message_id,
        now=now,
        caveat=caveat,
        # [probe]: the API check's runs since the T1, as evidence; without it the mail is as it always was
        api_check=probe.summarise(probes.since(store.db, original.sent_at)) if config.probe else None,
        attach_limit=esc.attach_limit,
        smaller=True,
    )
    stamping.stamp(msg, provenance.stamp(f"t{int(tier)}", original.message_id, config.agent.member))
    return TierMail(msg, smaller, to, cc)


def notify(
    store: Store,
    config: Config,
    incident_id: int,
    kind: str,
    subject: str,
    body: str,
    now: datetime,
    reason: str,
    to: tuple[str, ...] = (),
    answering: compose.Answered | None = None,
    about: str | None = None,
    verb: str | None = None,
) -> int | None:
    """The notice's outbox row, once per (incident, kind); None when it was decided before. `to`: the people it
    is for (an engineer's command is answered to its sender alone); else the incident's own people. `about`: the
    Message-ID of a T1 that joined the incident: the notice goes in that T1's thread and quotes it. `verb`: the
    command a `reply <Message-ID>` notice answers, for its provenance."""
    if any(r.kind == kind for r in store.notices(incident_id)):
        return None
    joined = joined_of(store, incident_id)
    first = replace(original_of(store.incident_record(incident_id)), joined=joined)
    original = next((j for j in joined if j.message_id == about), first)  # a joined T1's notice goes in its thread
    ours, cc = compose.notice_people(original, config.escalation.internal_domains, config.imap.address)
    to = to or ours
    if not to:
        store.event(now, "notice_skipped", f"notice '{kind}': no internal recipient to tell", incident_id, reason)
        return None
    message_id = compose.new_message_id(config.smtp.from_address)
    msg = compose.notice(
        original,
        subject,
        body,
        to=to,
        cc=cc,
        from_address=config.smtp.from_address,
        message_id=message_id,
        now=now,
        answering=answering,
    )
    stamped, command = provenance.of_notice(kind, verb)
    # the incident is its first T1's, whichever thread the notice goes in: adoption and the fence look for it there
    stamping.stamp(msg, provenance.stamp(stamped, first.message_id, config.agent.member, command, key=kind))
    return enqueue_notice(store, incident_id, kind, msg, (*to, *cc), now, f"notice '{kind}' to {', '.join(to)}", reason)


def enqueue_notice(
    store: Store,
    incident_id: int,
    kind: str,
    msg: EmailMessage,
    recipients: tuple[str, ...],
    now: datetime,
    detail: str,
    reason: str,
) -> int:
    """A notice row, pending, with its audit event: the first recipient is the one the mail is for."""
    message_id = str(msg["Message-ID"])
    with store.transaction():
        row_id = store.add_outbox(
            Outgoing.NOTICE,
            dict(
                incident_id=incident_id,
                kind=kind,
                message_id=message_id,
                status=str(Status.PENDING),
                decided_at=iso(now),
                recipients=json.dumps(list(recipients)),
                raw=msg.as_bytes(),
            ),
        )
        store.event(now, "notice_decided", detail, incident_id, reason)
    log.info("notice decided incident=%s kind=%s message_id=%s", incident_id, kind, message_id)
    return row_id


def alarm(
    store: Store,
    config: Config,
    kind: str,
    outage: datetime,
    subject: str,
    body: str,
    detail: str,
    now: datetime,
    reason: str | None = None,
) -> int | None:
    """An alarm about the agent itself ("blind", "sight") to ops_address, once per (kind, outage), written with its
    audit event (of the alarm's kind, about no incident). None when it was decided before, or nobody is to be told."""
    to = config.agent.ops_address
    if not to:
        return None
    if selfwatch.has_alarm(store, kind, outage):
        return None
    message_id = compose.new_message_id(config.smtp.from_address)
    cc = tuple(a for a in (config.imap.address,) if a.lower() != to.lower())  # its copy confirms the send
    msg = compose.alarm(
        subject, body, to=(to,), cc=cc, from_address=config.smtp.from_address, message_id=message_id, now=now
    )
    stamping.stamp(msg, provenance.stamp(f"alarm-{kind}", None, config.agent.member))
    with store.transaction():
        row_id = store.add_outbox(
            Outgoing.ALARM,
            dict(
                kind=kind,
                outage=iso(outage),
                reason=reason,
                message_id=message_id,
                status=str(Status.PENDING),
                decided_at=iso(now),
                recipients=json.dumps([to, *cc]),
                raw=msg.as_bytes(),
            ),
        )
        store.event(now, kind, detail, None, f"alarm to {to}")
    log.warning("alarm decided kind=%s to=%s message_id=%s: %s", kind, to, message_id, detail)
    return row_id


def record_by_hand(
    store: Store, incident_id: int, tier: Tier, message_id: str, sent_at: datetime, now: datetime
) -> None:
    """A tier an engineer sent by hand. Our own row of that tier, if it was never handed to the server
    (pending or cancelled), becomes the hand-sent one: the tier counts as sent, and its window runs from it."""
    fields = dict(message_id=message_id, status=str(Status.MANUAL), sent_at=iso(sent_at), confirmed_at=iso(now))
    ours = store.outbox_with_status(Outgoing.ESCALATION, Status.PENDING, Status.CANCELLED, incident_id=incident_id)
    row = next((r for r in ours if r.tier == int(tier)), None)
    if row is None:
        store.add_outbox(
            Outgoing.ESCALATION, dict(incident_id=incident_id, tier=int(tier), decided_at=iso(now), **fields)
        )
    else:
        store.update_outbox(
            Outgoing.ESCALATION, row.id, last_error=f"not sent: sent by hand first ({row.message_id})", **fields
        )


def cancel_pending(store: Store, incident_id: int, why: str | None = None, tier: Tier | None = None) -> None:
    """Pending escalations of the incident (of one tier, or all) will not be sent."""
    for row in store.outbox_with_status(Outgoing.ESCALATION, Status.PENDING, incident_id=incident_id):
        if tier is None or row.tier == int(tier):
            fields: dict = {"status": str(Status.CANCELLED)}
            if why:
                fields["last_error"] = why
            store.update_outbox(Outgoing.ESCALATION, row.id, **fields)
