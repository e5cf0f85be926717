"""One fetched mail -> what it is to the agent: its `Arrival`. Pure, given what the state database knows (`Records`).

The mail's bytes are cut to the limits once and each part parsed once (`agent.core.reading.mail.Reading`): its header
block decides what a mail is, and its body is read only where it can matter (`reads_body`, a command, a T1): most
of a shared mailbox is noise, and mail-parser over a whole mail costs four times the fetch (docs/benchmarks.md). The
readers of a bounce, of the Authentication-Results and of a forwarded answer get the bytes as already cut. Ingest
(agent.engine.ingest) keeps the transaction and the writes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from agent.core.deciding import ties
from agent.core.deciding.classify import (
    Kind,
    Lookup,
    Thread,
    Via,
    case_ids,
    classify,
    find_thread,
    reads_body,
    written_by_machine,
)
from agent.core.deciding.effect import Arrival
from agent.core.deciding.mail_commands import read_command
from agent.core.procedure import items, outage, routing
from agent.core.procedure.outage import Match, Sameness
from agent.core.reading import bounce, receipts
from agent.core.reading.folder import LARGE, Fetched
from agent.core.reading.forwards import forwarded
from agent.core.reading.mail import Mail, Reading, in_domains
from agent.core.reading.subjects import normalise_subject
from agent.core.reading.trust import authentication_results, verify_sender
from agent.core.settings import EscalationConfig


@dataclass(frozen=True)
class Opened:
    """What a mail's reading needs of the incident whose thread it is in."""

    t1_sent_at: datetime
    subject_key: str
    joined: tuple[tuple[str, datetime], ...] = ()  # (Message-ID, sent) of each T1 that joined it about the outage


class Records(Lookup, Protocol):
    """What the state database knows, as a mail's reading asks it (agent.engine.ingest answers from the store)."""

    def has_message(self, message_id: str) -> bool: ...
    def has_case_ids(self) -> bool: ...
    def own_message_ids(self, among: tuple[str | None, ...]) -> frozenset[str]: ...
    def opened(self, incident_id: int) -> Opened: ...
    # (Message-ID, sender, the Message-IDs it follows) of each recorded mail of the incident
    def senders(self, incident_id: int) -> list[tuple[str, str, frozenset[str]]]: ...
    def thread_mails(self, incident_id: int) -> list[ties.ThreadMail]: ...
    def outbox_message_ids(self, incident_id: int) -> frozenset[str]: ...
    def open_outages(self) -> Iterable[tuple[int, dict[str, str], str | None]]: ...


def arrive(
    fetched: Fetched, records: Records, rules: EscalationConfig, watched: str, from_address: str
) -> Arrival | None:
    """What this mail is: read, threaded, classified, a command tied. None when this Message-ID was already seen
    (another folder, a resync). `watched`: the watched mailbox's address; `from_address`: the agent's own."""
    reading = Reading(fetched.raw)
    mail = reading.headers()
    if records.has_message(mail.message_id):
        return None
    # DSNs also carry Auto-Submitted. One fetched without its body tells nothing: its report is in the body.
    bounced = bounce.read(reading) if mail.automatic and fetched.header_only is None else None
    thread = find_thread(mail, records, rules, watched)
    # A body is read for its case ids only where one may tie the mail or teach an incident's id (`reads_body`): vendor
    # mail in a thread, and, once an id is known, people's mail from the vendor (or ours to it) not tied by headers.
    # Most of a mailbox is neither: it is still read from its header block alone.
    has_body = bounced is None and reads_body(mail, thread, rules, records.has_case_ids())
    if has_body:
        headers, mail = mail, _with_body(mail, reading, fetched)
        thread = _rethread(headers, mail, thread, records, rules, watched)
    if bounced is not None:
        found = records.incident_for_message_ids((bounced.original_message_id,))
        thread = Thread(found, Via.HEADERS) if found is not None else thread
    trust = None
    if rules.trusted_authserv_id:
        trust = verify_sender(authentication_results(reading), mail.sender, rules.trusted_authserv_id)
    said, forward_from = None, None
    if bounced is None and thread is not None and _may_steer(mail, watched, from_address):
        if not has_body:
            mail, has_body = _with_body(mail, reading, fetched), True
        said = read_command(mail.text)
        if said is None and in_domains(mail.sender, rules.internal_domains):
            forward_from = _forwarded_answer(records, reading, mail, thread.incident_id, rules, watched)
    own = records.own_message_ids((mail.message_id, mail.original_message_id))
    signs = _receipt_signs(records, mail, fetched, thread, rules) if bounced is None and has_body else None
    c = classify(mail, thread, rules, from_address, own, trust, said, forward_from, signs)
    if bounced is not None and c.incident_id is not None and c.kind != Kind.UNTRUSTED:
        c = replace(c, kind=Kind.BOUNCE, reason=f"delivery failure for {bounced.original_message_id}")
    tied = None
    if c.kind == Kind.COMMAND and c.incident_id is not None:  # a command counts only if tied (agent.core.deciding.ties)
        known = ties.anchors(records.thread_mails(c.incident_id), records.outbox_message_ids(c.incident_id))
        tied = ties.tie(mail, known, trust)
        if not tied.applies:
            c = replace(c, reason=f"{c.reason}; not applied: {tied.reason}")
    if c.kind == Kind.T1 and not has_body:  # a T1's body: its SOP items, the quote
        mail = _with_body(mail, reading, fetched)
    unknown_own = c.kind == Kind.OWN and not own  # by its From alone: our send the database does not know
    return Arrival(
        mail, c, fetched.raw, fetched.internaldate, bounced, (), fetched.header_only, tied, unknown_own=unknown_own
    )


