"""One fetched mail -> its row, its classification and its effect on an incident, in one transaction."""

import email.parser
import email.policy
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from agent import bounce, items, notices, routing, sop
from agent.classify import Classification, Kind, Thread, Via, classify, find_thread
from agent.config import Config
from agent.delivery import label
from agent.mail import Mail, normalise_subject, parse
from agent.mailbox import Fetched
from agent.policy import State, Status
from agent.sop import Tier
from agent.store import Store
from agent.times import from_iso, gmt, iso
from agent.trust import verify_sender

log = logging.getLogger("agent.ingest")


@dataclass(frozen=True)
class Seen:
    """What ingesting one mail did, for the cycle's log."""

    mail: Mail
    classification: Classification


def authentication_results(raw: bytes) -> tuple[str, ...]:
    """Every Authentication-Results header, topmost first (the receiving server adds at the top)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    return tuple(str(v) for v in parsed.get_all("Authentication-Results") or ())


def t1_sent_at(mail: Mail, internaldate: datetime | None, now: datetime) -> tuple[datetime, str]:
    """The T1's send time: its Date header, unless missing or implausible against INTERNALDATE."""
    arrived = internaldate or now
    if mail.date is not None:
        if arrived - sop.DATE_BEHIND_TOLERANCE <= mail.date <= arrived + sop.DATE_AHEAD_TOLERANCE:
            return mail.date, "date"
    return arrived, "internaldate" if internaldate else "first seen"


def ingest(store: Store, fetched: Fetched, config: Config, now: datetime) -> Seen | None:
    """Record one mail and act on it. None when this Message-ID was already seen (another folder, a resync)."""
    # The header block decides what a mail is; only a T1's body is read (its SOP items, the quote). Most of a
    # shared mailbox is noise, and mail-parser over a whole mail cost four times the fetch (docs/benchmarks.md).
    mail = parse(fetched.raw, headers_only=True)
    if store.has_message(mail.message_id):
        return None
    rules = config.escalation
    bounced = bounce.parse(fetched.raw) if mail.automatic else None  # DSNs also carry Auto-Submitted
    thread = find_thread(mail, store, rules, config.imap.address)
    if bounced is not None:
        found = store.incident_for_message_ids((bounced.original_message_id,))
        thread = Thread(found, Via.HEADERS) if found is not None else thread
    trust = None
    if rules.trusted_authserv_id:
        trust = verify_sender(authentication_results(fetched.raw), mail.sender, rules.trusted_authserv_id)
    c = classify(mail, thread, rules, config.smtp.from_address, store.own_message_ids(), trust)
    if bounced is not None and c.incident_id is not None and c.kind != Kind.UNTRUSTED:
        c = replace(c, kind=Kind.BOUNCE, reason=f"delivery failure for {bounced.original_message_id}")
    with store.transaction():
        if c.kind == Kind.T1:
            mail = _with_body(mail, fetched)
            c = replace(c, incident_id=_open_incident(store, mail, fetched, config, now))
        store.add_message(_message_row(mail, fetched, c, now))
        if c.kind == Kind.BOUNCE:
            _bounce(store, bounced, c.incident_id, config, now)
        else:
            _apply(store, mail, fetched, c, now)
        if c.kind == Kind.T1:
            for orphan in store.orphans_referring_to(mail.message_id):
                _adopt(store, orphan, c.incident_id, config, now)
    return Seen(mail, c)


def _with_body(mail: Mail, fetched: Fetched) -> Mail:
    """The mail with its body read. Its header fields stay those it was classified by."""
    if fetched.truncated:
        return mail  # over max_message_bytes: only the header block was fetched
    full = parse(fetched.raw)
    return replace(mail, text=full.text, html=full.html, defects=full.defects)


