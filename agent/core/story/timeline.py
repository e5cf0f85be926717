"""An incident as the auditors' report draws it: stored rows in, marks on lanes, windows and the time to the first
human answer out. Pure: the rows are plain mappings as the database holds them, and nothing here reads a clock.

What is drawn is read from the data: every event kind that is not known to be bookkeeping becomes a labelled mark,
so a kind another part of the agent adds later (a receipt, a join, a recovery) shows without a change here."""

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.core.times import from_iso, span

Row = Mapping[str, Any]

# Events that repeat what the picture shows from other rows (the T1, the tiers, the answer) or are bookkeeping.
QUIET = frozenset(
    {
        "incident_opened",
        "decision",
        "confirmed",
        "notice_decided",
        "escalation_decided",
        "mail",
        "sent",
        "responded",
        "escalation_manual",
        "notice_skipped",
    }
)
PROBLEMS = frozenset({"send_failed", "send_rejected", "t1_bounced", "escalation_bounced", "command_refused"})
CONTACTED = ("sent", "manual", "dry_run")  # the tier was needed: its window passed without an answer


class Lane(enum.StrEnum):
    """A row of the picture, top to bottom."""

    LADDER = "T1, T2, T3"
    VENDOR = "vendor"
    ENGINEERS = "engineers"
    AGENT = "agent"
    PROBE = "API check"


class Tone(enum.StrEnum):
    """What a mark means, for its colour and shape."""

    TIER = "tier"
    DRY_RUN = "dry_run"
    ANSWER = "answer"
    ACK = "ack"
    COMMAND = "command"
    PROBLEM = "problem"
    OTHER = "other"
    PROBE_OK = "probe_ok"
    PROBE_FAIL = "probe_fail"


@dataclass(frozen=True)
class Mark:
    at: datetime
    lane: Lane
    tone: Tone
    label: str


@dataclass(frozen=True)
class Window:
    tier: int  # the tier that is due at `end` when nobody answers
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Timeline:
    id: int
    subject: str
    state: str
    drill: bool
    t1_at: datetime
    marks: tuple[Mark, ...]
    windows: tuple[Window, ...]
    answered_at: datetime | None  # the first human answer
    answered_by: str | None
    highest_tier: int  # the highest tier contacted (1: the T1 alone)
    tier_at_answer: int | None  # the highest tier contacted before the first answer
    late: tuple[tuple[int, timedelta], ...]  # (tier, sent after its due time by) for what the agent sent
    outcome: str

    @property
    def to_answer(self) -> timedelta | None:
        """Time from the T1 to the first human answer; never negative (a vendor clock behind ours reads as 0)."""
        if self.answered_at is None:
            return None
        return max(self.answered_at - self.t1_at, timedelta(0))

    @property
    def month(self) -> str:
        return self.t1_at.strftime("%Y-%m")

    @property
    def end(self) -> datetime:
        """The picture's right edge: the last mark or window end."""
        return max([self.t1_at, *(m.at for m in self.marks), *(w.end for w in self.windows)])

    def needed(self, tier: int) -> bool:
        return self.highest_tier >= tier


@dataclass(frozen=True)
class Windows:
    """The ladder's windows as configured; None where not known (a report from the database alone)."""

    t2_after: timedelta | None
    t3_after: timedelta | None


