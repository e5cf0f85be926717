"""One fetched mail -> its row, its classification and its effects on an incident, in one transaction. What the mail
is, the core decides (agent.core.deciding.arrive); here are the store's answers to it and the writes."""

import json
from dataclasses import dataclass, replace
from datetime import datetime

from agent.adapters.rows import MessageRow
from agent.adapters.store import Store
from agent.core.deciding.arrive import Opened, arrive, same_outage
from agent.core.deciding.classify import Candidate, Classification, Kind, Thread, Via, classify
from agent.core.deciding.consequences import effects
from agent.core.deciding.effect import Arrival, Open
from agent.core.deciding.ties import ThreadMail
from agent.core.reading.folder import Fetched
from agent.core.reading.mail import Mail
from agent.core.settings import Config
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
    rules = config.escalation
    records = _Records(store)
    arrival = arrive(fetched, records, rules, config.imap.address, config.smtp.from_address)
    if arrival is None:
        return None
    mail, c = arrival.mail, arrival.classification
    with store.transaction():
        incident = store.incident(c.incident_id) if c.incident_id is not None else None
        if c.kind == Kind.COMMAND:
            arrival = replace(arrival, recent=_recent(store, c))
        if c.kind == Kind.T1:  # the incident's row first: the mail's own row points at it
            joins = same_outage(mail, rules, records)
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


class _Records:
    """The store, answering what a mail's reading asks (agent.core.deciding.arrive.Records)."""

    def __init__(self, store: Store):
        self.store = store

    def has_message(self, message_id: str) -> bool:
        return self.store.has_message(message_id)

    def has_case_ids(self) -> bool:
        return self.store.has_case_ids()

    def incident_for_message_ids(self, ids: tuple[str, ...]) -> int | None:
        return self.store.incident_for_message_ids(ids)

    def incident_for_thread_index(self, key: str) -> int | None:
        return self.store.incident_for_thread_index(key)

    def incidents_with_subject(self, subject_key: str) -> list[Candidate]:
        return self.store.incidents_with_subject(subject_key)

    def incident_for_case_ids(self, ids: tuple[str, ...]) -> int | None:
        return self.store.incident_for_case_ids(ids)

    def own_message_ids(self, among: tuple[str | None, ...]) -> frozenset[str]:
        return self.store.own_message_ids(among)

    def opened(self, incident_id: int) -> Opened:
        row = self.store.incident_record(incident_id)
        joined = tuple((j.message_id, from_iso(j.sent_at)) for j in self.store.joined_t1s(incident_id))
        return Opened(from_iso(row.t1_sent_at), row.subject_key, joined)

    def senders(self, incident_id: int) -> list[tuple[str, str, frozenset[str]]]:
        return [
            (m.message_id, m.sender or "", frozenset(f"{m.in_reply_to or ''} {m.refs or ''}".split()))
            for m in self.store.thread_messages(incident_id)
        ]

    def thread_mails(self, incident_id: int) -> list[ThreadMail]:
        return self.store.thread_mails(incident_id)

    def outbox_message_ids(self, incident_id: int) -> frozenset[str]:
        return self.store.outbox_message_ids(incident_id)

    def open_outages(self) -> list[tuple[int, dict, str | None]]:
        return self.store.open_outages()


def _recent(store: Store, c: Classification) -> tuple[str, ...]:
    """What happened last to the incident, in words for people: the answer to #status."""
    if c.incident_id is None:
        return ()
    return history.recent((from_iso(e.at), e.kind, e.detail) for e in store.audit_events(c.incident_id))


def _adopt(store: Store, orphan: MessageRow, incident_id: int | None, config: Config, now: datetime) -> None:
    """A mail seen before its T1 (another folder, an earlier UID): classify it again, now in the thread."""
    if incident_id is None or orphan.kind == "untrusted":  # a spoofed sender never counts, seen early or late
        return
    mail = _orphan_mail(orphan)
    own = store.own_message_ids((mail.message_id, mail.original_message_id))
    c = classify(mail, Thread(incident_id, Via.HEADERS), config.escalation, config.smtp.from_address, own)
    store.attach_message(mail.message_id, incident_id, str(c.kind), c.reason)
    # A copy of our own send read before its T1 (the T1 filed in another folder) still counts as sent.
    arrival = Arrival(mail, c, internaldate=from_iso(orphan.internaldate), unknown_own=c.kind == Kind.OWN and not own)
    apply(store, config, incident_id, effects(arrival, store.incident(incident_id), config, now), now)


def _orphan_mail(orphan: MessageRow) -> Mail:
    """An orphan's `Mail` as its row recorded it: the header's facts, and no body (the row keeps none)."""
    return Mail(
        message_id=orphan.message_id,
        subject=orphan.subject,
        sender=orphan.sender,
        sender_name="",
        to=tuple(json.loads(orphan.recipients)),
        cc=(),
        date=from_iso(orphan.date),
        in_reply_to=(),
        references=(),
        thread_index=None,
        automatic=orphan.automatic,
        text="",
        html="",
        size=orphan.size,
        defects=(),
        original_message_id=orphan.original_message_id,
        provenance=orphan.provenance or "",
    )


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