def _open_incident(store: Store, mail: Mail, fetched: Fetched, config: Config, now: datetime) -> int:
    sent_at, source = t1_sent_at(mail, fetched.internaldate, now)
    age = now - sent_at
    found = items.extract(mail.text, mail.html)
    missing = items.missing(found, items.is_physical(mail.text))
    market = routing.marketplace(found, mail.text, mail.subject)
    problem = routing.misroute(mail.text, mail.subject)
    stale = age > config.agent.max_incident_age
    state = State.STALE if stale else State.MISROUTED if problem else State.AWAITING_RESPONSE
    incident_id = store.add_incident(dict(
        state=str(state), subject=mail.subject, subject_key=normalise_subject(mail.subject),
        t1_message_id=mail.message_id, t1_sender=mail.sender, t1_recipients=json.dumps(mail.recipients),
        participants=json.dumps(sorted(mail.participants)), t1_sent_at=iso(sent_at),
        t1_sent_at_source=source, t1_references=" ".join(mail.references), t1_text=mail.text,
        t1_raw=fetched.raw, opened_at=iso(now), state_changed_at=iso(now), items=json.dumps(found),
        missing_items=json.dumps([i.key for i in missing]), marketplace=market, misroute=problem))
    store.event(now, "incident_opened", f"T1 {mail.message_id} from {mail.sender}, sent {gmt(sent_at)} "
                f"(from its {source}): {mail.subject}; {len(found)} SOP items found, "
                f"{len(missing)} required missing; marketplace {market or 'unknown'}", incident_id,
                f"{mail.sender} wrote to the T1 address")
    log.info("incident opened incident=%s state=%s message_id=%s sender=%s", incident_id, state,
             mail.message_id, mail.sender)
    esc = config.escalation
    if stale:
        store.event(now, "not_escalated", f"T1 was {_hours(age)} old when first seen",
                    incident_id, f"older than max_incident_age ({_hours(config.agent.max_incident_age)})")
    elif problem:
        store.event(now, "misrouted", f"a \"{problem}\" error: not for the urgent line", incident_id,
                    "the SOP sends contract and Insufficient Funds errors to the operations team")
        subject, body = notices.misrouted(problem, market, esc.operations_team(market), esc.operations)
        notices.enqueue(store, config, incident_id, "misrouted", subject, body, now, "misrouted T1")
    elif missing:
        subject, body = notices.missing_items(missing, esc.t1_address)
        notices.enqueue(store, config, incident_id, "missing_items", subject, body, now,
                        f"{len(missing)} required SOP items missing")
    return incident_id


def _apply(store: Store, mail: Mail, fetched: Fetched, c: Classification, now: datetime) -> None:
    """The classification's effect on its incident, with its audit events."""
    incident_id = c.incident_id
    if incident_id is None or c.kind == Kind.T1:
        return
    state = State(store.incident_row(incident_id)["state"])
    detail = f"{c.kind} {mail.message_id} from {mail.sender or 'unknown'} (thread by {c.via})"
    if c.kind == Kind.RESPONSE and state == State.AWAITING_RESPONSE:
        store.set_state(incident_id, State.RESPONDED, now, response_message_id=mail.message_id)
        for row in store.escalations_with_status(Status.PENDING):
            if row["incident_id"] == incident_id:
                store.update_escalation(row["id"], status=str(Status.CANCELLED))
        store.event(now, "responded", detail, incident_id, c.reason)
        log.info("response incident=%s message_id=%s sender=%s", incident_id, mail.message_id, mail.sender)
    elif c.kind == Kind.MANUAL_ESCALATION:
        _manual_escalation(store, mail, fetched, c, now, detail)
    elif c.kind == Kind.OWN:
        _confirm(store, mail, now)
    else:
        store.event(now, "mail", detail, incident_id, c.reason)


