"""The one outbox: every mail the agent sends, escalation or notice, is enqueued, delivered, reconciled
after a crash, confirmed by its CC copy, or cancelled here and nowhere else.

A row is written with its pre-assigned Message-ID and the composed mail in the same transaction as the
decision that made it; it counts as sent only after the SMTP server accepted it; a row that a crash left
in `sending` is looked for in the mailbox before it is ever sent again, and resent with the same Message-ID.
"""

import email
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.adapters.smtp import Smtp
from agent.adapters.store import Store
from agent.core import compose, items, provenance
from agent.core.errors import PermanentSendError, TransientSendError
from agent.core.policy import Decision, Outgoing, Status
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import from_iso, gmt, iso
from agent.engine.lease import member_of

log = logging.getLogger("agent.outbox")


def label(kind: Outgoing, row: dict) -> str:
    if kind == Outgoing.ESCALATION:
        return Tier(row["tier"]).label
    return f"{'alarm' if kind == Outgoing.ALARM else 'notice'} '{row['kind']}'"


def original_of(row: dict) -> compose.Original:
    """The T1 of an incident row, as composition wants it, with its SOP items in the SOP's order."""
    found = json.loads(row["items"] or "{}")
    return compose.Original(
        message_id=row["t1_message_id"],
        subject=row["subject"],
        sender=row["t1_sender"],
        recipients=tuple(json.loads(row["t1_recipients"])),
        references=tuple(row["t1_references"].split()),
        sent_at=from_iso(row["t1_sent_at"]),
        text=row["t1_text"],
        raw=row["t1_raw"],
        items=tuple((item.label, found[item.key]) for item in items.ITEMS if item.key in found),
    )


def steps(store: Store, config: Config, incident_id: int) -> tuple[compose.Step, ...]:
    """The rungs climbed so far: the T1, then every tier contacted (sent, by hand, or in a dry run). A drill
    incident's rungs are the drill ladder's."""
    row = store.incident_row(incident_id)
    esc, drill = config.escalation, bool(row.get("drill"))
    out = [compose.Step(Tier.T1, esc.tier_address(Tier.T1, drill), from_iso(row["t1_sent_at"]), row["t1_message_id"])]
    for e in store.escalation_rows(incident_id):
        status = Status(e["status"])
        if status.done:
            tier = Tier(e["tier"])
            address = esc.tier_address(tier, drill)
            out.append(compose.Step(tier, address, from_iso(e["sent_at"]), e["message_id"], status))
    return tuple(out)


# -- enqueue ----------------------------------------------------------------------------------------
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
    before = next((r for r in store.escalation_rows(incident_id) if r["tier"] == int(tier)), None)
    if before is not None and before["status"] != Status.CANCELLED:
        return int(before["id"])
    row = store.incident_row(incident_id)
    original = original_of(row)
    esc, drill = config.escalation, bool(row.get("drill"))
    to = esc.tier_address(tier, drill)  # a drill incident climbs the drill's ladder, never the vendor's
    cc = compose.escalation_cc(original, esc.internal_domains, config.imap.address, exclude=(to,))
    message_id = before["message_id"] if before else compose.new_message_id(config.smtp.from_address)
    ladder = esc.drill if drill and esc.drill is not None else esc
    window = ladder.t2_after if tier == Tier.T2 else ladder.t3_after
    msg = compose.escalation(
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
    )
    msg[provenance.HEADER] = provenance.stamp(f"t{int(tier)}", original.message_id, member_of(config))
    fields = dict(
        message_id=message_id,
        status=str(Status.PENDING),
        decided_at=iso(now),
        due_at=iso(decision.due_at),
        recipients=json.dumps([to, *cc]),
        raw=msg.as_bytes(),
    )
    with store.transaction():
        if before is None:
            escalation_id = store.add_outbox(
                Outgoing.ESCALATION, dict(incident_id=incident_id, tier=int(tier), **fields)
            )
        else:
            escalation_id = int(before["id"])
            store.update_outbox(Outgoing.ESCALATION, escalation_id, last_error=None, **fields)
        store.event(
            now,
            "escalation_decided",
            f"{tier.label} to {to}, Message-ID {message_id}",
            incident_id,
            decision.reason.value,
        )
    log.info("escalation decided incident=%s tier=%s message_id=%s", incident_id, tier.label, message_id)
    return escalation_id


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
) -> int | None:
    """The notice's outbox row, once per (incident, kind); None when it was decided before. `to`: the people it
    is for (an engineer's command is answered to its sender alone); else the incident's own people."""
    if any(r["kind"] == kind for r in store.notice_rows(incident_id)):
        return None
    original = original_of(store.incident_row(incident_id))
    ours, cc = compose.notice_people(original, config.escalation.internal_domains, config.imap.address)
    to = to or ours
    if not to:
        store.event(now, "notice_skipped", f"notice '{kind}': no internal recipient to tell", incident_id, reason)
        return None
    message_id = compose.new_message_id(config.smtp.from_address)
    msg = compose.notice(
        original, subject, body, to=to, cc=cc, from_address=config.smtp.from_address, message_id=message_id, now=now
    )
    msg[provenance.HEADER] = provenance.stamp(f"notice-{kind}", original.message_id, member_of(config))
    with store.transaction():
        row_id = store.add_outbox(
            Outgoing.NOTICE,
            dict(
                incident_id=incident_id,
                kind=kind,
                message_id=message_id,
                status=str(Status.PENDING),
                decided_at=iso(now),
                recipients=json.dumps([*to, *cc]),
                raw=msg.as_bytes(),
            ),
        )
        store.event(now, "notice_decided", f"notice '{kind}' to {', '.join(to)}", incident_id, reason)
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
    if store.db.execute("SELECT 1 FROM alarms WHERE kind = ? AND outage = ?", [kind, iso(outage)]).fetchone():
        return None
    message_id = compose.new_message_id(config.smtp.from_address)
    cc = tuple(a for a in (config.imap.address,) if a.lower() != to.lower())  # its copy confirms the send
    msg = compose.alarm(
        subject, body, to=(to,), cc=cc, from_address=config.smtp.from_address, message_id=message_id, now=now
    )
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
    row = next((r for r in ours if r["tier"] == int(tier)), None)
    if row is None:
        store.add_outbox(
            Outgoing.ESCALATION, dict(incident_id=incident_id, tier=int(tier), decided_at=iso(now), **fields)
        )
    else:
        store.update_outbox(
            Outgoing.ESCALATION, row["id"], last_error=f"not sent: sent by hand first ({row['message_id']})", **fields
        )


