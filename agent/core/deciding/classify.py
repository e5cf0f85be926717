"""What a mail is to the agent: a new T1, a response, a follow-up... Pure, given a thread lookup."""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from agent.core.deciding.mail_commands import Command, Malformed
from agent.core.reading import subjects
from agent.core.reading.mail import Mail, in_domains
from agent.core.reading.receipts import Signs, is_machine_receipt
from agent.core.reading.trust import Verdict
from agent.core.settings import EscalationConfig
from agent.core.sop import Tier

SUBJECT_WINDOW = timedelta(days=1)


class Kind(enum.StrEnum):
    T1 = "t1"  # opens an incident
    RESPONSE = "response"  # a person at the vendor answered: escalation stops
    AUTO_REPLY = "auto_reply"  # the vendor's machine answered: not a response
    RECEIPT = "receipt"  # the vendor's case system acknowledged the mail: not a response, but worth saying
    FOLLOW_UP = "follow_up"  # an internal mail in the thread ("any update?"): not a response
    MANUAL_ESCALATION = "manual_escalation"  # an engineer sent a T2/T3 by hand
    COMMAND = "command"  # an engineer steers the incident: #stop, #hold, #escalate, #resume, #status
    OWN = "own"  # a mail the agent sent, back through the CC
    IN_THREAD = "in_thread"  # anybody else in the thread
    BOUNCE = "bounce"  # a delivery failure report for the T1 or an escalation: never a response
    UNTRUSTED = "untrusted"  # claims an internal or vendor sender that authentication did not confirm
    UNRELATED = "unrelated"


class Via(enum.StrEnum):
    """How a mail was tied to an incident's thread, strongest first."""

    HEADERS = "in-reply-to/references"
    CASE_ID = "the vendor's case id"
    THREAD_INDEX = "thread-index"
    SUBJECT = "subject and participants"


@dataclass(frozen=True)
class Thread:
    incident_id: int
    via: Via


@dataclass(frozen=True)
class Candidate:
    """An incident that a mail might belong to by subject: what the last-resort rule needs to know."""

    incident_id: int
    t1_sent_at: datetime
    participants: frozenset[str]


class Lookup(Protocol):
    def incident_for_message_ids(self, ids: tuple[str, ...]) -> int | None: ...
    def incident_for_thread_index(self, key: str) -> int | None: ...
    def incidents_with_subject(self, subject_key: str) -> list[Candidate]: ...
    def incident_for_case_ids(self, ids: tuple[str, ...]) -> int | None: ...


@dataclass(frozen=True)
class Classification:
    kind: Kind
    reason: str
    incident_id: int | None = None
    tier: Tier | None = None  # for a manual escalation: the tier it addressed
    via: Via | None = None
    command: Command | Malformed | None = None  # for a command: what its first line says


def find_thread(mail: Mail, lookup: Lookup, rules: EscalationConfig, watched: str) -> Thread | None:
    """The incident whose thread this mail belongs to, by the design's order of evidence."""
    if mail.thread_ids:
        found = lookup.incident_for_message_ids(mail.thread_ids)
        if found is not None:
            return Thread(found, Via.HEADERS)
    ids = case_ids(mail, rules)
    if ids:
        found = lookup.incident_for_case_ids(ids)
        if found is not None:
            return Thread(found, Via.CASE_ID)
    if mail.thread_index:
        found = lookup.incident_for_thread_index(mail.thread_index)
        if found is not None:
            return Thread(found, Via.THREAD_INDEX)
    key = subjects.normalise_subject(mail.subject)
    if not key or (_looks_like_t1(mail, rules) and not subjects.is_reply(mail.subject)):
        return None  # a fresh mail to the urgent line is a new incident, not a subject match
    when = mail.date
    others = mail.participants - {watched}
    for c in lookup.incidents_with_subject(key):
        close = when is None or abs(when - c.t1_sent_at) <= SUBJECT_WINDOW
        if close and others & (c.participants - {watched}):
            return Thread(c.incident_id, Via.SUBJECT)
    return None


