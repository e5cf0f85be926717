"""effects(arrival, incident, settings, now): what one mail does to an incident, as values. Pure.

`decide()` is what the clock does to an incident; this is what a mail does. The engine applies the list in
order, in one transaction with the mail's own row (agent.engine.apply), so a crash leaves all of it or none.
"""

from dataclasses import replace
from datetime import datetime, timedelta

from agent.core import sop
from agent.core.deciding import adoption, stand_down, steering, t1, ties
from agent.core.deciding.classify import Classification, Kind, case_ids
from agent.core.deciding.effect import (
    Acknowledged,
    Arrival,
    CancelPending,
    CaseId,
    Confirm,
    DeliveryFailed,
    Effect,
    Event,
    Notify,
    RecordTier,
    SetState,
)
from agent.core.deciding.mail_commands import Command, Malformed, new_text_lines
from agent.core.deciding.ties import Tie, Tied
from agent.core.procedure.policy import Incident, State, Status
from agent.core.reading.bounce import Bounce
from agent.core.reading.domains import looks_like
from agent.core.reading.mail import Mail, domain_of, in_domains
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import gmt
from agent.core.writing import notices
from agent.core.writing.compose import Answered


# -- what a mail does ---------------------------------------------------------------------------------
def effects(arrival: Arrival, incident: Incident | None, settings: Config, now: datetime) -> list[Effect]:
    """`incident`: the one the mail was tied to, as stored before it (None for a T1 or an unrelated mail)."""
    out = _what_it_does(arrival, incident, settings, now)
    # The case ids in the vendor's own mail (trusted, not a bounce) in the thread, subject and body: an engineer's
    # mention of some other case must not capture that case's mail.
    vendor = in_domains(arrival.mail.sender, settings.escalation.responder_domains)  # not a forward's own words
    if (
        incident is not None
        and vendor
        and arrival.classification.kind in (Kind.RESPONSE, Kind.AUTO_REPLY, Kind.RECEIPT)
    ):
        out += [CaseId(i, arrival.mail.message_id) for i in case_ids(arrival.mail, settings.escalation)]
    return out


def _what_it_does(arrival: Arrival, incident: Incident | None, settings: Config, now: datetime) -> list[Effect]:
    c, mail = arrival.classification, arrival.mail
    if c.kind == Kind.T1:
        if arrival.joins is not None and incident is not None and not t1.stands_alone(arrival, settings, now):
            return t1.joining(arrival, incident, settings, now)
        return t1.opening(arrival, settings, now)
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
    if c.kind == Kind.RECEIPT:
        return acknowledged(mail, incident, detail, c.reason, arrival.internaldate or now)
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
        if arrival.tie is None or not arrival.tie.applies:
            return untied(mail, c.command, arrival.tie, settings)
        out = command(mail, c.command, incident, settings, received_at(arrival, now), arrival.recent)
        tied = f"tied: {arrival.tie.reason}"
        out = [replace(e, reason=tied) if isinstance(e, Event) and e.kind == "resolved" else e for e in out]
        if any(isinstance(e, SetState) and e.state == State.RESOLVED for e in out):  # stopped: tell the tiers?
            out += stand_down.effects(incident, f"#stop from {mail.sender}", arrival.internaldate or now, settings)
        return out
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
    line = said.line if isinstance(said, Malformed) else next(iter(new_text_lines(mail.text)), f"#{said.verb}")
    answering = Answered(mail.message_id, mail.sender, mail.subject, mail.date, line)
    out: list[Effect] = []
    verb = "malformed" if isinstance(said, Malformed) else str(said.verb)
    for effect in done:
        if isinstance(effect, steering.Reply):
            subject, body = notices.command_reply(effect.subject, effect.body)
            reason = "the answer to a command"
            out.append(Notify(f"reply {mail.message_id}", subject, body, reason, (effect.to,), answering, verb=verb))
        else:
            out.append(effect)
    return out


def untied(mail: Mail, said: Command | Malformed, tie: Tied | None, settings: Config) -> list[Effect]:
    """A command mail tied to its incident by its subject or case id alone (agent.core.deciding.ties): it changes
    nothing and
    tells nothing of the incident. The address it claims gets one line (once per incident: a forger's flood must not
    become the agent's), and the audit log says why."""
    line = said.line if isinstance(said, Malformed) else f"#{said.verb}"
    why = tie.reason if tie is not None else str(Tie.NONE)
    dmarc = settings.escalation.trusted_authserv_id
    needs = f"a command must {ties.ADVICE}" + (f", or pass the DMARC check of {dmarc}" if dmarc else "")
    subject, body = notices.untied(line)
    return [
        Event("command_not_tied", f"{line} from {mail.sender} ({mail.message_id}) not applied: {why}", needs),
        Notify(f"untied {mail.sender}", subject, body, "a command not tied to the incident's thread", (mail.sender,)),
    ]


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


def acknowledged(mail: Mail, incident: Incident, detail: str, reason: str, arrived: datetime) -> list[Effect]:
    """A case system's receipt: no response, the ladder runs on; the first is recorded on the incident, so that
    `status`, `show` and the next escalation can say the vendor's system (and no person) acknowledged the T1."""
    at = mail.date if mail.date is not None and abs(mail.date - arrived) <= sop.DATE_AHEAD_TOLERANCE else arrived
    if incident.acknowledged_at is not None:
        return [
            Event("receipt", f"{detail}; a further receipt, first acknowledged {gmt(incident.acknowledged_at)}", reason)
        ]
    return [
        Acknowledged(at, mail.message_id, mail.sender),
        Event(
            "acknowledged",
            f"acknowledged by the vendor's system at {gmt(at)}: {detail}; no person has answered",
            reason,
        ),
    ]


def resolution(incident: Incident, note: str, settings: Config, now: datetime) -> list[Effect]:
    """Escalation stopped by hand (`escalation-agent resolve`); the tiers contacted may be told (stand_down)."""
    return [
        SetState(State.RESOLVED, note=note, by="hand"),
        CancelPending("resolved by hand"),
        Event("resolved", f"resolved by hand: {note}; was {incident.state}", "escalation-agent resolve"),
        *stand_down.effects(incident, "hand", now, settings),
    ]
