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
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from agent.adapters import probes, selfwatch
from agent.adapters.rows import EscalationRow, OutboxRow
from agent.adapters.smtp import Smtp
from agent.adapters.store import Store
from agent.core.errors import PermanentSendError, TooLargeError, TransientSendError
from agent.core.procedure import probe
from agent.core.procedure.policy import Decision, Outgoing, Status
from agent.core.reading import provenance
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import from_iso, gmt, iso
from agent.core.writing import compose
from agent.engine import stamping
from agent.engine.originals import joined_of, original_of, steps

log = logging.getLogger("agent.outbox")


def label(kind: Outgoing, row: OutboxRow) -> str:
    if isinstance(row, EscalationRow):
        return Tier(row.tier).label
    return f"{'alarm' if kind == Outgoing.ALARM else 'notice'} '{row.kind}'"


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
    before = store.escalation(incident_id, tier)
    if before is not None and before.status != Status.CANCELLED:
        return before.id
    row = store.incident_record(incident_id)
    original = replace(original_of(row, store.message_size(row.t1_message_id)), joined=joined_of(store, incident_id))
    esc, drill = config.escalation, bool(row.drill)
    to = esc.tier_address(tier, drill)  # a drill incident climbs the drill's ladder, never the vendor's
    cc = compose.escalation_cc(original, esc.internal_domains, config.imap.address, exclude=(to,))
    message_id = before.message_id if before else compose.new_message_id(config.smtp.from_address)
    ladder = esc.drill if drill and esc.drill is not None else esc
    window = ladder.t2_after if tier == Tier.T2 else ladder.t3_after
    msg, fallback = compose.escalation_forms(
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
    fields = dict(
        message_id=message_id,
        status=str(Status.PENDING),
        decided_at=iso(now),
        due_at=iso(decision.due_at),
        recipients=json.dumps([to, *cc]),
        raw=msg.as_bytes(),
        smaller_raw=fallback.as_bytes() if fallback is not None else None,
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


# -- deliver ----------------------------------------------------------------------------------------
def deliver(
    store: Store,
    smtp: Smtp,
    kind: Outgoing,
    row_id: int,
    dry_run: bool,
    clock: Callable[[], datetime],
    member: str = "unknown",
    fence: Callable[[Outgoing, OutboxRow], Status | None] | None = None,
) -> Status:
    """Send one pending outbox row. Every step is recorded before the next one starts. `member`: who sends, for a row
    written without its provenance (by a version before it, or a writer that forgot). `fence` ([ha]), asked right
    before the send: None lets it go; else the row's status (still pending: not the lease holder; sent: another
    member's copy of it is in the mailbox, recorded by the fence)."""
    row = store.outbox_row(kind, row_id)
    incident_id, what = row.incident_id, label(kind, row)  # an alarm is about no incident
    now = clock()
    if row.status != Status.PENDING:
        return Status(row.status)
    row = stamping.stamped(store, kind, row, member)
    if fence is not None:
        held = fence(kind, row)
        if held is not None:
            return held
    # a pending row always holds its mail: only a tier sent by hand has none, and it is never pending
    assert row.raw is not None and row.recipients is not None
    raw = row.raw
    if dry_run:
        shown = f"escalation-agent show {incident_id} prints it" if incident_id else "kept in the alarms table"
        with store.transaction():
            store.update_outbox(kind, row_id, status=str(Status.DRY_RUN), sent_at=iso(now))
            store.event(
                now,
                "dry_run",
                f"{what} {row.message_id} composed, not sent ({shown})",
                incident_id,
                "dry_run = true",
            )
        log.warning(
            "dry run: %s not sent incident=%s message_id=%s\n%s",
            what,
            incident_id,
            row.message_id,
            raw.decode("utf-8", "replace"),
        )
        return Status.DRY_RUN
    attempt = row.attempts + 1
    with store.transaction():
        # Claimed only if still pending: a row another hand already took, or the engineer's own copy took the
        # place of, is never handed to the server from here.
        if not store.claim_outbox(kind, row_id, attempt, now):
            return Status(store.outbox_row(kind, row_id).status)
    # The policy it was composed with: email.policy.default would re-fold a long In-Reply-To or References
    # (an Exchange Message-ID) into an encoded word, and the mail would leave the vendor's thread.
    msg = email.message_from_bytes(raw, policy=compose.POLICY)
    recipients = json.loads(row.recipients)
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
    except TooLargeError as e:
        if isinstance(row, EscalationRow) and row.smaller_raw:
            return _smaller(
                store, smtp, row, row.smaller_raw, what, f"attempt {attempt}: {e}", dry_run, clock, member, fence
            )
        _fail(store, kind, row_id, clock(), f"{what} attempt {attempt}: {e}", incident_id)
        return Status.FAILED
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
            f"{what} {row.message_id} accepted by {smtp.where} at {gmt(accepted_at)} (attempt {attempt}){note}",
            incident_id,
            "the SMTP server accepted it",
        )
    log.info("sent incident=%s what=%s message_id=%s attempt=%s", incident_id, what, row.message_id, attempt)
    return Status.SENT


def _smaller(
    store: Store,
    smtp: Smtp,
    row: EscalationRow,
    smaller_raw: bytes,
    what: str,
    refusal: str,
    dry_run: bool,
    clock: Callable[[], datetime],
    member: str,
    fence: Callable[[Outgoing, OutboxRow], Status | None] | None,
) -> Status:
    """The server refused the escalation for its size: its smaller form (composed with it: the T1's header and text
    only, or no attachment) takes its place under the same Message-ID and is sent at once. Once: the smaller form has
    no smaller one."""
    smaller = email.message_from_bytes(smaller_raw, policy=compose.POLICY)
    with store.transaction():
        store.update_outbox(
            Outgoing.ESCALATION,
            row.id,
            status=str(Status.PENDING),
            raw=smaller_raw,
            smaller_raw=None,
            last_error=refusal,
        )
        store.event(
            clock(),
            "send_too_large",
            f"{what} {row.message_id} refused for its size ({refusal}); sent again at once in its smaller form "
            f"({compose.wire_size(smaller):,} bytes)",
            row.incident_id,
            "a size refusal: the T1's header and text only, or no attachment",
        )
    log.warning("escalation refused for its size, sending the smaller form incident=%s: %s", row.incident_id, refusal)
    # stamped and fenced like the first form: the lease may have run out while the server refused the large one
    return deliver(store, smtp, Outgoing.ESCALATION, row.id, dry_run, clock, member, fence)


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
            assert row.last_attempt_at is not None  # claim_outbox wrote it with `sending`
            if holds_message_id(row.message_id):
                with store.transaction():
                    store.update_outbox(
                        kind, row.id, status=str(Status.SENT), sent_at=row.last_attempt_at, confirmed_at=iso(now)
                    )
                    store.event(
                        now,
                        "reconciled",
                        f"{what} {row.message_id} found in the mailbox",
                        row.incident_id,
                        "sent before a crash; not sent again",
                    )
            elif now - from_iso(row.last_attempt_at) >= grace:
                with store.transaction():
                    store.update_outbox(kind, row.id, status=str(Status.PENDING))
                    store.event(
                        now,
                        "reconciled",
                        f"{what} {row.message_id} not in the mailbox after {int(grace.total_seconds())}s",
                        row.incident_id,
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
    # A crash came between acceptance and our record of it; or the database is older than the send (a backup taken
    # while the row was still pending, restored after it went out): the copy proves the server took it.
    if row.status in (Status.SENDING, Status.PENDING):
        fields.update(status=str(Status.SENT), sent_at=iso(sent_at))
    store.update_outbox(kind, row.id, **fields)
    store.event(
        now,
        "confirmed",
        f"{label(kind, row)} {row.message_id} seen in the watched mailbox"
        + (f" as {message_id} (a relay rewrote its Message-ID)" if rewritten else ""),
        row.incident_id,
        "the CC copy came back",
    )
