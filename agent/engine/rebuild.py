"""The record rebuilt from the mailbox: a send of the agent's found there, that this database did not know (an
empty, lost or older database; another member's send), becomes the outbox row it stands for (core/deciding/adoption.py
decides whether it is ours). Nothing is sent from here: only engine/outbox.py sends."""

import json
import logging
from datetime import datetime

from agent.adapters.rows import EscalationRow, NoticeRow
from agent.adapters.store import Store
from agent.core.deciding.effect import Adopt
from agent.core.procedure.policy import Outgoing, Status
from agent.core.sop import Tier
from agent.core.times import gmt, iso

log = logging.getLogger("agent.outbox")


def adopt(store: Store, incident_id: int, found: Adopt, now: datetime) -> None:
    """A send of the agent's found in the mailbox, that this database did not know (core.adoption): it counts as sent
    at its time. Our own row of it, if never accepted by the server (pending, in flight, cancelled or rejected),
    becomes the found mail; with none, a row is written for it. Never sent again, from here or by `reconcile`."""
    kind = Outgoing.ESCALATION if found.tier is not None else Outgoing.NOTICE
    if found.tier is not None:
        what = found.tier.label
        row: EscalationRow | NoticeRow | None = store.escalation(incident_id, found.tier)
        key: dict = dict(tier=int(found.tier))
    else:
        what = f"notice '{found.notice}'"
        row = next((r for r in store.notices(incident_id) if r.kind == found.notice), None)
        key = dict(kind=found.notice)
    detail = f"{what} {found.message_id} sent by {found.member} at {gmt(found.sent_at)} found in the mailbox"
    fields = dict(
        message_id=found.message_id,
        status=str(Status.SENT),
        sent_at=iso(found.sent_at),
        confirmed_at=iso(now),
        recipients=json.dumps(list(found.recipients)),
        raw=found.raw,
    )
    if row is None:
        store.add_outbox(kind, dict(incident_id=incident_id, decided_at=iso(found.sent_at), **key, **fields))
    elif Status(row.status).done:
        store.event(
            now,
            "duplicate_seen",
            f"{detail}: the {what} was already {row.status} as {row.message_id}",
            incident_id,
            "a second copy: nothing more is sent",
        )
        return
    else:
        ours = f"ours ({row.message_id}, {row.status}) is not sent: {found.member} sent it first"
        store.update_outbox(kind, row.id, last_error=ours, **fields)
        detail += f"; {ours}"
    store.event(
        now,
        "adopted",
        detail,
        incident_id,
        "sent before this database knew it (an older or lost database, or another member): counted as sent",
    )
    _rejected_before(store, incident_id, found, now)
    log.info("adopted incident=%s what=%s message_id=%s member=%s", incident_id, what, found.message_id, found.member)


def _rejected_before(store: Store, incident_id: int, found: Adopt, now: datetime) -> None:
    """The notice that a tier was rejected for good (ladder.tell_rejected), found: that tier failed. Its CC copy came
    back all the same (the server refused only the tier's address) and was adopted as sent; the ladder stops there, as
    it did for the member that sent both."""
    tier = next((t for t in (Tier.T2, Tier.T3) if found.notice == f"rejected_{t.label.lower()}"), None)
    if tier is None:
        return
    row = store.escalation(incident_id, tier)
    if row is None or row.status not in (Status.SENT, Status.PENDING):
        return
    store.update_outbox(
        Outgoing.ESCALATION,
        row.id,
        status=str(Status.FAILED),
        last_error=f"rejected for good, as {found.notice} says",
    )
    store.event(now, "adopted", f"{tier.label} rejected for good: its notice was found", incident_id, "not retried")