def _bounce(store: Store, bounced: bounce.Bounce, incident_id: int, config: Config, now: datetime) -> None:
    """A delivery failure: for the T1, its sender must know at once; for an escalation, our people."""
    row = store.incident_row(incident_id)
    detail = f"{bounced.original_message_id} not delivered to {', '.join(bounced.failed) or '?'}: {bounced.diagnostic}"
    if bounced.original_message_id == row["t1_message_id"]:
        store.update_incident(incident_id, delivery_failure=detail)
        store.event(now, "t1_bounced", detail, incident_id, "a delivery failure report is never a response")
        subject, body = notices.t1_bounced(bounced.failed, bounced.diagnostic)
        notices.enqueue(store, config, incident_id, "t1_bounced", subject, body, now, "the T1 bounced")
        return
    found = store.outbox_by_message_id(bounced.original_message_id)
    if found is None or found[0] != "escalations":
        store.event(now, "bounce", detail, incident_id, "not for the T1 or an escalation: recorded only")
        return
    tier = found[1]["tier"]
    store.event(now, "escalation_bounced", detail, incident_id, "a delivery failure report is never a response")
    address = config.escalation.tier_address(Tier(tier))
    subject, body = notices.escalation_bounced(f"T{tier}", address, bounced.diagnostic)
    notices.enqueue(store, config, incident_id, f"t{tier}_bounced", subject, body, now, f"the T{tier} bounced")


def _manual_escalation(store: Store, mail: Mail, fetched: Fetched, c: Classification, now: datetime,
                       detail: str) -> None:
    sent_at = mail.date or fetched.internaldate or now
    existing = {r["tier"]: r for r in store.escalation_rows(c.incident_id)}
    row = existing.get(int(c.tier))
    if row is None:
        store.add_escalation(dict(incident_id=c.incident_id, tier=int(c.tier), message_id=mail.message_id,
                                  status=str(Status.MANUAL), decided_at=iso(now), sent_at=iso(sent_at),
                                  confirmed_at=iso(now)))
        store.event(now, "escalation_manual", detail, c.incident_id, c.reason)
    elif row["status"] == Status.PENDING:
        store.update_escalation(row["id"], status=str(Status.CANCELLED), last_error="sent by hand first")
        store.event(now, "escalation_manual", detail + f"; our pending {c.tier.label} is cancelled",
                    c.incident_id, c.reason)
    else:
        store.event(now, "mail", detail + f"; {c.tier.label} was already {row['status']}", c.incident_id, c.reason)


def _confirm(store: Store, mail: Mail, now: datetime) -> None:
    found = store.outbox_by_message_id(mail.message_id)
    if found is None:
        return
    table, row = found
    fields = dict(confirmed_at=iso(now))
    if row["status"] == Status.SENDING:  # a crash came between acceptance and our record of it
        fields.update(status=str(Status.SENT), sent_at=iso(mail.date or now))
    store.update_outbox(table, row["id"], **fields)
    store.event(now, "confirmed", f"{label(table, row)} {mail.message_id} seen in the watched mailbox",
                row["incident_id"], "the CC copy came back")


def _adopt(store: Store, orphan: dict, incident_id: int, config: Config, now: datetime) -> None:
    """A mail seen before its T1 (another folder, an earlier UID): classify it again, now in the thread."""
    recipients = tuple(json.loads(orphan["recipients"]))
    mail = Mail(orphan["message_id"], orphan["subject"], orphan["sender"], "", recipients, (),
                from_iso(orphan["date"]), (), (),
                None, orphan["automatic"], "", "", orphan["size"], ())
    c = classify(mail, Thread(incident_id, Via.HEADERS), config.escalation, config.smtp.from_address)
    store.attach_message(mail.message_id, incident_id, str(c.kind), c.reason)
    fetched = Fetched(orphan["folder"], orphan["uid"], orphan["uidvalidity"], b"", None, orphan["size"], False)
    _apply(store, mail, fetched, c, now)


def _message_row(mail: Mail, fetched: Fetched, c: Classification, now: datetime) -> dict:
    return dict(
        message_id=mail.message_id, folder=fetched.folder, uid=fetched.uid, uidvalidity=fetched.uidvalidity,
        sender=mail.sender, recipients=json.dumps(mail.recipients), subject=mail.subject, date=iso(mail.date),
        internaldate=iso(fetched.internaldate), in_reply_to=" ".join(mail.in_reply_to),
        refs=" ".join(mail.references), thread_index=mail.thread_index, automatic=mail.automatic,
        size=fetched.size, kind=str(c.kind), reason=c.reason, incident_id=c.incident_id, seen_at=iso(now))


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}h"
