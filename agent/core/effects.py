"""effects(arrival, incident, settings, now): what one mail does to an incident, as values. Pure.

`decide()` is what the clock does to an incident; this is what a mail does. The engine applies the list in
order, in one transaction with the mail's own row (agent.engine.apply), so a crash leaves all of it or none.
"""

from datetime import datetime, timedelta, timezone

from agent.core import adoption, items, notices, routing, sop, steering
from agent.core.bounce import Bounce
from agent.core.classify import Classification, Kind, case_ids
from agent.core.commands import Command, Malformed
from agent.core.domains import looks_like
from agent.core.effect import (
    Adopt,
    Arrival,
    CancelPending,
    CaseId,
    Confirm,
    DeliveryFailed,
    Effect,
    Event,
    NewIncident,
    Notify,
    Open,
    RecordTier,
    SetState,
    Steer,
)
from agent.core.mail import Mail, domain_of, in_domains
from agent.core.policy import Incident, State, Status
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import gmt

# The effect types are public here too, beside the functions that make them.
__all__ = ["Adopt", "Arrival", "CancelPending", "CaseId", "Confirm", "DeliveryFailed", "Effect", "Event"]  # fmt: skip
__all__ += ["NewIncident", "Notify", "Open", "RecordTier", "SetState", "Steer"]  # fmt: skip


# -- what a mail does ---------------------------------------------------------------------------------
def effects(arrival: Arrival, incident: Incident | None, settings: Config, now: datetime) -> list[Effect]:
    """`incident`: the one the mail was tied to, as stored before it (None for a T1 or an unrelated mail)."""
    out = _what_it_does(arrival, incident, settings, now)
    # The case ids in the vendor's own mail (trusted, not a bounce) in the thread, subject and body: an engineer's
    # mention of some other case must not capture that case's mail.
    vendor = in_domains(arrival.mail.sender, settings.escalation.responder_domains)  # not a forward's own words
    if incident is not None and vendor and arrival.classification.kind in (Kind.RESPONSE, Kind.AUTO_REPLY):
        out += [CaseId(i, arrival.mail.message_id) for i in case_ids(arrival.mail, settings.escalation)]
    return out


def _what_it_does(arrival: Arrival, incident: Incident | None, settings: Config, now: datetime) -> list[Effect]:
    c, mail = arrival.classification, arrival.mail
    if c.kind == Kind.T1:
        return opening(arrival, settings, now)
    if incident is None:
        return []
    if c.kind == Kind.BOUNCE and arrival.bounce is not None:
        return bounced(arrival.bounce, incident, settings)
    detail = f"{c.kind} {mail.message_id} from {mail.sender or 'unknown'} (thread by {c.via})"
    if c.kind == Kind.RESPONSE and incident.state == State.AWAITING_RESPONSE:
        return [
            SetState(State.RESPONDED, response_message_id=mail.message_id),
            CancelPending(),
            Event("responded", detail, c.reason),
        ]
    if c.kind == Kind.MANUAL_ESCALATION and c.tier is not None:
        return manual_escalation(mail, c.tier, incident, detail, c.reason, arrival.internaldate or now)
    if c.kind == Kind.OWN:
        if arrival.unknown_own:  # the mailbox knows a send of ours that the database does not
            return adoption.adopted(arrival, incident, settings, now)
        return [Confirm(mail.message_id, mail.date or now, mail.original_message_id)]
    if c.kind == Kind.COMMAND and c.command is not None:
        written = incident.escalation(c.tier) if c.tier is not None else None
        if c.tier is not None and (written is None or not written.status.done):  # the mail is that tier, by hand
            said = c.command.line if isinstance(c.command, Malformed) else f"#{c.command.verb}"
            return [
                *manual_escalation(mail, c.tier, incident, detail, c.reason, arrival.internaldate or now),
                Event(
                    "command_refused",
                    f"{said} in {mail.sender}'s mail to the {c.tier.label} address is not applied",
                    f"a mail to the {c.tier.label} address is the {c.tier.label} sent by hand",
                ),
            ]
        return command(mail, c.command, incident, settings, received_at(arrival, now), arrival.recent)
    return [Event("mail", detail, c.reason), *stranger(mail, c, settings)]


def command(
    mail: Mail,
    said: Command | Malformed,
    incident: Incident,
    settings: Config,
    now: datetime,
    recent: tuple[str, ...] = (),
) -> list[Effect]:
    """An engineer's command by mail: steering.steer's effects, its answer a notice to the sender alone (one per
    command mail: the notice kind names the mail)."""
    policy = settings.escalation.policy()
    if isinstance(said, Malformed):
        done = steering.refused(said, mail.sender)
    else:
        done = steering.steer(incident, said, mail.sender, policy, now, recent)
    out: list[Effect] = []
    verb = "malformed" if isinstance(said, Malformed) else str(said.verb)
    for effect in done:
        if isinstance(effect, steering.Reply):
            subject, body = notices.command_reply(effect.subject, effect.body)
            out.append(Notify(f"reply {mail.message_id}", subject, body, "the answer to a command", (effect.to,), verb))
        else:
            out.append(effect)
    return out


def received_at(arrival: Arrival, now: datetime) -> datetime:
    """When a command mail reached the mailbox, never later than `now`. A command read late (a rebuilt or restored
    database, a long outage of the agent) is applied as of then: a #hold holds until its time, measured from the
    mail, not from the reading. INTERNALDATE counts whole seconds: the end of its second, so that a command read at
    once is never taken for earlier than it came (a hold never ends before its time)."""
    if arrival.internaldate is None:
        return now
    return min(arrival.internaldate + timedelta(seconds=1), now)


