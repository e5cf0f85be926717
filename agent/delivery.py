"""Outbox rows become sent mails, exactly once: recorded as sent only after the server accepted them,
and a row a crash left in `sending` is looked for in the mailbox before it is ever sent again."""

import email
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.compose import POLICY
from agent.errors import PermanentSendError, TransientSendError
from agent.outbox import Smtp
from agent.policy import Status
from agent.store import Store
from agent.times import from_iso, gmt, iso

log = logging.getLogger("agent.delivery")


def label(table: str, row: dict) -> str:
    return f"T{row['tier']}" if table == "escalations" else f"notice '{row['kind']}'"


def deliver(store: Store, smtp: Smtp, table: str, row_id: int, dry_run: bool,
            clock: Callable[[], datetime]) -> Status:
    """Send one pending outbox row. Every step is recorded before the next one starts."""
    row = store.outbox_row(table, row_id)
    incident_id, what = row["incident_id"], label(table, row)
    now = clock()
    if dry_run:
        with store.transaction():
            store.update_outbox(table, row_id, status=str(Status.DRY_RUN), sent_at=iso(now))
            store.event(now, "dry_run", f"{what} {row['message_id']} composed, not sent "
                        f"(escalation-agent show {incident_id} prints it)", incident_id, "dry_run = true")
        log.warning("dry run: %s not sent incident=%s message_id=%s\n%s", what, incident_id,
                    row["message_id"], row["raw"].decode("utf-8", "replace"))
        return Status.DRY_RUN
    attempt = row["attempts"] + 1
    with store.transaction():
        store.update_outbox(table, row_id, status=str(Status.SENDING), attempts=attempt, last_attempt_at=iso(now))
    # The policy it was composed with: email.policy.default would re-fold a long In-Reply-To or References
    # (an Exchange Message-ID) into an encoded word, and the escalation would leave the vendor's thread.
    msg = email.message_from_bytes(row["raw"], policy=POLICY)
    recipients = json.loads(row["recipients"])
    try:
        refused = smtp.send(msg, recipients)
    except TransientSendError as e:
        with store.transaction():
            store.update_outbox(table, row_id, status=str(Status.PENDING), last_error=str(e))
            store.event(clock(), "send_failed", f"{what} attempt {attempt}: {e}", incident_id,
                        "transient: retried next cycle")
        # The service logs the SMTP server's trouble once per change; the audit log has every attempt.
        log.debug("send failed, will retry incident=%s what=%s attempt=%s: %s", incident_id, what, attempt, e)
        return Status.PENDING
    except PermanentSendError as e:
        _fail(store, table, row_id, clock(), f"{what} attempt {attempt}: {e}", incident_id)
        return Status.FAILED
    accepted_at = clock()
    note = f"; refused: {', '.join(f'{a} ({w})' for a, w in refused.items())}" if refused else ""
    if recipients[0] in refused:  # the first recipient is the one the mail is for
        _fail(store, table, row_id, accepted_at, f"{what}: {recipients[0]} was refused{note}", incident_id)
        return Status.FAILED
    with store.transaction():
        store.update_outbox(table, row_id, status=str(Status.SENT), sent_at=iso(accepted_at), last_error=None)
        store.event(accepted_at, "sent", f"{what} {row['message_id']} accepted by {smtp.where} at "
                    f"{gmt(accepted_at)} (attempt {attempt}){note}", incident_id, "the SMTP server accepted it")
    log.info("sent incident=%s what=%s message_id=%s attempt=%s", incident_id, what, row["message_id"], attempt)
    return Status.SENT


def _fail(store: Store, table: str, row_id: int, at: datetime, detail: str, incident_id: int) -> None:
    with store.transaction():
        store.update_outbox(table, row_id, status=str(Status.FAILED), last_error=detail)
        store.event(at, "send_rejected", detail, incident_id, "permanent: not retried")
    log.error("send rejected incident=%s: %s", incident_id, detail)


def reconcile(store: Store, holds_message_id: Callable[[str], bool], now: datetime, grace: timedelta) -> None:
    """Rows a crash left in `sending`: sent if the mailbox holds their CC copy; else, once `grace` has
    passed (the server may have accepted it a moment before we died), pending again, same Message-ID."""
    for table in ("escalations", "notices"):
        for row in store.outbox_with_status(table, Status.SENDING):
            what = label(table, row)
            if holds_message_id(row["message_id"]):
                with store.transaction():
                    store.update_outbox(table, row["id"], status=str(Status.SENT), sent_at=row["last_attempt_at"],
                                        confirmed_at=iso(now))
                    store.event(now, "reconciled", f"{what} {row['message_id']} found in the mailbox",
                                row["incident_id"], "sent before a crash; not sent again")
            elif now - from_iso(row["last_attempt_at"]) >= grace:
                with store.transaction():
                    store.update_outbox(table, row["id"], status=str(Status.PENDING))
                    store.event(now, "reconciled", f"{what} {row['message_id']} not in the mailbox after "
                                f"{int(grace.total_seconds())}s", row["incident_id"],
                                "interrupted before the server accepted it; resent with the same Message-ID")