def timeline(
    incident: Row,
    escalations: Sequence[Row],
    messages: Sequence[Row],
    events: Sequence[Row],
    probes: Sequence[Row],
    windows: Windows,
) -> Timeline:
    """One incident's picture from its rows. `probes`: rows with `at`, `ok` (bool) and `evidence`."""
    t1_at = _must(incident["t1_sent_at"])
    marks = [Mark(t1_at, Lane.LADDER, Tone.TIER, "T1")]
    contacted: list[tuple[int, datetime]] = []
    late: list[tuple[int, timedelta]] = []
    for e in sorted(escalations, key=lambda r: int(r["tier"])):
        tier, status = int(e["tier"]), str(e["status"])
        at = _time(e.get("sent_at")) or _time(e.get("decided_at"))
        if at is None:
            continue
        if status in CONTACTED:
            contacted.append((tier, at))
            tone, label = (Tone.DRY_RUN, f"T{tier} (dry run)") if status == "dry_run" else (Tone.TIER, f"T{tier}")
            if status == "manual":
                label += " (by hand)"
            marks.append(Mark(at, Lane.LADDER, tone, label))
            due = _time(e.get("due_at"))
            if status == "sent" and due is not None:
                late.append((tier, max(at - due, timedelta(0))))
        elif status in ("failed", "pending", "sending"):
            marks.append(Mark(at, Lane.LADDER, Tone.PROBLEM, f"T{tier} {status}"))
    answered_at, answered_by = first_answer(t1_at, messages, events)
    if answered_at is not None:
        marks.append(Mark(answered_at, Lane.VENDOR, Tone.ANSWER, "answer"))
    marks += _message_marks(messages) + _event_marks(events)
    end = max([t1_at, *(m.at for m in marks)])
    marks += [
        Mark(at, Lane.PROBE, Tone.PROBE_OK if ok else Tone.PROBE_FAIL, "")
        for at, ok in _probe_points(probes)
        if t1_at <= at <= end or (answered_at is None and at >= t1_at)
    ]
    highest = max([1, *(t for t, _ in contacted)])
    at_answer = None if answered_at is None else max([1, *(t for t, at in contacted if at <= answered_at)])
    state = str(incident["state"])
    return Timeline(
        id=int(incident["id"]),
        subject=str(incident["subject"]),
        state=state,
        drill=bool(incident.get("drill")),
        t1_at=t1_at,
        marks=tuple(sorted(_distinct(marks), key=lambda m: m.at)),
        windows=_windows(t1_at, state, escalations, windows),
        answered_at=answered_at,
        answered_by=answered_by,
        highest_tier=highest,
        tier_at_answer=at_answer,
        late=tuple(late),
        outcome=outcome(incident, answered_at, answered_by, t1_at, events),
    )


def _time(value: object) -> datetime | None:
    """A stored ISO 8601 time, or None for NULL or empty."""
    return from_iso(str(value)) if value else None


def _must(value: object) -> datetime:
    at = _time(value)
    if at is None:
        raise ValueError(f"a time was expected, not {value!r}")
    return at


def first_answer(t1_at: datetime, messages: Sequence[Row], events: Sequence[Row]) -> tuple[datetime | None, str | None]:
    """When a person at the vendor first answered: the earliest response mail, at its Date when that is not before
    the T1 (else its arrival, else when the agent saw it); with no response mail stored, the first `responded`."""
    found: list[tuple[datetime, str | None]] = []
    for m in messages:
        if m.get("kind") != "response":
            continue
        times = [_time(m.get(k)) for k in ("date", "internaldate", "seen_at")]
        known = [t for t in times if t is not None]
        if known:
            at = next((t for t in known if t >= t1_at), known[0])
            found.append((at, str(m.get("sender") or "") or None))
    if not found:
        found = [(_must(e["at"]), None) for e in events if e.get("kind") == "responded"]
    return min(found, key=lambda f: f[0]) if found else (None, None)


def _message_marks(messages: Sequence[Row]) -> list[Mark]:
    """The vendor's machines answering (an auto-reply, a case system's receipt): acknowledgements, not answers."""
    out: list[Mark] = []
    for m in messages:
        kind = str(m.get("kind") or "")
        if kind == "auto_reply" or "receipt" in kind or kind.startswith("ack"):
            at = _time(m.get("internaldate")) or _time(m.get("seen_at"))
            if at is not None:
                out.append(Mark(at, Lane.VENDOR, Tone.ACK, "receipt" if "receipt" in kind else "auto-reply"))
    return out


