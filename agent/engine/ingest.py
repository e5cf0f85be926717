"""One fetched mail -> its row, its classification and its effects on an incident, in one transaction."""

import json
from dataclasses import dataclass, replace
from datetime import datetime

from agent.adapters.imap import LARGE
from agent.adapters.store import Store
from agent.core.deciding import ties
from agent.core.deciding.classify import (
    Classification,
    Kind,
    Thread,
    Via,
    classify,
    find_thread,
    reads_body,
    written_by_machine,
)
from agent.core.deciding.consequences import effects
from agent.core.deciding.effect import Arrival, Open
from agent.core.deciding.mail_commands import read_command
from agent.core.procedure import items, outage, routing
from agent.core.procedure.outage import Match, Sameness
from agent.core.reading import bounce, receipts
from agent.core.reading.folder import Fetched
from agent.core.reading.forwards import forwarded
from agent.core.reading.mail import Mail, in_domains, parse
from agent.core.reading.subjects import normalise_subject
from agent.core.reading.trust import authentication_results, verify_sender
from agent.core.settings import Config, EscalationConfig
from agent.core.story import history
from agent.core.times import from_iso, iso
from agent.engine.apply import apply


@dataclass(frozen=True)
class Seen:
    """What ingesting one mail did, for the cycle's log."""

    mail: Mail
    classification: Classification


def ingest(store: Store, fetched: Fetched, config: Config, now: datetime) -> Seen | None:
    """Record one mail and act on it. None when this Message-ID was already seen (another folder, a resync)."""
    # The header block decides what a mail is; only a T1's body is read (its SOP items, the quote). Most of a
    # shared mailbox is noise, and mail-parser over a whole mail cost four times the fetch (docs/benchmarks.md).
    mail = parse(fetched.raw, headers_only=True)
    if store.has_message(mail.message_id):
        return None
    rules = config.escalation
    # DSNs also carry Auto-Submitted. One fetched without its body tells nothing: its report is in the body.
    bounced = bounce.parse(fetched.raw) if mail.automatic and fetched.header_only is None else None
    thread = find_thread(mail, store, rules, config.imap.address)
    # A body is read for its case ids only where one may tie the mail or teach an incident's id (`reads_body`):
    # vendor mail in a thread, and, once an id is known, people's mail from the vendor (or ours to it) not tied by
    # headers. Most of a mailbox is neither: it is still read from its header block alone.
    has_body = bounced is None and reads_body(mail, thread, rules, store.has_case_ids())
    if has_body:
        mail = _with_body(mail, fetched)
        thread = find_thread(mail, store, rules, config.imap.address)
    if bounced is not None:
        found = store.incident_for_message_ids((bounced.original_message_id,))
        thread = Thread(found, Via.HEADERS) if found is not None else thread
    trust = None
    if rules.trusted_authserv_id:
        trust = verify_sender(authentication_results(fetched.raw), mail.sender, rules.trusted_authserv_id)
    said, forward_from = None, None
    if bounced is None and thread is not None and _may_steer(mail, config):
        if not has_body:
            mail, has_body = _with_body(mail, fetched), True
        said = read_command(mail.text)
        if said is None and in_domains(mail.sender, rules.internal_domains):
            forward_from = _forwarded_answer(store, fetched.raw, mail, thread.incident_id, rules, config.imap.address)
    own = store.own_message_ids((mail.message_id, mail.original_message_id))
    signs = _receipt_signs(store, mail, fetched, thread, rules) if bounced is None and has_body else None
    c = classify(mail, thread, rules, config.smtp.from_address, own, trust, said, forward_from, signs)
    if bounced is not None and c.incident_id is not None and c.kind != Kind.UNTRUSTED:
        c = replace(c, kind=Kind.BOUNCE, reason=f"delivery failure for {bounced.original_message_id}")
    tied = None
    if c.kind == Kind.COMMAND and c.incident_id is not None:  # a command counts only if tied (agent.core.deciding.ties)
        known = ties.anchors(store.thread_mails(c.incident_id), store.outbox_message_ids(c.incident_id))
        tied = ties.tie(mail, known, trust)
        if not tied.applies:
            c = replace(c, reason=f"{c.reason}; not applied: {tied.reason}")
    with store.transaction():
        if c.kind == Kind.T1 and not has_body:
            mail = _with_body(mail, fetched)
        incident = store.incident(c.incident_id) if c.incident_id is not None else None
        recent = _recent(store, c) if c.kind == Kind.COMMAND else ()
        unknown_own = c.kind == Kind.OWN and not own  # by its From alone: our send the database does not know
        arrival = Arrival(
            mail,
            c,
            fetched.raw,
            fetched.internaldate,
            bounced,
            recent,
            fetched.header_only,
            tied,
            unknown_own=unknown_own,
        )
        if c.kind == Kind.T1:  # the incident's row first: the mail's own row points at it
            joins = _same_outage(store, mail, rules)
            target = store.incident(joins.incident_id) if joins.incident_id is not None else None
            done = effects(replace(arrival, joins=joins if target else None), target, config, now)
            if target is not None and not any(isinstance(e, Open) for e in done):  # it joined the open incident
                opened = apply(store, config, target.id, done, now)
                why = f"joined incident {target.id}: {joins.reason.value}, {joins.outage.says()}"
                c = replace(c, incident_id=opened, reason=f"{c.reason}; {why}")
            else:
                opened = apply(store, config, None, done, now)
                c = replace(c, incident_id=opened)
            store.add_message(_message_row(mail, fetched, c, now))
            for own_id in filter(None, (mail.message_id, mail.original_message_id)):  # a relay may have rewritten it
                for orphan in store.orphans_referring_to(own_id):
                    _adopt(store, orphan, opened, config, now)
        else:
            store.add_message(_message_row(mail, fetched, c, now))
            apply(store, config, c.incident_id, effects(arrival, incident, config, now), now)
    return Seen(mail, c)


