"""Effects become writes: the state change, the outbox row and the audit event, in one transaction."""

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import assert_never

from agent.adapters.store import Store
from agent.core.deciding import stand_down
from agent.core.deciding.effect import (
    Acknowledged,
    Adopt,
    CancelPending,
    CaseId,
    Confirm,
    DeliveryFailed,
    Effect,
    Event,
    Join,
    Notify,
    Open,
    RecordTier,
    SetState,
    StandDown,
    Steer,
)
from agent.core.errors import AgentError
from agent.core.procedure.policy import State
from agent.core.settings import Config
from agent.core.times import gmt, iso
from agent.core.writing import compose
from agent.engine import enqueue, evidence, originals, outbox, rebuild

log = logging.getLogger("agent.ingest")


def apply(
    store: Store, config: Config, incident_id: int | None, effects: Sequence[Effect], now: datetime
) -> int | None:
    """Apply `effects` to the incident, in order; returns its id (an `Open` makes a new one)."""
    if not effects:  # most of a mailbox: no savepoint for nothing
        return incident_id
    with store.transaction():
        for effect in effects:
            if isinstance(effect, Open):
                incident_id = store.add_incident(effect.incident, now)
                log.info(
                    "incident opened incident=%s state=%s message_id=%s sender=%s",
                    incident_id,
                    effect.incident.state,
                    effect.incident.t1_message_id,
                    effect.incident.t1_sender,
                )
                continue
            if incident_id is None:
                raise AgentError(f"{type(effect).__name__} needs an incident")  # a bug, not bad mail
            _apply_one(store, config, incident_id, effect, now)
    return incident_id


def _apply_one(store: Store, config: Config, incident_id: int, effect: Effect, now: datetime) -> None:
    """One effect's writes; every kind of `Effect` has its branch."""
    if isinstance(effect, SetState):
        _set_state(store, incident_id, effect, now)
    elif isinstance(effect, CancelPending):
        enqueue.cancel_pending(store, incident_id, effect.why, effect.tier)
    elif isinstance(effect, RecordTier):
        enqueue.record_by_hand(store, incident_id, effect.tier, effect.message_id, effect.sent_at, now)
    elif isinstance(effect, Adopt):
        rebuild.adopt(store, incident_id, effect, now)
    elif isinstance(effect, Confirm):
        outbox.confirm(store, effect.message_id, effect.sent_at, now, effect.original_message_id)
    elif isinstance(effect, CaseId):
        _case_id(store, incident_id, effect, now)
    elif isinstance(effect, Acknowledged):
        store.update_incident(incident_id, acknowledged_at=iso(effect.at), acknowledged_by=effect.message_id)
        log.info("receipt incident=%s message_id=%s sender=%s", incident_id, effect.message_id, effect.sender)
    elif isinstance(effect, DeliveryFailed):
        store.update_incident(incident_id, delivery_failure=effect.detail)
    elif isinstance(effect, Notify):
        _notify(store, config, incident_id, effect, now)
    elif isinstance(effect, Join):
        _join(store, incident_id, effect, now)
    elif isinstance(effect, Steer):
        store.set_steering(incident_id, effect.steering)
    elif isinstance(effect, StandDown):
        _stand_down(store, config, incident_id, effect, now)
    elif isinstance(effect, Event):
        _event(store, incident_id, effect, now)
    elif isinstance(effect, Open):
        raise AgentError("an Open is applied by apply() itself")  # a bug, not bad mail
    else:  # mypy fails here when an Effect has no branch above: none may vanish unapplied
        assert_never(effect)


def _set_state(store: Store, incident_id: int, effect: SetState, now: datetime) -> None:
    """The incident's new state, with the response or the note that brought it."""
    fields = {
        k: v for k, v in (("response_message_id", effect.response_message_id), ("note", effect.note)) if v is not None
    }
    store.set_state(incident_id, effect.state, now, **fields)
    if effect.state == State.RESPONDED:
        log.info("response incident=%s message_id=%s", incident_id, effect.response_message_id)
    elif effect.state == State.RESOLVED:
        log.info("incident resolved by %s incident=%s", effect.by or "hand", incident_id)