def cancel_pending(store: Store, incident_id: int, why: str | None = None, tier: Tier | None = None) -> None:
    """Pending escalations of the incident (of one tier, or all) will not be sent."""
    for row in store.outbox_with_status(Outgoing.ESCALATION, Status.PENDING, incident_id=incident_id):
        if tier is None or row["tier"] == int(tier):
            fields: dict = {"status": str(Status.CANCELLED)}
            if why:
                fields["last_error"] = why
            store.update_outbox(Outgoing.ESCALATION, row["id"], **fields)


# -- deliver ----------------------------------------------------------------------------------------
def deliver(
    store: Store,
    smtp: Smtp,
    kind: Outgoing,
    row_id: int,
    dry_run: bool,
    clock: Callable[[], datetime],
    fence: Callable[[Outgoing, dict], Status | None] | None = None,
) -> Status:
    """Send one pending outbox row. Every step is recorded before the next one starts. `fence` ([ha]), asked right
    before the send: None lets it go; else the row's status (still pending: not the lease holder; sent: another
    member's copy of it is in the mailbox, recorded by the fence)."""
    row = store.outbox_row(kind, row_id)
    incident_id, what = row.get("incident_id"), label(kind, row)  # an alarm is about no incident
    now = clock()
    if row["status"] != Status.PENDING:
        return Status(row["status"])
    if fence is not None:
        held = fence(kind, row)
        if held is not None:
            return held
    if dry_run:
        shown = f"escalation-agent show {incident_id} prints it" if incident_id else "kept in the alarms table"
        with store.transaction():
            store.update_outbox(kind, row_id, status=str(Status.DRY_RUN), sent_at=iso(now))
            store.event(
                now,
                "dry_run",
                f"{what} {row['message_id']} composed, not sent ({shown})",
                incident_id,
                "dry_run = true",
            )
        log.warning(
            "dry run: %s not sent incident=%s message_id=%s\n%s",
            what,
            incident_id,
            row["message_id"],
            row["raw"].decode("utf-8", "replace"),
        )
        return Status.DRY_RUN
    attempt = row["attempts"] + 1
    with store.transaction():
        # Claimed only if still pending: a row another hand already took, or the engineer's own copy took the
        # place of, is never handed to the server from here.
        if not store.claim_outbox(kind, row_id, attempt, now):
            return Status(store.outbox_row(kind, row_id)["status"])
    # The policy it was composed with: email.policy.default would re-fold a long In-Reply-To or References
    # (an Exchange Message-ID) into an encoded word, and the mail would leave the vendor's thread.
    msg = email.message_from_bytes(row["raw"], policy=compose.POLICY)
    recipients = json.loads(row["recipients"])
    try:
        refused = smtp.send(msg, recipients)
    except TransientSendError as e:
        with store.transaction():
            store.update_outbox(kind, row_id, status=str(Status.PENDING), last_error=str(e))
            store.event(
                clock(), "send_failed", f"{what} attempt {attempt}: {e}", incident_id, "transient: retried next cycle"
            )
        # The service logs the SMTP server's trouble once per change; the audit log has every attempt.
        log.debug("send failed, will retry incident=%s what=%s attempt=%s: %s", incident_id, what, attempt, e)
        return Status.PENDING
    except PermanentSendError as e:
        _fail(store, kind, row_id, clock(), f"{what} attempt {attempt}: {e}", incident_id)
        return Status.FAILED
    accepted_at = clock()
    note = f"; refused: {', '.join(f'{a} ({w})' for a, w in refused.items())}" if refused else ""
    if recipients[0] in refused:  # the first recipient is the one the mail is for
        _fail(store, kind, row_id, accepted_at, f"{what}: {recipients[0]} was refused{note}", incident_id)
        return Status.FAILED
    with store.transaction():
        store.update_outbox(kind, row_id, status=str(Status.SENT), sent_at=iso(accepted_at), last_error=None)
        store.event(
            accepted_at,
            "sent",
            f"{what} {row['message_id']} accepted by {smtp.where} at {gmt(accepted_at)} (attempt {attempt}){note}",
            incident_id,
            "the SMTP server accepted it",
        )
    log.info("sent incident=%s what=%s message_id=%s attempt=%s", incident_id, what, row["message_id"], attempt)
    return Status.SENT


