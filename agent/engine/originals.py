"""The T1s of an incident as composition wants them: the first (`original_of`), those that joined it about the same
outage (`joined_of`, issue 21.4), and the rungs climbed so far (`steps`)."""

import json

from agent.adapters.rows import IncidentRow
from agent.adapters.store import Store
from agent.core.procedure import items
from agent.core.procedure.policy import Status
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import from_iso
from agent.core.writing import compose


def original_of(row: IncidentRow, size: int | None = None) -> compose.Original:
    """The T1 of an incident row, as composition wants it, with its SOP items in the SOP's order. `size`: the T1's
    size on the server, which says whether `t1_raw` is all of it (over max_message_bytes, only its beginning)."""
    found = json.loads(row.items or "{}")
    return compose.Original(
        message_id=row.t1_message_id,
        subject=row.subject,
        sender=row.t1_sender,
        recipients=tuple(json.loads(row.t1_recipients)),
        references=tuple(row.t1_references.split()),
        sent_at=from_iso(row.t1_sent_at),
        text=row.t1_text,
        raw=row.t1_raw,
        items=tuple((item.label, found[item.key]) for item in items.ITEMS if item.key in found),
        size=size if size is not None and size > len(row.t1_raw or b"") else None,
        acknowledged_at=from_iso(row.acknowledged_at),
    )


def joined_of(store: Store, incident_id: int) -> tuple[compose.Original, ...]:
    """The later T1s about the same outage that joined the incident (issue 21.4), as composition wants them."""
    return tuple(
        compose.Original(
            message_id=j.message_id,
            subject=j.subject,
            sender=j.sender,
            recipients=tuple(json.loads(j.recipients)),
            references=tuple(j.refs.split()),
            sent_at=from_iso(j.sent_at),
            text="",
            raw=b"",
            why_joined=j.reason,
        )
        for j in store.joined_t1s(incident_id)
    )


def steps(store: Store, config: Config, incident_id: int) -> tuple[compose.Step, ...]:
    """The rungs climbed so far: the T1, then every tier contacted (sent, by hand, or in a dry run). A drill
    incident's rungs are the drill ladder's."""
    row = store.incident_record(incident_id)
    esc, drill = config.escalation, bool(row.drill)
    out = [compose.Step(Tier.T1, esc.tier_address(Tier.T1, drill), from_iso(row.t1_sent_at), row.t1_message_id)]
    for e in store.escalations(incident_id):
        status = Status(e.status)
        if status.done:
            assert e.sent_at is not None  # every way a tier is done records when it went out
            tier = Tier(e.tier)
            address = esc.tier_address(tier, drill)
            out.append(compose.Step(tier, address, from_iso(e.sent_at), e.message_id, status))
    return tuple(out)
