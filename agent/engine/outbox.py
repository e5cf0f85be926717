"""The one outbox's sending: every mail the agent sends, escalation, notice or alarm, is delivered, reconciled after a
crash, or confirmed by its CC copy here and nowhere else; engine/enqueue.py writes the rows it sends.

A row counts as sent only after the SMTP server accepted it; a row that a crash left in `sending` is looked for in the
mailbox before it is ever sent again, and resent with the same Message-ID.
"""

import email
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.adapters.rows import EscalationRow, OutboxRow
from agent.adapters.smtp import Smtp
from agent.adapters.store import Store
from agent.core.errors import PermanentSendError, TooLargeError, TransientSendError
from agent.core.procedure.policy import Outgoing, Status
from agent.core.reading.provenance import Provenance
from agent.core.sop import Tier
from agent.core.times import from_iso, gmt, iso
from agent.core.writing import compose
from agent.engine import stamping

log = logging.getLogger("agent.outbox")


def label(kind: Outgoing, row: OutboxRow) -> str:
    if isinstance(row, EscalationRow):
        return Tier(row.tier).label
    return f"{'alarm' if kind == Outgoing.ALARM else 'notice'} '{row.kind}'"


Fence = Callable[[Outgoing, OutboxRow, Provenance | None], Status | None]
"""[ha]: asked right before a send with the row and the stamp its mail carries (engine/standby.py `Standby.fence`)."""


# -- deliver ----------------------------------------------------------------------------------------
def deliver(
    store: Store,
    smtp: Smtp,
    kind: Outgoing,
    row_id: int,
    dry_run: bool,
    clock: Callable[[], datetime],
    member: str = "unknown",
    fence: Fence | None = None,
) -> Status:
    """Send one pending outbox row. Every step is recorded before the next one starts. `member`: who sends, for a row
    written without its provenance (by a version before it, or a writer that forgot). `fence` ([ha]), asked right
    before the send with the stamp the mail carries: None lets it go; else the row's status (still pending: not the
    lease holder; sent: another member's copy of it is in the mailbox, recorded by the fence)."""
    row = store.outbox_row(kind, row_id)
    what = label(kind, row)
    now = clock()
    if row.status != Status.PENDING:
        return Status(row.status)
    row, msg = stamping.stamped(store, kind, row, member)
    if fence is not None:
        held = fence(kind, row, stamping.provenance_of(msg))
        if held is not None:
            return held
    if dry_run:
        return _dry_run(store, kind, row, what, now)
    attempt = row.attempts + 1
    with store.transaction():
        # Claimed only if still pending: a row another hand already took, or the engineer's own copy took the
        # place of, is never handed to the server from here.
        if not store.claim_outbox(kind, row_id, attempt, now):
            return Status(store.outbox_row(kind, row_id).status)
    assert row.recipients is not None  # written with its mail: only a tier sent by hand has none, never pending
    recipients = json.loads(row.recipients)
    try:
        refused = smtp.send(msg, recipients)
    except TransientSendError as e:
        return _retry_later(store, kind, row, what, attempt, e, clock())
    except TooLargeError as e:
        if isinstance(row, EscalationRow) and row.smaller_raw:
            return _smaller(
                store, smtp, row, row.smaller_raw, what, f"attempt {attempt}: {e}", dry_run, clock, member, fence
            )
        _fail(store, kind, row_id, clock(), f"{what} attempt {attempt}: {e}", row.incident_id)
        return Status.FAILED
    except PermanentSendError as e:
        _fail(store, kind, row_id, clock(), f"{what} attempt {attempt}: {e}", row.incident_id)
        return Status.FAILED
    return _accepted(store, smtp.where, kind, row, what, attempt, recipients, refused, clock())


def _dry_run(store: Store, kind: Outgoing, row: OutboxRow, what: str, now: datetime) -> Status:
    """dry_run = true: the row is recorded as composed and not sent, and its mail is logged whole."""
    incident_id = row.incident_id  # an alarm is about no incident
    shown = f"escalation-agent show {incident_id} prints it" if incident_id else "kept in the alarms table"
    with store.transaction():
        store.update_outbox(kind, row.id, status=str(Status.DRY_RUN), sent_at=iso(now))
        store.event(
            now,
            "dry_run",
            f"{what} {row.message_id} composed, not sent ({shown})",
            incident_id,
            "dry_run = true",
        )
    assert row.raw is not None  # as `stamping.stamped` holds
    log.warning(
        "dry run: %s not sent incident=%s message_id=%s\n%s",
        what,
        incident_id,
        row.message_id,
        row.raw.decode("utf-8", "replace"),
    )
    return Status.DRY_RUN


def _retry_later(
    store: Store, kind: Outgoing, row: OutboxRow, what: str, attempt: int, error: TransientSendError, at: datetime
) -> Status:
    """A transient failure (the server unreachable, a 4xx): the row is pending again, tried next cycle."""
    with store.transaction():
        store.update_outbox(kind, row.id, status=str(Status.PENDING), last_error=str(error))
        store.event(
            at, "send_failed", f"{what} attempt {attempt}: {error}", row.incident_id, "transient: retried next cycle"
        )
    # The service logs the SMTP server's trouble once per change; the audit log has every attempt.
    log.debug("send failed, will retry incident=%s what=%s attempt=%s: %s", row.incident_id, what, attempt, error)
    return Status.PENDING


def _accepted(
    store: Store,
    where: str,
    kind: Outgoing,
    row: OutboxRow,
    what: str,
    attempt: int,
    recipients: list[str],
    refused: dict[str, str],
    accepted_at: datetime,
) -> Status:
    """The server took the mail: sent, unless it refused the one recipient the mail is for (the first)."""
    note = f"; refused: {', '.join(f'{a} ({w})' for a, w in refused.items())}" if refused else ""
    if recipients[0] in refused:
        _fail(store, kind, row.id, accepted_at, f"{what}: {recipients[0]} was refused{note}", row.incident_id)
        return Status.FAILED
    with store.transaction():
        store.update_outbox(kind, row.id, status=str(Status.SENT), sent_at=iso(accepted_at), last_error=None)
        store.event(
            accepted_at,
            "sent",
            f"{what} {row.message_id} accepted by {where} at {gmt(accepted_at)} (attempt {attempt}){note}",
            row.incident_id,
            "the SMTP server accepted it",
        )
    log.info("sent incident=%s what=%s message_id=%s attempt=%s", row.incident_id, what, row.message_id, attempt)
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
    fence: Fence | None,
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