def _fail(store: Store, kind: Outgoing, row_id: int, at: datetime, detail: str, incident_id: int | None) -> None:
    with store.transaction():
        store.update_outbox(kind, row_id, status=str(Status.FAILED), last_error=detail)
        store.event(at, "send_rejected", detail, incident_id, "permanent: not retried")
    log.error("send rejected incident=%s: %s", incident_id, detail)


# -- after the send: the CC copy, or a crash ---------------------------------------------------------
def in_doubt(store: Store) -> bool:
    """Is any row in `sending`: handed to the server by a process that did not live to record the answer?"""
    return any(store.outbox_with_status(kind, Status.SENDING) for kind in Outgoing)


def reconcile(store: Store, holds_message_id: Callable[[str], bool], now: datetime, grace: timedelta) -> None:
    """Rows a crash left in `sending`: sent if the mailbox holds their CC copy; else, once `grace` has
    passed (the server may have accepted it a moment before we died), pending again, same Message-ID."""
    for kind in Outgoing:
        for row in store.outbox_with_status(kind, Status.SENDING):
            what = label(kind, row)
            if holds_message_id(row["message_id"]):
                with store.transaction():
                    store.update_outbox(
                        kind, row["id"], status=str(Status.SENT), sent_at=row["last_attempt_at"], confirmed_at=iso(now)
                    )
                    store.event(
                        now,
                        "reconciled",
                        f"{what} {row['message_id']} found in the mailbox",
                        row.get("incident_id"),
                        "sent before a crash; not sent again",
                    )
            elif now - from_iso(row["last_attempt_at"]) >= grace:
                with store.transaction():
                    store.update_outbox(kind, row["id"], status=str(Status.PENDING))
                    store.event(
                        now,
                        "reconciled",
                        f"{what} {row['message_id']} not in the mailbox after {int(grace.total_seconds())}s",
                        row.get("incident_id"),
                        "interrupted before the server accepted it; resent with the same Message-ID",
                    )


def confirm(
    store: Store, message_id: str, sent_at: datetime, now: datetime, original_message_id: str | None = None
) -> None:
    """Our mail came back through the watched mailbox's CC: the send is confirmed. A relay (Outlook.com, Gmail) may
    have replaced our Message-ID on the way and kept ours as `original_message_id`: that copy is ours too."""
    found = store.outbox_by_message_id(message_id)
    rewritten = False
    if found is None and original_message_id is not None:
        found, rewritten = store.outbox_by_message_id(original_message_id), True
    if found is None:
        return
    kind, row = found
    fields = dict(confirmed_at=iso(now))
    if row["status"] == Status.SENDING:  # a crash came between acceptance and our record of it
        fields.update(status=str(Status.SENT), sent_at=iso(sent_at))
    store.update_outbox(kind, row["id"], **fields)
    store.event(
        now,
        "confirmed",
        f"{label(kind, row)} {row['message_id']} seen in the watched mailbox"
        + (f" as {message_id} (a relay rewrote its Message-ID)" if rewritten else ""),
        row.get("incident_id"),
        "the CC copy came back",
    )