def case_ids(mail: Mail, rules: EscalationConfig) -> tuple[str, ...]:
    """The case ids a mail carries: its subject's, then its body's (when it was read). A fresh T1's body is left
    out: an engineer who writes "like case 12345 last week" to the urgent line reports a new outage."""
    found = subjects.case_ids(mail.subject, rules.case_id_patterns)
    if mail.text and not _looks_like_t1(mail, rules):
        found += subjects.case_ids(mail.text, rules.case_id_patterns) or subjects.case_ids(
            mail.html, rules.case_id_patterns
        )
    return tuple(dict.fromkeys(found))[: subjects.MAX_CASE_IDS]


def reads_body(mail: Mail, thread: Thread | None, rules: EscalationConfig, case_ids_known: bool) -> bool:
    """Must this mail's body be read? Ingest reads only header blocks (docs/benchmarks.md), so only:
    - a vendor mail in an incident's thread, to tell a case system's receipt from a person's answer and to learn
      the case id its case system filed the incident under (incidents are rare, so these are few);
    - once any case id is known, a person's mail from the vendor, or from us to the vendor, that its headers did
      not tie to an incident: the id may stand in its body alone (a ServiceNow watermark, a Salesforce thread id).
    Never automatic mail (it can neither stop nor climb the ladder), a fresh T1 (see `case_ids`), nor our own
    people's mail among themselves: that is most of a shared mailbox, and it can neither answer nor escalate."""
    vendor = in_domains(mail.sender, rules.responder_domains)
    if thread is not None and vendor:
        return True  # also for its words: a case system's receipt is no response (agent.core.reading.receipts)
    if not rules.case_id_patterns:
        return False
    if not case_ids_known or mail.automatic or _looks_like_t1(mail, rules):
        return False
    if thread is not None and thread.via in (Via.HEADERS, Via.CASE_ID):
        return False  # tied already by evidence no body could beat
    to_vendor = any(in_domains(r, rules.responder_domains) for r in mail.recipients)
    return vendor or (in_domains(mail.sender, rules.internal_domains) and to_vendor)


def classify(
    mail: Mail,
    thread: Thread | None,
    rules: EscalationConfig,
    own_address: str,
    own_message_ids: frozenset[str] = frozenset(),
    trust: Verdict | None = None,
    command: Command | Malformed | None = None,
    forwarded_from: str | None = None,
    signs: Signs | None = None,
) -> Classification:
    """`trust`: whether the sender's domain was authenticated (None: not checked, so believed). `command`: what the
    first line of the mail's new text says, when it is a mail to the watched mailbox in a thread (ingest reads it).
    `forwarded_from`: the vendor sender of an answer this mail forwards, when that answer belongs to the thread.
    `signs`: what a vendor mail in a thread shows of a case system's receipt (agent.core.reading.receipts; ingest reads
    its body for them)."""
    if mail.message_id in own_message_ids or mail.original_message_id in own_message_ids:  # relayed: id rewritten
        return Classification(Kind.OWN, "sent by this agent", thread.incident_id if thread is not None else None)
    claims = in_domains(mail.sender, rules.internal_domains + rules.responder_domains) or mail.sender == own_address
    if trust is not None and not trust.trusted and claims:
        # A spoofed sender must never open, stop or alter an incident, nor steer one.
        return Classification(
            Kind.UNTRUSTED,
            trust.reason + ("; its command is not applied" if command is not None else ""),
            thread.incident_id if thread is not None else None,
            via=thread.via if thread is not None else None,
        )
    if mail.sender == own_address:
        return Classification(Kind.OWN, "sent by this agent", thread.incident_id if thread is not None else None)
    if thread is None:
        return _outside_thread(mail, rules)
    if in_domains(mail.sender, rules.internal_domains):
        return _ours_in_thread(mail, thread, rules, command, forwarded_from)
    return _theirs_in_thread(mail, thread, rules, command, signs)