def stranger(mail: Mail, c: Classification, settings: Config) -> list[Effect]:
    """A person in the thread from a domain that is neither ours nor the vendor's, but looks like the vendor's
    under another suffix (amazon.co.jp beside amazon.com): most likely a responder domain missing from the
    config, so the ladder goes on although the vendor may have answered. Said once per incident."""
    rules = settings.escalation
    if c.kind != Kind.IN_THREAD or mail.automatic or not mail.sender:
        return []
    if in_domains(mail.sender, rules.internal_domains + rules.responder_domains):
        return []
    domain = domain_of(mail.sender)
    like = looks_like(domain, rules.responder_domains)
    if like is None:
        return []
    return [
        Event(
            "vendor_lookalike",
            f"{mail.sender} wrote in the thread: {domain} looks like the vendor's {like} "
            f"but is not in responder_domains, so the mail is no response",
            "add it to [escalation] responder_domains if the vendor answers from it",
            once=True,
        )
    ]


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
    out: list[Effect] = [
        Open(new),
        Event(
            "incident_opened",
            f"T1 {mail.message_id} from {mail.sender}, sent {gmt(sent_at)} (from its {source}): "
            f"{mail.subject}; "
            + (
                f"{len(found)} SOP items found, {len(missing)} required missing"
                if arrival.unread is None
                else f"SOP items not read (only its header was fetched: {arrival.unread})"
            )
            + f"; marketplace {market or 'unknown'}",
            arrival.classification.reason,
        ),
    ]
    esc = settings.escalation
    if stale:
        out.append(
            Event(
                "not_escalated",
                f"T1 was {_hours(age)} old when first seen",
                f"older than max_incident_age ({_hours(settings.agent.max_incident_age)})",
            )
        )
    elif problem:
        out.append(
            Event(
                "misrouted",
                f'a "{problem}" error: not for the urgent line',
                "the SOP sends contract and Insufficient Funds errors to the operations team",
            )
        )
        subject, body = notices.misrouted(problem, market, esc.operations_team(market), esc.operations)
        out.append(Notify("misrouted", subject, body, "misrouted T1"))
    else:
        if settings.agent.opened_notice:
            subject, body = notices.watching(sent_at + esc.t2_after, _local(sent_at + esc.t2_after, mail))
            out.append(Notify("watching", subject, body, "an incident opened: its people learn how to steer it"))
        if missing:
            subject, body = notices.missing_items(missing, esc.t1_address)
            out.append(Notify("missing_items", subject, body, f"{len(missing)} required SOP items missing"))
    return out


def _local(moment: datetime, mail: Mail) -> str | None:
    """`moment` in the T1 sender's own zone, as its Date header gave it: None for GMT itself, or no zone."""
    if not mail.date_offset:
        return None
    zone = timezone(timedelta(minutes=mail.date_offset))
    h, m = divmod(abs(mail.date_offset), 60)
    return f"{moment.astimezone(zone):%H:%M} at UTC{'+' if mail.date_offset > 0 else '-'}{h:02d}:{m:02d}"


def bounced(bounce: Bounce, incident: Incident, settings: Config) -> list[Effect]:
    """A delivery failure: for the T1, its sender must know at once; for an escalation, our people."""
    detail = f"{bounce.original_message_id} not delivered to {', '.join(bounce.failed) or '?'}: {bounce.diagnostic}"
    never = "a delivery failure report is never a response"
    if bounce.original_message_id == incident.t1_message_id:
        subject, body = notices.t1_bounced(bounce.failed, bounce.diagnostic)
        return [
            DeliveryFailed(detail),
            Event("t1_bounced", detail, never),
            Notify("t1_bounced", subject, body, "the T1 bounced"),
        ]
    ours = next((e for e in incident.escalations if e.message_id == bounce.original_message_id), None)
    if ours is None:
        return [Event("bounce", detail, "not for the T1 or an escalation: recorded only")]
    tier = ours.tier
    subject, body = notices.escalation_bounced(tier, settings.escalation.tier_address(tier), bounce.diagnostic)
    return [
        Event("escalation_bounced", detail, never),
        Notify(f"{tier.label.lower()}_bounced", subject, body, f"the {tier.label} bounced"),
    ]


def manual_escalation(
    mail: Mail, tier: Tier, incident: Incident, detail: str, reason: str, arrived: datetime
) -> list[Effect]:
    """A T2 or T3 that an engineer sent in the thread."""
    existing = incident.escalation(tier)
    sent = RecordTier(tier, mail.message_id, mail.date or arrived)
    if existing is None or existing.status == Status.CANCELLED:
        return [sent, Event("escalation_manual", detail, reason)]
    if existing.status == Status.PENDING:  # ours was never handed to the server: the one sent by hand counts
        taken = f"; our pending {tier.label} is not sent: the one sent by hand counts, the next window runs from it"
        return [sent, Event("escalation_manual", detail + taken, reason)]
    return [Event("mail", detail + f"; {tier.label} was already {existing.status}", reason)]


def resolution(incident: Incident, note: str) -> list[Effect]:
    """Escalation stopped by hand (`escalation-agent resolve`)."""
    return [
        SetState(State.RESOLVED, note=note),
        CancelPending("resolved by hand"),
        Event("resolved", f"was {incident.state}: {note}", "resolved by hand"),
    ]


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}h"