def _same_outage(store: Store, mail: Mail, rules: EscalationConfig) -> Match:
    """The open incident this T1 reports the same outage as (core/procedure/outage.py), if any. Only a T1 to the
    urgent line
    itself: a drill's T1 never joins a real incident."""
    found = items.extract(mail.text, mail.html)
    new = outage.of(found, routing.marketplace(found, mail.text, mail.subject))
    if not rules.join_same_outage:
        return Match(None, Sameness.OFF, new)
    if rules.t1_address not in mail.recipients:
        return Match(None, Sameness.NO_OPEN_INCIDENT, new)
    return outage.match(new, [(i, outage.of(found_items, market)) for i, found_items, market in store.open_outages()])


def _may_steer(mail: Mail, config: Config) -> bool:
    """A person's mail in a thread to the watched mailbox may carry a command or a forwarded answer: its body is
    read (these are few: the thread's own traffic). The agent's own mail and automatic mail never steer."""
    own = (config.smtp.from_address, config.imap.address)
    return not written_by_machine(mail) and mail.sender not in own and config.imap.address in mail.recipients


def _forwarded_answer(
    store: Store, raw: bytes, mail: Mail, incident_id: int, rules: EscalationConfig, watched: str
) -> str | None:
    """The vendor sender of the answer this internal mail forwards, when that answer was a person's and belongs to
    the incident's thread: by its own In-Reply-To/References when it has them (an old answer with the same subject
    does not), else by its subject, and never written before the T1; else None."""
    found = forwarded(raw, mail)
    if found is None or found.automatic or not in_domains(found.sender, rules.responder_domains):
        return None
    if receipts.signs(found.sender, receipts.own_words(found.text), None, False, None, False).receipt:
        return None  # the case system's receipt, forwarded: still no person's answer
    if found.inline and watched not in mail.to:
        return None  # an inline forward shows no header that says it was a machine's: only one meant for the agent
    row = store.incident_row(incident_id)
    if found.date is not None and found.date < from_iso(row["t1_sent_at"]):
        return None
    if found.thread_ids:
        return found.sender if store.incident_for_message_ids(found.thread_ids) == incident_id else None
    key = normalise_subject(found.subject)
    return found.sender if key and key == row["subject_key"] else None


