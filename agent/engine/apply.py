"""Effects become writes: the state change, the outbox row and the audit event, in one transaction."""

import logging
from collections.abc import Sequence
from datetime import datetime

from agent.adapters.store import Store
from agent.core.effects import (
    Adopt,
    CancelPending,
    CaseId,
    Confirm,
    DeliveryFailed,
    Effect,
    Event,
    Notify,
    Open,
    RecordTier,
    SetState,
    Steer,
)
from agent.core.errors import AgentError
from agent.core.policy import State
from agent.core.settings import Config
from agent.engine import outbox, rebuild

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
    if isinstance(effect, SetState):
        fields = {
            k: v
            for k, v in (("response_message_id", effect.response_message_id), ("note", effect.note))
            if v is not None
        }
        store.set_state(incident_id, effect.state, now, **fields)
        if effect.state == State.RESPONDED:
            log.info("response incident=%s message_id=%s", incident_id, effect.response_message_id)
        elif effect.state == State.RESOLVED:
            log.info("incident resolved by hand incident=%s", incident_id)
    elif isinstance(effect, CancelPending):
        outbox.cancel_pending(store, incident_id, effect.why, effect.tier)
    elif isinstance(effect, RecordTier):
        outbox.record_by_hand(store, incident_id, effect.tier, effect.message_id, effect.sent_at, now)
    elif isinstance(effect, Adopt):
        rebuild.adopt(store, incident_id, effect, now)
    elif isinstance(effect, Confirm):
        outbox.confirm(store, effect.message_id, effect.sent_at, now, effect.original_message_id)
    elif isinstance(effect, CaseId):
        _case_id(store, incident_id, effect, now)
    elif isinstance(effect, DeliveryFailed):
        store.update_incident(incident_id, delivery_failure=effect.detail)
    elif isinstance(effect, Notify):
        outbox.notify(
            store,
            config,
            incident_id,
            effect.kind,
            effect.subject,
            effect.body,
            now,
            effect.reason,
            effect.to,
            effect.verb,
        )
    elif isinstance(effect, Steer):
        store.set_steering(incident_id, effect.steering)
    elif isinstance(effect, Event):
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
