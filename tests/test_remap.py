"""A renumbered folder (the server changed its UIDVALIDITY, as Exchange Online does on mailbox moves) is re-mapped by
Message-ID, not re-read: no incident re-opened, no tier or notice repeated, no audit event doubled."""

import time
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid, parsedate_to_datetime

import pytest

from agent.adapters.config import load as load_config
from agent.adapters.imap import Mailbox
from agent.adapters.imap_connect import connect
from agent.adapters.store import Store
from agent.engine.service import Agent
from support import (
    AGENT,
    SUPPORT,
    T2_ADDR,
    T3_ADDR,
    WATCHED,
    agent_command,
    query,
    reply,
    send,
    sent_to,
    t1,
    write_config,
)

pytestmark = pytest.mark.e2e

WINDOW = 4  # seconds: t2_after and t3_after


def deadline_of(msg, seconds=WINDOW) -> float:
    return parsedate_to_datetime(msg["Date"]).timestamp() + seconds


def chatter(subject: str, message_id: bool = True) -> bytes:
    """A people's mail to the watched mailbox that is no part of any incident; optionally without a Message-ID."""
    head = f"From: Bob <bob@partner.test>\r\nTo: {WATCHED}\r\nSubject: {subject}\r\n"
    head += f"Date: {format_datetime(datetime.now(UTC))}\r\n"
    if message_id:
        head += f"Message-ID: {make_msgid(domain='partner.test')}\r\n"
    return (head + f"\r\nlunch at noon? ({subject})\r\n").encode()


def remap_events(db):
    return [d for (d,) in query(db, "SELECT detail FROM events WHERE kind = 'mailbox_reset' ORDER BY id")]


def poll(config):
    result = agent_command(config, "poll")
    assert result.returncode == 0, result.stderr
    return result


def test_a_renumbering_mid_incident_repeats_nothing_and_a_later_reply_still_stops_the_ladder(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after=f"{WINDOW}s", escalation_t3_after=f"{WINDOW}s")
    db = tmp_path / "state.db"
    silent, answered = t1("Orders API: every call times out"), t1("Reports API: empty reports since 09:00 GMT")
    send(relay, silent)
    send(relay, answered)
    dovecot.deliver("watch", chatter("no id", message_id=False))
    poll(config)  # T1s seen, before the T2 deadline
    assert query(db, "SELECT count(*) FROM incidents") == [(2,)]
    events_before = query(db, "SELECT count(*) FROM events")[0][0]
    [(old,)] = query(db, "SELECT uidvalidity FROM mailbox_state")

    dovecot.set_uid_validity("watch", 4242)  # mid-incident: after the T1s, before their T2 deadline
    dovecot.deliver("watch", chatter("after the move"))  # the one mail the re-map has never seen
    assert time.time() < deadline_of(silent)
    poll(config)
    assert remap_events(db) == [f"INBOX: UIDVALIDITY {old} -> 4242; re-mapped by Message-ID: 3 known, 1 new"]
    assert query(db, "SELECT uidvalidity FROM mailbox_state") == [(4242,)]
    assert query(db, "SELECT DISTINCT uidvalidity FROM messages") == [(4242,)]
    assert query(db, "SELECT count(*) FROM messages") == [(4,)]
    # Nothing but the re-map's own event was added to the audit log: no incident re-opened, no mail re-told.
    assert query(db, "SELECT count(*) FROM events")[0][0] == events_before + 1

    send(relay, reply(answered, sender=SUPPORT))  # the vendor answers the second incident after the re-map
    poll(config)
    assert query(db, "SELECT state FROM incidents WHERE t1_message_id = ?", answered["Message-ID"]) == [("responded",)]

    time.sleep(max(0, deadline_of(silent) - time.time()) + 0.2)
    poll(config)  # the T2 of the silent incident
    t2_at = time.time()
    time.sleep(WINDOW + 0.5)
    for _ in range(3):  # the T3, then room for a duplicate of either
        poll(config)
    assert len(sent_to(relay, T2_ADDR)) == 1 and len(sent_to(relay, T3_ADDR)) == 1
    assert time.time() - t2_at >= WINDOW
    incident_of = dict(query(db, "SELECT t1_message_id, id FROM incidents"))
    assert query(db, "SELECT incident_id, tier FROM escalations WHERE status = 'sent' ORDER BY tier") == [
        (incident_of[silent["Message-ID"]], 2),
        (incident_of[silent["Message-ID"]], 3),
    ]
    assert query(db, "SELECT count(*) FROM incidents") == [(2,)]
    assert query(db, "SELECT incident_id, kind, count(*) FROM notices GROUP BY 1, 2 HAVING count(*) > 1") == []
    ids = [a.message()["Message-ID"] for a in relay.accepted if a.mail_from == AGENT]
    assert len(ids) == len(set(ids)) == 2
    assert (
        query(db, "SELECT incident_id, kind, detail, count(*) FROM events GROUP BY 1, 2, 3 HAVING count(*) > 1") == []
    )
    assert len(remap_events(db)) == 1


