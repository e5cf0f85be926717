"""The effects a mail or a command has on an incident, as values: `effects()` (what a mail does) and
`steering.steer()` (what a command does) return them, and agent.engine.apply writes them, in order, in one
transaction."""

from dataclasses import dataclass, field
from datetime import datetime

from agent.core.deciding.classify import Classification
from agent.core.deciding.ties import Tied
from agent.core.procedure.outage import Match
from agent.core.procedure.policy import State, Steering
from agent.core.reading.bounce import Bounce
from agent.core.reading.mail import Mail
from agent.core.reading.subjects import normalise_subject
from agent.core.sop import Tier
from agent.core.writing.compose import Answered


@dataclass(frozen=True)
class Arrival:
    """One mail as ingest saw it: parsed, classified, and what the server said of it."""

    mail: Mail
    classification: Classification
    raw: bytes = b""
    internaldate: datetime | None = None
    bounce: Bounce | None = None
    recent: tuple[str, ...] = ()  # the incident's last events, for the answer to #status
    unread: str | None = None  # why its body was not fetched (old, or too large): its words are unknown, not absent
    tie: Tied | None = None  # a command's tie to its incident (agent.core.deciding.ties); None: not tied
    joins: Match | None = (
        None  # a T1: the open incident it reports the same outage as (core/procedure/outage.py), if any
    )
    # From the agent's own address, but a Message-ID its database does not know: an older or lost database, or
    # another member's send. Its provenance may make it count as sent (agent.core.deciding.adoption).
    unknown_own: bool = False


@dataclass(frozen=True)
class NewIncident:
    """The incident a T1 opens, as it is stored."""

    state: State
    subject: str
    t1_message_id: str
    t1_sender: str
    t1_recipients: tuple[str, ...]
    participants: tuple[str, ...]
    t1_sent_at: datetime
    t1_sent_at_source: str  # "date", "internaldate" or "first seen"
    t1_references: tuple[str, ...]
    t1_text: str
    t1_raw: bytes
    items: dict[str, str] = field(default_factory=dict)
    missing_items: tuple[str, ...] = ()
    marketplace: str | None = None
    misroute: str | None = None

    @property
    def subject_key(self) -> str:
        return normalise_subject(self.subject)


# -- the effects ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Open:
    """A T1 opens an incident; the effects after it in the list apply to that incident."""

    incident: NewIncident


@dataclass(frozen=True)
class SetState:
    state: State
    response_message_id: str | None = None
    note: str | None = None
    by: str | None = None  # who or what did it, for the log: "#stop from alice@partner.test", "hand"


@dataclass(frozen=True)
class CancelPending:
    """Pending escalations (of one tier, or all) are not sent: something made them moot."""

    why: str | None = None
    tier: Tier | None = None


@dataclass(frozen=True)
class RecordTier:
    """A tier an engineer sent by hand counts as sent, in place of our own copy if that was never sent."""

    tier: Tier
    message_id: str
    sent_at: datetime


@dataclass(frozen=True)
class Confirm:
    """The CC copy of one of our mails came back: that send is confirmed."""

    message_id: str
    sent_at: datetime
    original_message_id: str | None = None  # a relay replaced our Message-ID and kept ours here


@dataclass(frozen=True)
class Adopt:
    """A mail the agent sent that its database did not know, found in the mailbox: that tier (or that notice) counts
    as sent at the mail's time, in place of any row of ours never handed to the server."""

    tier: Tier | None  # an escalation's tier, or None for a notice
    notice: str | None  # a notice's kind as the outbox keeps it
    message_id: str
    sent_at: datetime
    member: str
    recipients: tuple[str, ...]
    raw: bytes = b""


@dataclass(frozen=True)
class CaseId:
    """The vendor's case system filed this incident under `case_id`: any later mail carrying it belongs here."""

    case_id: str
    message_id: str  # the vendor's mail it was learned from


@dataclass(frozen=True)
class Acknowledged:
    """The vendor's case system acknowledged the T1 (a receipt, no person's answer): recorded once, the first."""

    at: datetime
    message_id: str
    sender: str


@dataclass(frozen=True)
class DeliveryFailed:
    """The T1 itself bounced."""

    detail: str


@dataclass(frozen=True)
class Notify:
    """One notice to our own people (at most one of each kind per incident)."""

    kind: str
    subject: str
    body: str
    reason: str
    to: tuple[str, ...] = ()  # the people it is for; () for the incident's own people
    answering: Answered | None = None  # the command mail it answers, quoted and replied to
    about: str | None = None  # the Message-ID of a joined T1 it answers, in that T1's thread; None: the first T1
    verb: str | None = None  # an answer's command (#hold...), named in its provenance


@dataclass(frozen=True)
class Event:
    """An audit event and nothing else; with `once`, only if the incident has no event of this kind yet."""

    kind: str
    detail: str
    reason: str | None = None
    once: bool = False


@dataclass(frozen=True)
class StandDown:
    """The tiers contacted get one mail in the thread: answered at `answered_at`, no further action needed."""

    kind: str  # the notice kind (one per highest tier contacted)
    tiers: tuple[Tier, ...]  # highest first, the T1 last
    answered_at: datetime
    reason: str


@dataclass(frozen=True)
class Join:
    """A second T1 about the same outage joins the incident (core/procedure/outage.py): its people, its thread, its
    mention."""

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    sent_at: datetime
    references: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Steer:
    """The incident's steering becomes this (a hold, an escalate-now, a resume)."""

    steering: Steering


Effect = (
    Open
    | SetState
    | CancelPending
    | RecordTier
    | Confirm
    | Adopt
    | CaseId
    | Acknowledged
    | DeliveryFailed
    | Notify
    | Event
    | Steer
    | StandDown
    | Join
)
