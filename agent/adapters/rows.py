"""The rows the store hands out, one frozen dataclass per kind of row, its fields named and typed as the table's columns
(agent/adapters/schema.py). Values stay as stored (ISO times as text, JSON lists as text): the readers parse them. A
column a migration adds is added here too: `typed` refuses a row with a column its dataclass does not name."""

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TypeVar

from agent.adapters.sqlite import sqlite3
from agent.core.errors import StoreError

Row = TypeVar("Row")


def typed(row: Callable[..., Row], cursor: sqlite3.Cursor) -> list[Row]:
    """A query's rows as `row`, one of the dataclasses below, each field from the column of its name: every typed row
    the store hands out is built here."""
    names = [d[0] for d in cursor.description]
    try:
        return [row(**dict(zip(names, values, strict=True))) for values in cursor]
    except TypeError:  # a column this version does not know: a newer version's database, or one changed by hand
        unknown = sorted(set(names) - {f.name for f in fields(row)})  # type: ignore[arg-type]
        raise StoreError(
            f"the state database has columns this version does not know ({', '.join(unknown) or 'none'}); "
            "it was written by a newer version or changed by hand: run the version that wrote it"
        ) from None


@dataclass(frozen=True)
class IncidentRow:
    """A row of `incidents`: one T1 and the escalation it opened."""

    id: int
    state: str
    subject: str
    subject_key: str
    t1_message_id: str
    t1_sender: str
    t1_recipients: str
    participants: str
    t1_sent_at: str
    t1_sent_at_source: str
    t1_references: str
    t1_text: str
    t1_raw: bytes
    opened_at: str
    state_changed_at: str
    response_message_id: str | None
    last_decision: str | None
    note: str | None
    items: str
    missing_items: str
    marketplace: str | None
    misroute: str | None
    delivery_failure: str | None
    hold_until: str | None
    escalate_at: str | None
    resumed_at: str | None
    drill: int
    acknowledged_at: str | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class EscalationRow:
    """A row of `escalations`: the mail to one tier (T2, T3), or the tier an engineer sent by hand."""

    id: int
    incident_id: int
    tier: int
    message_id: str
    status: str
    decided_at: str
    due_at: str | None
    attempts: int
    last_attempt_at: str | None
    last_error: str | None
    sent_at: str | None
    confirmed_at: str | None
    recipients: str | None
    raw: bytes | None
    smaller_raw: bytes | None


@dataclass(frozen=True)
class NoticeRow:
    """A row of `notices`: one mail to our own people about an incident, once per kind."""

    id: int
    incident_id: int
    kind: str
    message_id: str
    status: str
    decided_at: str
    attempts: int
    last_attempt_at: str | None
    last_error: str | None
    sent_at: str | None
    confirmed_at: str | None
    recipients: str
    raw: bytes


@dataclass(frozen=True)
class AlarmRow:
    """A row of `alarms`: a mail to ops_address about the agent itself, once per (kind, outage)."""

    id: int
    kind: str
    outage: str
    reason: str | None
    message_id: str
    status: str
    decided_at: str
    attempts: int
    last_attempt_at: str | None
    last_error: str | None
    sent_at: str | None
    confirmed_at: str | None
    recipients: str
    raw: bytes

    @property
    def incident_id(self) -> None:
        """An alarm is about no incident: read like the other outbox rows'."""
        return None


OutboxRow = EscalationRow | NoticeRow | AlarmRow
"""A row of the outbox, of any of its three tables."""


@dataclass(frozen=True)
class MessageRow:
    """A row of `messages`: one mail seen, where, and what it was to the agent."""

    id: int
    message_id: str
    folder: str
    uid: int
    uidvalidity: int
    sender: str
    recipients: str
    subject: str
    date: str | None
    internaldate: str | None
    in_reply_to: str
    refs: str
    thread_index: str | None
    automatic: str | None
    size: int
    kind: str
    reason: str
    incident_id: int | None
    seen_at: str
    original_message_id: str | None
    provenance: str | None


@dataclass(frozen=True)
class ThreadMessage:
    """An incident's mail as `show` lists it: the columns of `messages` people read, in the order they are shown."""

    message_id: str
    folder: str
    uid: int
    sender: str
    recipients: str
    subject: str
    date: str | None
    internaldate: str | None
    kind: str
    reason: str
    automatic: str | None
    seen_at: str
    in_reply_to: str
    refs: str


@dataclass(frozen=True)
class EventRow:
    """A row of `events`: one line of the audit log, chained to the one before by its hash."""

    id: int
    at: str
    incident_id: int | None
    kind: str
    detail: str
    reason: str | None
    prev_hash: str | None
    hash: str | None


@dataclass(frozen=True)
class MirroredEvent:
    """An audit event as the chat mirror reads it: with its incident's subject, and no hashes."""

    id: int
    at: str
    incident_id: int | None
    kind: str
    detail: str
    reason: str | None
    subject: str | None


@dataclass(frozen=True)
class JoinedRow:
    """A row of `joined_t1s`: a later T1 about the same outage that joined an open incident (issue 21.4)."""

    id: int
    incident_id: int
    message_id: str
    sender: str
    recipients: str
    subject: str
    sent_at: str
    refs: str
    reason: str
    joined_at: str