def _receipt_signs(
    store: Store, mail: Mail, fetched: Fetched, thread: Thread | None, rules: EscalationConfig
) -> receipts.Signs | None:
    """What a vendor mail in a thread shows of a case system's receipt: its own words, its sender, and whether it
    is the vendor's first mail in the thread, case-tagged, minutes after the T1."""
    if thread is None or not in_domains(mail.sender, rules.responder_domains):
        return None
    row = store.incident_row(thread.incident_id)
    t1_sent_at = from_iso(row["t1_sent_at"])
    # A second T1 that joined the incident often opens a case of its own: its receipt follows it, not the first T1
    joined = {j["message_id"]: from_iso(j["sent_at"]) for j in store.joined_rows(thread.incident_id)}
    mine = next((m for m in mail.thread_ids if m in joined), None)
    if mine is not None:
        t1_sent_at = joined[mine]
    earlier = any(
        in_domains(m["sender"] or "", rules.responder_domains)
        and m["message_id"] != mail.message_id
        and (mine is None or mine in f"{m['in_reply_to'] or ''} {m['refs'] or ''}".split())
        for m in store.messages(thread.incident_id)
    )
    return receipts.read(mail, rules.case_id_patterns, t1_sent_at, fetched.internaldate, not earlier)


def _recent(store: Store, c: Classification) -> tuple[str, ...]:
    """What happened last to the incident, in words for people: the answer to #status."""
    if c.incident_id is None:
        return ()
    return history.recent((from_iso(e["at"]), e["kind"], e["detail"]) for e in store.events(c.incident_id))


def _with_body(mail: Mail, fetched: Fetched) -> Mail:
    """The mail with its body read. Its header fields stay those it was classified by."""
    if fetched.header_only == LARGE and (b"\r\n\r\n" in fetched.raw or b"\n\n" in fetched.raw):
        full = parse(fetched.raw)  # over max_message_bytes: its beginning, which holds its text
        return replace(mail, text=full.text, html=full.html, defects=full.defects)
    if fetched.header_only is not None:
        return mail  # old: only its header fields were fetched
    full = parse(fetched.raw)
    return replace(mail, text=full.text, html=full.html, defects=full.defects)


def _adopt(store: Store, orphan: dict, incident_id: int | None, config: Config, now: datetime) -> None:
    """A mail seen before its T1 (another folder, an earlier UID): classify it again, now in the thread."""
    if incident_id is None or orphan["kind"] == "untrusted":  # a spoofed sender never counts, seen early or late
        return
    recipients = tuple(json.loads(orphan["recipients"]))
    mail = Mail(
        orphan["message_id"],
        orphan["subject"],
        orphan["sender"],
        "",
        recipients,
        (),
        from_iso(orphan["date"]),
        (),
        (),
        None,
        orphan["automatic"],
        "",
        "",
        orphan["size"],
        (),
        orphan["original_message_id"],
        provenance=orphan["provenance"] or "",
    )
    own = store.own_message_ids((mail.message_id, mail.original_message_id))
    c = classify(mail, Thread(incident_id, Via.HEADERS), config.escalation, config.smtp.from_address, own)
    store.attach_message(mail.message_id, incident_id, str(c.kind), c.reason)
    # A copy of our own send read before its T1 (the T1 filed in another folder) still counts as sent.
    arrival = Arrival(
        mail, c, internaldate=from_iso(orphan["internaldate"]), unknown_own=c.kind == Kind.OWN and not own
    )
    apply(store, config, incident_id, effects(arrival, store.incident(incident_id), config, now), now)


def _message_row(mail: Mail, fetched: Fetched, c: Classification, now: datetime) -> dict:
    return dict(
        message_id=mail.message_id,
        folder=fetched.folder,
        uid=fetched.uid,
        uidvalidity=fetched.uidvalidity,
        sender=mail.sender,
        recipients=json.dumps(mail.recipients),
        subject=mail.subject,
        date=iso(mail.date),
        internaldate=iso(fetched.internaldate),
        original_message_id=mail.original_message_id,
        in_reply_to=" ".join(mail.in_reply_to),
        refs=" ".join(mail.references),
        thread_index=mail.thread_index,
        automatic=mail.automatic,
        size=fetched.size,
        kind=str(c.kind),
        reason=c.reason,
        incident_id=c.incident_id,
        seen_at=iso(now),
        provenance=mail.provenance or None,
    )