def _ours_in_thread(
    mail: Mail,
    thread: Thread,
    rules: EscalationConfig,
    command: Command | Malformed | None,
    forwarded_from: str | None,
) -> Classification:
    """Our own people's mail in an incident's thread: a command, a forwarded answer, a tier sent by hand, or a
    follow-up."""
    incident, via = thread.incident_id, thread.via
    if not written_by_machine(mail):
        # A command names the tier address it went to: "#hold 1h" in a reply to all on our T2 is no second T2, but
        # a first T2 written by hand that happens to start with "#URGENT" is that T2 (effects.py decides which).
        if command is not None:
            addressed = [t for t in (Tier.T3, Tier.T2) if rules.tier_address(t) in mail.recipients]
            return Classification(
                Kind.COMMAND, f"command from {mail.sender}", incident, addressed[0] if addressed else None, via, command
            )
        if forwarded_from is not None:
            return Classification(
                Kind.RESPONSE, f"response forwarded by {mail.sender} (from {forwarded_from})", incident, via=via
            )
    tiers = [t for t in (Tier.T3, Tier.T2) if rules.tier_address(t) in mail.recipients]
    if tiers and not written_by_machine(mail):
        return Classification(
            Kind.MANUAL_ESCALATION, f"{mail.sender} wrote to the {tiers[0].label} address", incident, tiers[0], via
        )
    return Classification(Kind.FOLLOW_UP, f"internal mail from {mail.sender}", incident, via=via)


def _theirs_in_thread(
    mail: Mail, thread: Thread, rules: EscalationConfig, command: Command | Malformed | None, signs: Signs | None
) -> Classification:
    """Anybody else's mail in an incident's thread: the vendor's (a receipt, an auto-reply, a response), or an
    outsider's."""
    incident, via = thread.incident_id, thread.via
    outsider = "; its command line changes nothing (commands count from internal_domains)" if command else ""
    if in_domains(mail.sender, rules.responder_domains):
        if signs is not None and (signs.receipt or is_machine_receipt(signs)):
            return Classification(
                Kind.RECEIPT, f"the vendor's system acknowledged ({signs.reason()})", incident, via=via
            )
        if mail.automatic:
            return Classification(Kind.AUTO_REPLY, f"automatic ({mail.automatic})", incident, via=via)
        return Classification(Kind.RESPONSE, f"reply from {mail.sender}{outsider}", incident, via=via)
    why = (
        f"automatic ({mail.automatic})"
        if mail.automatic
        else f"{mail.sender or 'no sender'} is neither internal nor a responder{outsider}"
    )
    return Classification(Kind.IN_THREAD, why, incident, via=via)


# Signs that a mail passed a machine, not that a machine wrote it: a procmail or list forward of an engineer's
# T1 or command carries them too. For our own people's mail they are not enough; vendor mail with them still
# never stops the ladder.
_RELAYED = ("X-Loop:", "empty Return-Path")


def written_by_machine(mail: Mail) -> bool:
    """Was this mail written by a machine? For internal senders: a relay's marks alone do not say so."""
    return mail.automatic is not None and not mail.automatic.startswith(_RELAYED)


def _looks_like_t1(mail: Mail, rules: EscalationConfig) -> bool:
    return any(a in mail.recipients for a in rules.t1_addresses) and in_domains(mail.sender, rules.internal_domains)


def _outside_thread(mail: Mail, rules: EscalationConfig) -> Classification:
    if not any(a in mail.recipients for a in rules.t1_addresses):  # the urgent line's, or the drill's
        return Classification(Kind.UNRELATED, "not addressed to the T1 address")
    if not in_domains(mail.sender, rules.internal_domains):
        return Classification(Kind.UNRELATED, f"T1 address, but {mail.sender or 'no sender'} is not internal")
    if written_by_machine(mail):
        return Classification(Kind.UNRELATED, f"T1 address, but automatic ({mail.automatic})")
    return Classification(Kind.T1, f"{mail.sender} wrote to the T1 address")
