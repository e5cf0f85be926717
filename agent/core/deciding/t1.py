"""What a T1 does: it opens its incident, or joins the open one about the same outage (issue 21.4). Pure."""

from datetime import datetime, timedelta, timezone

from agent.core import sop
from agent.core.deciding.effect import Arrival, Effect, Event, Join, NewIncident, Notify, Open
from agent.core.procedure import items, routing
from agent.core.procedure.policy import Incident, State
from agent.core.reading.mail import Mail
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import gmt
from agent.core.writing import notices


def t1_sent_at(mail: Mail, internaldate: datetime | None, now: datetime) -> tuple[datetime, str]:
    """The T1's send time: its Date header, unless missing or implausible against INTERNALDATE."""
    arrived = internaldate or now
    if mail.date is not None:
        if arrived - sop.DATE_BEHIND_TOLERANCE <= mail.date <= arrived + sop.DATE_AHEAD_TOLERANCE:
            return mail.date, "date"
    return arrived, "internaldate" if internaldate else "first seen"


def opening(arrival: Arrival, settings: Config, now: datetime) -> list[Effect]:
    """A T1: the incident, its audit events, and the notice its sender needs (misrouted, or items missing)."""
    mail = arrival.mail
    sent_at, source = t1_sent_at(mail, arrival.internaldate, now)
    age = now - sent_at
    found = items.extract(mail.text, mail.html)
    # A T1 fetched without its body (old, or over max_message_bytes) has items nobody read: none are said missing.
    missing = items.missing(found, items.is_physical(mail.text)) if arrival.unread is None else []
    market = routing.marketplace(found, mail.text, mail.subject)
    problem = routing.misroute(mail.text, mail.subject)
    stale = age > settings.agent.max_incident_age
    state = State.STALE if stale else State.MISROUTED if problem else State.AWAITING_RESPONSE
    new = NewIncident(
        state=state,
        subject=mail.subject,
        t1_message_id=mail.message_id,
        t1_sender=mail.sender,
        t1_recipients=mail.recipients,
        participants=tuple(sorted(mail.participants)),
        t1_sent_at=sent_at,
        t1_sent_at_source=source,
        t1_references=mail.references,
        t1_text=mail.text,
        t1_raw=arrival.raw,
        items=found,
        missing_items=tuple(i.key for i in missing),
        marketplace=market,
        misroute=problem,
    )
    return [
        Open(new),
        _opened(arrival, sent_at, source, found, missing, market),
        *_told(mail, sent_at, age, problem, market, missing, settings),
    ]


def _opened(
    arrival: Arrival,
    sent_at: datetime,
    source: str,
    found: dict[str, str],
    missing: list[items.Item],
    market: str | None,
) -> Event:
    """The incident_opened audit line: the T1, when it was sent (and by what), what was read of its SOP items."""
    mail = arrival.mail
    return Event(
        "incident_opened",
        f"T1 {mail.message_id} from {mail.sender}, sent {gmt(sent_at)} (from its {source}): "
        f"{mail.subject}; "
        + (
            f"{len(found)} SOP items found, {len(missing)} required missing"
            if arrival.unread is None
            else f"{len(found)} SOP items found in what was fetched of it ({arrival.unread}), none said missing"
            if found
            else f"SOP items not read (only its header was fetched: {arrival.unread})"
        )
        + f"; marketplace {market or 'unknown'}",
        arrival.classification.reason,
    )


def _told(
    mail: Mail,
    sent_at: datetime,
    age: timedelta,
    problem: str | None,
    market: str | None,
    missing: list[items.Item],
    settings: Config,
) -> list[Effect]:
    """What opening says beyond the incident: why it will not climb (too old, misrouted), else to its people how to
    steer it and which required items are missing."""
    esc = settings.escalation
    if age > settings.agent.max_incident_age:
        return [
            Event(
                "not_escalated",
                f"T1 was {_hours(age)} old when first seen",
                f"older than max_incident_age ({_hours(settings.agent.max_incident_age)})",
            )
        ]
    if problem:
        subject, body = notices.misrouted(problem, market, esc.operations_team(market), esc.operations)
        return [
            Event(
                "misrouted",
                f'a "{problem}" error: not for the urgent line',
                "the SOP sends contract and Insufficient Funds errors to the operations team",
            ),
            Notify("misrouted", subject, body, "misrouted T1"),
        ]
    out: list[Effect] = []
    if settings.agent.opened_notice:
        subject, body = notices.watching(sent_at + esc.t2_after, _local(sent_at + esc.t2_after, mail))
        out.append(Notify("watching", subject, body, "an incident opened: its people learn how to steer it"))
    if missing:
        subject, body = notices.missing_items(missing, esc.t1_address)
        out.append(Notify("missing_items", subject, body, f"{len(missing)} required SOP items missing"))
    return out


def stands_alone(arrival: Arrival, settings: Config, now: datetime) -> bool:
    """A T1 that would not climb a ladder of its own (too old, or not for the urgent line) joins none either: it
    opens its incident as before, to be told as before."""
    mail = arrival.mail
    old = now - t1_sent_at(mail, arrival.internaldate, now)[0] > settings.agent.max_incident_age
    return old or routing.misroute(mail.text, mail.subject) is not None


def joining(arrival: Arrival, incident: Incident, settings: Config, now: datetime) -> list[Effect]:
    """A second T1 about the outage `incident` escalates (issue 21.4): it joins it. Its sender is told once when the
    T2 is due; later escalations Cc its people and name it; a vendor answer in its thread is the response."""
    mail, match = arrival.mail, arrival.joins
    assert match is not None
    sent_at, _ = t1_sent_at(mail, arrival.internaldate, now)
    why = f"{match.reason.value}: {match.outage.says()}"
    policy = settings.escalation.policy(incident.drill)
    due = None if incident.escalation(Tier.T2) is not None else incident.t1_sent_at + policy.t2_after
    subject, body = notices.joined(incident.id, incident.t1_message_id, due, why)
    return [
        Join(mail.message_id, mail.sender, mail.recipients, mail.subject, sent_at, mail.references, why),
        Event(
            "t1_joined",
            f"T1 {mail.message_id} from {mail.sender}, sent {gmt(sent_at)}, joined incident {incident.id} "
            f"(T1 {incident.t1_message_id})",
            why,
        ),
        Notify(
            f"joined {mail.message_id}",
            subject,
            body,
            "a second T1 joined the incident",
            (mail.sender,),
            about=mail.message_id,
        ),
    ]


def _local(moment: datetime, mail: Mail) -> str | None:
    """`moment` in the T1 sender's own zone, as its Date header gave it: None for GMT itself, or no zone."""
    if not mail.date_offset:
        return None
    zone = timezone(timedelta(minutes=mail.date_offset))
    h, m = divmod(abs(mail.date_offset), 60)
    return f"{moment.astimezone(zone):%H:%M} at UTC{'+' if mail.date_offset > 0 else '-'}{h:02d}:{m:02d}"


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}h"