def _notify(store: Store, config: Config, incident_id: int, effect: Notify, now: datetime) -> None:
    """The notice's outbox row; the "watching" notice carries what the API check says as the T1 opens."""
    body = effect.body
    note = evidence.watching_note(store, config, now) if effect.kind == "watching" else None
    if note:  # the engineers decide whether the urgent line fits
        first, _, rest = body.partition("\n\n")
        body = f"{first}\n\n{note}\n\n{rest}"
    enqueue.notify(
        store,
        config,
        incident_id,
        effect.kind,
        effect.subject,
        body,
        now,
        effect.reason,
        effect.to,
        effect.answering,
        effect.about,
        effect.verb,
    )


def _join(store: Store, incident_id: int, effect: Join, now: datetime) -> None:
    """A second T1 about the same outage, recorded with the incident it joined (issue 21.4)."""
    row = dict(
        message_id=effect.message_id,
        sender=effect.sender,
        recipients=json.dumps(effect.recipients),
        subject=effect.subject,
        sent_at=iso(effect.sent_at),
        refs=" ".join(effect.references),
        reason=effect.reason,
        joined_at=iso(now),
    )
    store.add_joined(incident_id, row)
    log.info("t1 joined incident=%s message_id=%s sender=%s", incident_id, effect.message_id, effect.sender)


def _event(store: Store, incident_id: int, effect: Event, now: datetime) -> None:
    """An audit line; one marked `once` is written once per incident, and logged as a warning."""
    if effect.once and store.has_event(incident_id, effect.kind):
        return
    store.event(now, effect.kind, effect.detail, incident_id, effect.reason)
    if effect.once:  # worth an operator's eye, and said only once
        log.warning("incident=%s %s (%s)", incident_id, effect.detail, effect.reason)


def _case_id(store: Store, incident_id: int, effect: CaseId, now: datetime) -> None:
    """Record the vendor's case id for the incident, once; one that is another incident's stays that one's."""
    owner = store.incident_for_case_ids((effect.case_id,))
    if owner == incident_id:
        return
    if owner is not None:
        store.event(
            now,
            "case_id_elsewhere",
            f"{effect.message_id} carries case id {effect.case_id}, which is incident {owner}'s",
            incident_id,
            "one case id belongs to one incident: the first that the vendor's mail tied it to",
        )
        return
    store.add_case_id(effect.case_id, incident_id, effect.message_id, now)
    store.event(
        now,
        "case_id",
        f"the vendor's case id {effect.case_id} (from {effect.message_id})",
        incident_id,
        "later mail carrying it belongs to this incident, whatever its headers",
    )
    log.info("case id incident=%s case_id=%s", incident_id, effect.case_id)


def _stand_down(store: Store, config: Config, incident_id: int, effect: StandDown, now: datetime) -> None:
    """The stand-down's outbox row (a notice, to the vendor's tiers contacted: agent.core.deciding.stand_down), once per
    (incident, kind): the notices' unique key holds it across a crash."""
    if any(r.kind == effect.kind for r in store.notices(incident_id)):
        return
    row = store.incident_record(incident_id)
    original, esc, drill = originals.original_of(row), config.escalation, bool(row.drill)
    to = tuple(dict.fromkeys(esc.tier_address(t, drill) for t in effect.tiers))
    cc = compose.escalation_cc(original, esc.internal_domains, config.imap.address, exclude=to)
    msg = stand_down.mail(
        original,
        originals.steps(store, config, incident_id),
        effect.answered_at,
        to=to,
        cc=cc,
        from_address=config.smtp.from_address,
        message_id=compose.new_message_id(config.smtp.from_address),
        now=now,
    )
    what = f"stand-down '{effect.kind}' to {', '.join(to)}: answered at {gmt(effect.answered_at)}"
    enqueue.enqueue_notice(store, incident_id, effect.kind, msg, (*to, *cc), now, what, effect.reason)