def same_outage(mail: Mail, rules: EscalationConfig, records: Records) -> Match:
    """The open incident this T1 reports the same outage as (core/procedure/outage.py), if any. Only a T1 to the
    urgent line itself: a drill's T1 never joins a real incident."""
    found = items.extract(mail.text, mail.html)
    new = outage.of(found, routing.marketplace(found, mail.text, mail.subject))
    if not rules.join_same_outage:
        return Match(None, Sameness.OFF, new)
    if rules.t1_address not in mail.recipients:
        return Match(None, Sameness.NO_OPEN_INCIDENT, new)
    return outage.match(new, [(i, outage.of(found_items, market)) for i, found_items, market in records.open_outages()])


def _with_body(mail: Mail, reading: Reading, fetched: Fetched) -> Mail:
    """The mail with its body read. Its header fields stay those it was classified by."""
    if fetched.header_only is not None:
        if fetched.header_only != LARGE or not (b"\r\n\r\n" in fetched.raw or b"\n\n" in fetched.raw):
            return mail  # old: only its header fields were fetched
        # over max_message_bytes: its beginning, which holds its text
    whole = reading.whole()
    return replace(mail, text=whole.text, html=whole.html, defects=whole.defects)


def _rethread(
    headers: Mail, mail: Mail, thread: Thread | None, records: Records, rules: EscalationConfig, watched: str
) -> Thread | None:
    """The thread of the mail with its body read. Only its case ids can differ from its header block's: when they do
    not (or its In-Reply-To/References found the thread, which come first), the same lookups give the same thread."""
    if (thread is not None and thread.via == Via.HEADERS) or case_ids(mail, rules) == case_ids(headers, rules):
        return thread
    return find_thread(mail, records, rules, watched)


def _may_steer(mail: Mail, watched: str, from_address: str) -> bool:
    """A person's mail in a thread to the watched mailbox may carry a command or a forwarded answer: its body is
    read (these are few: the thread's own traffic). The agent's own mail and automatic mail never steer."""
    return not written_by_machine(mail) and mail.sender not in (from_address, watched) and watched in mail.recipients


def _forwarded_answer(
    records: Records, reading: Reading, mail: Mail, incident_id: int, rules: EscalationConfig, watched: str
) -> str | None:
    """The vendor sender of the answer this internal mail forwards, when that answer was a person's and belongs to
    the incident's thread: by its own In-Reply-To/References when it has them (an old answer with the same subject
    does not), else by its subject, and never written before the T1; else None."""
    found = forwarded(reading, mail)
    if found is None or found.automatic or not in_domains(found.sender, rules.responder_domains):
        return None
    if receipts.signs(found.sender, receipts.own_words(found.text), None, False, None, False).receipt:
        return None  # the case system's receipt, forwarded: still no person's answer
    if found.inline and watched not in mail.to:
        return None  # an inline forward shows no header that says it was a machine's: only one meant for the agent
    opened = records.opened(incident_id)
    if found.date is not None and found.date < opened.t1_sent_at:
        return None
    if found.thread_ids:
        return found.sender if records.incident_for_message_ids(found.thread_ids) == incident_id else None
    key = normalise_subject(found.subject)
    return found.sender if key and key == opened.subject_key else None


def _receipt_signs(
    records: Records, mail: Mail, fetched: Fetched, thread: Thread | None, rules: EscalationConfig
) -> receipts.Signs | None:
    """What a vendor mail in a thread shows of a case system's receipt: its own words, its sender, and whether it
    is the vendor's first mail in the thread, case-tagged, minutes after the T1."""
    if thread is None or not in_domains(mail.sender, rules.responder_domains):
        return None
    opened = records.opened(thread.incident_id)
    # A second T1 that joined the incident often opens a case of its own: its receipt follows it, not the first T1
    joined = dict(opened.joined)
    mine = next((m for m in mail.thread_ids if m in joined), None)
    t1_sent_at = joined[mine] if mine is not None else opened.t1_sent_at
    earlier = any(
        in_domains(sender, rules.responder_domains) and message_id != mail.message_id and (mine is None or mine in refs)
        for message_id, sender, refs in records.senders(thread.incident_id)
    )
    return receipts.read(mail, rules.case_id_patterns, t1_sent_at, fetched.internaldate, not earlier)
