"""The stand-down: when engineers stop an incident after its T2 (#stop: the vendor phoned; or `escalation-agent
resolve`), the tiers already contacted get ONE short mail in the thread: answered, no further action needed.
Pure: the decision (with its reason) and the mail.

Who is told: every tier address contacted, the T1 line included (it was paged as well), highest first; the T1's
people and the watched mailbox in Cc, as on the escalations. When not:
- nothing beyond the T1 was contacted: the T1 line's own thread is the engineers' to close, and a mail to the urgent
  line for every early stop would be noise there (and open cases in the vendor's case system);
- the vendor answered in the thread (the incident was `responded`): they see it there;
- `[escalation] stand_down = false`, or `dry_run` (nothing is sent), or a drill (its tiers are test mailboxes).
One per highest tier contacted, ever: the notices' unique key (incident, kind) holds it across a crash or a restart.
"""

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from agent.core.deciding.effect import Event, StandDown
from agent.core.procedure.policy import Incident, State, Status
from agent.core.reading.text import one_line
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import gmt
from agent.core.writing import compose, mime
from agent.core.writing.compose import Original, Step, t1_head
from agent.core.writing.page import Bullets, Heading, Page, Para, Quote

CONTACTED = (Status.SENT, Status.MANUAL)  # the vendor got them: by the agent, or by an engineer's own hand


class Why(enum.StrEnum):
    """Why a stop does or does not earn a stand-down."""

    SEND = "tiers beyond the T1 were contacted and the vendor has not answered in the thread"
    T1_ONLY = "no tier beyond the T1 was contacted"
    ANSWERED = "the vendor answered in the thread: they see it there"
    DRILL = "a drill: its tiers are test mailboxes"
    OFF = "[escalation] stand_down = false"
    DRY_RUN = "dry_run = true: nothing is sent"
    DONE = "the contacted tiers were already told"


@dataclass(frozen=True)
class Decision:
    why: Why
    tiers: tuple[Tier, ...] = ()  # the tiers to tell, highest first, the T1 last

    @property
    def kind(self) -> str:
        """The notice kind: one per highest tier contacted."""
        return f"stand_down_{self.tiers[0].label.lower()}" if self.tiers else "stand_down"


def decide(incident: Incident, enabled: bool, dry_run: bool) -> Decision:
    """`incident` as it was before the stop."""
    beyond = tuple(sorted((e.tier for e in incident.escalations if e.status in CONTACTED), reverse=True))
    if not beyond or incident.drill:
        return Decision(Why.DRILL if beyond else Why.T1_ONLY)
    tiers = (*beyond, Tier.T1)
    if incident.state == State.RESPONDED:
        return Decision(Why.ANSWERED, tiers)
    if not enabled:
        return Decision(Why.OFF, tiers)
    if dry_run:
        return Decision(Why.DRY_RUN, tiers)
    decided = Decision(Why.SEND, tiers)
    if decided.kind in incident.notices:
        return Decision(Why.DONE, tiers)
    return decided


def effects(incident: Incident, by: str, answered_at: datetime, settings: Config) -> list[StandDown | Event]:
    """What a stop by `by` owes the tiers contacted: the stand-down, or why not (when a tier beyond the T1 was)."""
    d = decide(incident, settings.escalation.stand_down, settings.agent.dry_run)
    if d.why == Why.SEND:
        return [StandDown(d.kind, d.tiers, answered_at, f"stopped by {by} after the {d.tiers[0].label}")]
    if d.why in (Why.T1_ONLY, Why.DRILL, Why.DONE):
        return []
    told = ", ".join(t.label for t in d.tiers)
    return [Event("stand_down_skipped", f"no stand-down to the tiers contacted ({told})", str(d.why))]


def mail(
    original: Original,
    steps: tuple[Step, ...],
    answered_at: datetime,
    *,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    from_address: str,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """The stand-down, in the thread of the T1 and the escalations (`steps`: the rungs climbed, T1 first)."""
    subject = f"[No further action needed] {original.subject or '(no subject)'}"
    ids = original.references + tuple(s.message_id or "" for s in steps)
    msg = compose.envelope(subject, to, cc, from_address, message_id, now, ids, original.message_id)
    return mime.write(msg, page(original, steps, answered_at))


def page(original: Original, steps: tuple[Step, ...], answered_at: datetime) -> Page:
    at = answered_at.astimezone(UTC)
    contacted = tuple(
        f"{s.tier.label} sent {gmt(s.sent_at)} to {one_line(s.address)}"
        for s in steps
        if s.tier == Tier.T1 or s.status in CONTACTED
    )
    blocks = (
        Para(
            f"This incident was answered at {at:%H:%M} GMT on {at:%a %d %b %Y}: no further action is needed.",
            strong=True,
        ),
        Para("The partner's engineers have marked it resolved; no further escalation will follow. Thank you."),
        Heading("Contacted about it (times in GMT):"),
        Bullets(contacted),
        Heading("The incident:"),
        Quote(t1_head(original)),
    )
    return Page(f"Answered, no further action needed: {one_line(original.subject) or '(no subject)'}", blocks)