class Counting:
    """An IMAPClient that records every FETCH: which UIDs, which items."""

    die_on_bodies = False  # a crash midway: the connection dies when whole mails are fetched

    def __init__(self, client, fetches):
        self._client, self._fetches = client, fetches

    def fetch(self, uids, items, *args, **kwargs):
        self._fetches.append((sorted(uids), tuple(items)))
        if Counting.die_on_bodies and "BODY.PEEK[]" in items:
            raise ConnectionError("cut")
        return self._client.fetch(uids, items, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def bodies_fetched(fetches) -> set[int]:
    return {uid for uids, items in fetches if "BODY.PEEK[]" in items for uid in uids}


def renumber(dovecot, user: str, validity: int) -> None:
    """A mailbox move: every mail expunged and appended again (new UIDs), then a new UIDVALIDITY."""
    kept = dovecot.messages(user)
    with dovecot.imap(user) as c:
        c.select_folder("INBOX")
        c.delete_messages(list(kept))
        c.expunge()
    for raw in kept.values():
        dovecot.append(user, raw)
    dovecot.set_uid_validity(user, validity)


def test_the_remap_fetches_no_body_of_a_known_mail_and_a_crash_midway_is_safe_to_repeat(servers, tmp_path):
    dovecot, relay = servers
    config = load_config(write_config(tmp_path, dovecot, relay, agent_dry_run="true"))
    fetches: list = []
    store = Store(tmp_path / "state.db")
    agent = Agent(config, store, Mailbox(config.imap, lambda cfg: Counting(connect(cfg), fetches)))
    try:
        send(relay, t1())
        for i in range(5):
            dovecot.deliver("watch", chatter(f"note {i}"))
        dovecot.deliver("watch", chatter("no id", message_id=False))
        assert agent.cycle().new_mails == 7
        ids_before = dict(query(store.path, "SELECT message_id, uid FROM messages"))
        old = store.folder_state("INBOX").uidvalidity

        renumber(dovecot, "watch", 777)
        new_mail = chatter("after the move")
        dovecot.deliver("watch", new_mail)
        now = {uid: raw for uid, raw in dovecot.messages("watch").items()}
        [new_uid] = [uid for uid, raw in now.items() if raw.replace(b"\r\n", b"\n").endswith(b"(after the move)\n")]
        [no_id_uid] = [uid for uid, raw in now.items() if b"Message-ID" not in raw.split(b"\n\n")[0]]

        # A crash midway: the known rows are re-mapped, then the connection dies when the new mail is fetched.
        fetches.clear()
        Counting.die_on_bodies = True
        try:
            report = agent.cycle()
        finally:
            Counting.die_on_bodies = False
        assert not report.mailbox_ok
        assert store.folder_state("INBOX").uidvalidity == old  # the re-map is not over: it will be done again
        assert query(store.path, "SELECT count(*) FROM events WHERE kind = 'mailbox_reset'") == [(0,)]

        fetches.clear()
        assert agent.cycle().new_mails == 1
        assert bodies_fetched(fetches) == {new_uid, no_id_uid}  # the no-Message-ID mail: its bytes are its id
        header_only = [items for _, items in fetches if any("HEADER.FIELDS" in i for i in items)]
        assert header_only, fetches
        assert [d for (d,) in query(store.path, "SELECT detail FROM events WHERE kind = 'mailbox_reset'")] == [
            f"INBOX: UIDVALIDITY {old} -> 777; re-mapped by Message-ID: 7 known, 1 new"
        ]
        rows = dict(query(store.path, "SELECT message_id, uid FROM messages WHERE uidvalidity = 777"))
        assert len(rows) == 8 and set(rows.values()) == set(now)  # every row points at the mail's new UID
        assert all(rows[m] != ids_before[m] for m in ids_before)
        assert store.folder_state("INBOX").uidvalidity == 777
        assert store.folder_state("INBOX").last_uid == max(now)
        assert query(store.path, "SELECT count(*) FROM incidents") == [(1,)]

        fetches.clear()
        assert agent.cycle().new_mails == 0  # and the next cycle is an ordinary one
        assert bodies_fetched(fetches) == set()
    finally:
        agent.close()
        store.close()