def _event_marks(events: Sequence[Row]) -> list[Mark]:
    out: list[Mark] = []
    for e in events:
        kind = str(e.get("kind") or "")
        if kind in QUIET or not kind:
            continue
        at = _must(e["at"])
        if "ack" in kind or "receipt" in kind:
            out.append(Mark(at, Lane.VENDOR, Tone.ACK, kind.replace("_", " ")))
        elif kind == "command":
            said = str(e.get("detail") or "").split(" from ", 1)[0]
            out.append(Mark(at, Lane.ENGINEERS, Tone.COMMAND, said[:24] or "command"))
        elif kind == "resolved":
            out.append(Mark(at, Lane.ENGINEERS, Tone.COMMAND, "resolved"))
        elif kind in PROBLEMS:
            out.append(Mark(at, Lane.AGENT, Tone.PROBLEM, kind.replace("_", " ")))
        else:
            out.append(Mark(at, Lane.AGENT, Tone.OTHER, kind.replace("_", " ")))
    return out


def _probe_points(probes: Sequence[Row]) -> list[tuple[datetime, bool]]:
    return [(at, bool(p.get("ok"))) for p in probes if (at := _time(p.get("at"))) is not None]


def _distinct(marks: Iterable[Mark]) -> list[Mark]:
    """One mark where two rows say the same thing within two seconds (a receipt as a mail and as an event)."""
    out: list[Mark] = []
    for m in sorted(marks, key=lambda m: m.at):
        same = (
            o
            for o in out
            if o.lane == m.lane and o.tone == m.tone and m.tone != Tone.TIER and abs(o.at - m.at) < timedelta(seconds=2)
        )
        if m.lane == Lane.PROBE or next(same, None) is None:
            out.append(m)
    return out


def _windows(t1_at: datetime, state: str, escalations: Sequence[Row], configured: Windows) -> tuple[Window, ...]:
    """The T2 window from the T1, the T3 window from the T2: to the stored due time, else to the configured one."""
    if state in ("misrouted", "stale"):
        return ()
    rows = {int(e["tier"]): e for e in escalations}
    out = []
    t2_end = _time(rows[2].get("due_at")) if 2 in rows else None
    if t2_end is None and configured.t2_after is not None:
        t2_end = t1_at + configured.t2_after
    if t2_end is not None:
        out.append(Window(2, t1_at, t2_end))
    t2 = rows.get(2)
    t2_sent = _time(t2.get("sent_at")) if t2 is not None and t2.get("status") in CONTACTED else None
    if t2_sent is not None:
        t3_end = _time(rows[3].get("due_at")) if 3 in rows else None
        if t3_end is None and configured.t3_after is not None:
            t3_end = t2_sent + configured.t3_after
        if t3_end is not None:
            out.append(Window(3, t2_sent, t3_end))
    return tuple(out)


def outcome(
    incident: Row, answered_at: datetime | None, answered_by: str | None, t1_at: datetime, events: Sequence[Row]
) -> str:
    """How the incident ended (or stands), and who stopped it, in a few words."""
    state = str(incident["state"])
    if state == "responded" and answered_at is not None:
        who = f" by {answered_by}" if answered_by else ""
        return f"answered{who} {span(max(answered_at - t1_at, timedelta(0)))} after the T1"
    if state == "resolved":
        stop = [e for e in events if e.get("kind") == "command" and "#stop" in str(e.get("detail") or "").lower()]
        if stop:
            return f"stopped: {stop[-1]['detail']}"
        note = str(incident.get("note") or "").strip()
        return f"resolved by hand: {note}" if note else "resolved by hand"
    return {
        "awaiting_response": "no answer yet",
        "responded": "answered",
        "misrouted": "misrouted: not for the urgent line",
        "stale": "stale: older than max_incident_age when first seen",
    }.get(state, state)
