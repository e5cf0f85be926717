"""Notices: mails to the partner's own people about their incident. At most one of each kind per
incident (the database's unique key), written to the outbox with its audit event."""

import json
import logging
from datetime import datetime

from agent import compose
from agent.config import Config
from agent.mail import in_domains
from agent.policy import Status
from agent.store import Store
from agent.times import from_iso, iso

log = logging.getLogger("agent.notices")


def original_of(row: dict) -> compose.Original:
    """The T1 of an incident row, as composition wants it."""
    return compose.Original(
        message_id=row["t1_message_id"], subject=row["subject"], sender=row["t1_sender"],
        recipients=tuple(json.loads(row["t1_recipients"])), references=tuple(row["t1_references"].split()),
        sent_at=from_iso(row["t1_sent_at"]), text=row["t1_text"], raw=row["t1_raw"])


def people(original: compose.Original, config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(To, Cc) of a notice: the T1's sender and internal recipients; the watched mailbox in Cc."""
    internal = config.escalation.internal_domains
    to = tuple(dict.fromkeys(a for a in (original.sender,) + original.recipients
                             if a and in_domains(a, internal) and a != config.imap.address))
    return to, (config.imap.address,)


def enqueue(store: Store, config: Config, incident_id: int, kind: str, subject: str, body: str,
            now: datetime, reason: str) -> int | None:
    """The notice's outbox row, once per (incident, kind); None when it was decided before."""
    if any(r["kind"] == kind for r in store.notice_rows(incident_id)):
        return None
    original = original_of(store.incident_row(incident_id))
    to, cc = people(original, config)
    if not to:
        store.event(now, "notice_skipped", f"notice '{kind}': no internal recipient to tell", incident_id, reason)
        return None
    message_id = compose.new_message_id(config.smtp.from_address)
    msg = compose.notice(original, subject, body, to=to, cc=cc, from_address=config.smtp.from_address,
                         message_id=message_id, now=now)
    with store.transaction():
        row_id = store.add_notice(dict(incident_id=incident_id, kind=kind, message_id=message_id,
                                       status=str(Status.PENDING), decided_at=iso(now),
                                       recipients=json.dumps([*to, *cc]), raw=msg.as_bytes()))
        store.event(now, "notice_decided", f"notice '{kind}' to {', '.join(to)}", incident_id, reason)
    log.info("notice decided incident=%s kind=%s message_id=%s", incident_id, kind, message_id)
    return row_id
