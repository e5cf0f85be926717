"""No blackout: a long first sync or re-map reads its recent mail first and the old rest a slice a cycle, while the
incidents already known keep their deadlines. Against a real Dovecot and SMTP relay; in-process agents."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.engine import reading
from agent.engine.service import Agent
from support import T2_ADDR, query, reply, send, sent_to, t1, write_config


@pytest.fixture(autouse=True)
def small_backlogs(monkeypatch):
    """A backlog from 20 mails on, 5 a chunk: the same paths as 50,000 mails, with a folder a test can fill."""
    monkeypatch.setattr(reading, "SPLIT_OVER", 20)
    monkeypatch.setattr(reading, "CHUNK", 5)


def old_mail(n: int, when: datetime) -> bytes:
    """The vendor's answer to an old question, to all (the urgent line too): old mail that names the escalation
    ladder, which the server does not pass over (tests/test_old_mail.py), so it is fetched."""
    return (
        f"From: Support <support@vendor.test>\r\nTo: watch@partner.test\r\nCc: urgent@vendor.test\r\n"
        f"Subject: RE: question {n}\r\n"
        f"Date: {format_datetime(when)}\r\nMessage-ID: <digest-{n}@vendor.test>\r\n"
        f"In-Reply-To: <question-{n}@partner.test>\r\n\r\nold answer {n}\r\n"
    ).encode()


def fill(dovecot, now: datetime, count: int = 40) -> None:
    for n in range(count):
        when = now - timedelta(days=300 - n)
        dovecot.append("watch", old_mail(n, when), internaldate=when)


def agent_for(config):
    cfg = load(config)
    return Agent(cfg, Store(cfg.agent.database))


def test_a_first_start_escalates_a_live_incident_before_its_backlog_of_old_mail_is_read(servers, tmp_path):
    dovecot, relay = servers
    now = datetime.now(UTC)
    fill(dovecot, now)
    live = t1(when=now - timedelta(minutes=5))
    dovecot.append("watch", live.as_bytes(), internaldate=now - timedelta(minutes=5))
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2m")
    db = tmp_path / "state.db"
    agent = agent_for(config)
    try:
        first = agent.cycle(backlog_budget=0)  # no time for the backlog: only the recent part is read
        assert first.backlog_left == 40 and len(sent_to(relay, T2_ADDR)) == 1
        assert query(db, "SELECT state, t1_message_id FROM incidents") == [("awaiting_response", live["Message-ID"])]
        assert query(db, "SELECT last_uid, reading FROM mailbox_state") == [(0, "first sync INBOX 0 / 40")]
        second = agent.cycle(backlog_budget=0.001)  # one chunk a cycle at least
        assert second.backlog_left == 35
        [(reading_now, last_uid)] = query(db, "SELECT reading, last_uid FROM mailbox_state")
        assert reading_now == "first sync INBOX 5 / 40" and last_uid == 5  # how far the old part is read
        while agent.cycle().backlog_left:
            pass
    finally:
        agent.close()
        agent.store.close()
    # the old mail, the T1, and the T2's copy to the watched mailbox, which came while the backlog was read
    assert query(db, "SELECT count(*), max(uid) FROM messages") == [(42, 42)]
    assert query(db, "SELECT last_uid, reading FROM mailbox_state") == [(42, None)]
    assert len(sent_to(relay, T2_ADDR)) == 1


def test_a_restart_midway_through_a_backlog_goes_on_from_where_it_stopped(servers, tmp_path):
    dovecot, relay = servers
    now = datetime.now(UTC)
    fill(dovecot, now)
    config = write_config(tmp_path, dovecot, relay)
    db = tmp_path / "state.db"
    first = agent_for(config)
    first.cycle(backlog_budget=0.001)
    first.close()
    first.store.close()  # as after a crash: the backlog in memory is gone
    assert query(db, "SELECT last_uid FROM mailbox_state") == [(5,)]
    second = agent_for(config)
    try:
        assert second.sync(now) == 35
    finally:
        second.close()
        second.store.close()
    assert query(db, "SELECT count(*), count(DISTINCT message_id) FROM messages") == [(40, 40)]


def test_a_renumbered_folder_keeps_a_live_deadline_and_a_new_reply_stops_the_ladder(servers, tmp_path):
    """The recent part of a renumbered folder is re-mapped first; the reply that came meanwhile is read by the
    check before the send, while most of the old mail is still to be re-mapped."""
    dovecot, relay = servers
    now = datetime.now(UTC)
    fill(dovecot, now)
    sent = now - timedelta(seconds=30)
    answered, waiting = t1(subject="API down: F500", when=sent), t1(subject="Reports API: 503", when=sent)
    for msg in (answered, waiting):
        send(relay, msg)
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1h")
    db = tmp_path / "state.db"
    agent = agent_for(config)
    try:
        agent.sync(now)
        dovecot.set_uid_validity("watch", 4242)
        agent.close()  # Dovecot drops the session of a renumbered folder: the next cycle connects again
        send(relay, reply(answered))  # arrives while the folder is renumbered
        agent.config = load(write_config(tmp_path, dovecot, relay, escalation_t2_after="1s"))
        agent.reader.config = agent.config
        report = agent.cycle(backlog_budget=0)
        assert report.backlog_left == 40
        assert [m.message()["Subject"] for m in sent_to(relay, T2_ADDR)] == ["[T2 escalation] Reports API: 503"]
        assert query(db, "SELECT subject, state FROM incidents ORDER BY id") == [
            ("API down: F500", "responded"),
            ("Reports API: 503", "awaiting_response"),
        ]
        assert query(db, "SELECT uidvalidity FROM mailbox_state") != [(4242,)]  # the re-map is not over
        while agent.cycle().backlog_left:
            pass
    finally:
        agent.close()
        agent.store.close()
    assert query(db, "SELECT uidvalidity FROM mailbox_state") == [(4242,)]
    assert query(db, "SELECT count(*) FROM messages WHERE uidvalidity != 4242") == [(0,)]
    [(detail,)] = query(db, "SELECT detail FROM events WHERE kind = 'mailbox_reset'")
    assert detail.endswith("re-mapped by Message-ID: 42 known, 1 new")
    assert len(sent_to(relay, T2_ADDR)) == 1


def test_two_folders_backlogs_each_read_from_its_own_folder(servers, tmp_path):
    dovecot, relay = servers
    now = datetime.now(UTC)
    for n in range(30):
        when = now - timedelta(days=300 - n)
        dovecot.append("watch", old_mail(n, when), internaldate=when)
        dovecot.append("watch", old_mail(100 + n, when), folder="Archive", internaldate=when)
    db = tmp_path / "state.db"
    agent = agent_for(write_config(tmp_path, dovecot, relay, imap_folders="INBOX, Archive"))
    try:
        assert agent.cycle(backlog_budget=0).backlog_left == 60
        while agent.cycle(backlog_budget=0.001).backlog_left:
            pass
    finally:
        agent.close()
        agent.store.close()
    rows = query(db, "SELECT folder, message_id FROM messages ORDER BY folder, uid")
    assert [m for f, m in rows if f == "Archive"] == [f"<digest-{100 + n}@vendor.test>" for n in range(30)]
    assert [m for f, m in rows if f == "INBOX"] == [f"<digest-{n}@vendor.test>" for n in range(30)]
    assert query(db, "SELECT folder, last_uid, reading FROM mailbox_state ORDER BY folder") == [
        ("Archive", 30, None),
        ("INBOX", 30, None),
    ]


def test_a_deadline_cuts_a_backlog_slice_short():
    """Pure: a cycle reads its backlog for SLICE seconds, or until the next deadline, whichever comes first."""
    from agent.engine.reading import slice_budget

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert slice_budget(0.5, None, now) == 0.5
    assert slice_budget(0.5, now + timedelta(seconds=10), now) == 0.5
    assert slice_budget(0.5, now + timedelta(seconds=0.2), now) == 0.2
    assert slice_budget(0.5, now - timedelta(seconds=1), now) == 0.0  # due already: the next cycle sends first
    assert slice_budget(None, now + timedelta(seconds=0.2), now) is None  # `poll`: one cycle reads it all


def test_after_a_long_outage_of_the_agent_an_old_reply_to_a_waiting_incident_is_read_before_any_send(servers, tmp_path):
    """The agent saw a T1 six days ago (with a T2 window of a week) and was then down. The vendor answered five
    days ago, so its reply is far older than max_incident_age: it is still read, and before the ladder decides,
    not left in a backlog of old mail."""
    dovecot, relay = servers
    now = datetime.now(UTC)
    then = now - timedelta(days=6)
    incident = t1(when=then)
    dovecot.append("watch", incident.as_bytes(), internaldate=then)
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="7d", escalation_t3_after="1h")
    db = tmp_path / "state.db"
    agent = agent_for(config)
    try:
        agent.sync(then + timedelta(minutes=1))  # read when it was new: an incident awaiting a response
        answered = now - timedelta(days=5)
        answer = reply(incident, body="Fixed on our side, sorry for the trouble.")
        dovecot.append("watch", answer.as_bytes(), internaldate=answered)
        fill(dovecot, now)  # and a long backlog of old mail behind it
        agent.config = load(write_config(tmp_path, dovecot, relay, escalation_t2_after="1h"))
        agent.reader.config = agent.config
        agent.cycle(backlog_budget=0)
    finally:
        agent.close()
        agent.store.close()
    assert sent_to(relay, T2_ADDR) == []
    assert query(db, "SELECT state FROM incidents") == [("responded",)]


class FailingOnce:
    """An IMAPClient whose FETCH of these UIDs fails once, as a dropped connection does."""

    def __init__(self, client, fail_uids: set, failed: list):
        self._client, self._fail, self._failed = client, fail_uids, failed

    def fetch(self, uids, items, *args, **kwargs):
        if not self._failed and self._fail & set(uids):
            self._failed.append(sorted(uids))
            raise ConnectionError("the connection dropped")
        return self._client.fetch(uids, items, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def failing_agent(config, fail_uids: set, failed: list):
    from agent.adapters.imap import Mailbox
    from agent.adapters.imap_connect import connect

    cfg = load(config)
    return Agent(
        cfg, Store(cfg.agent.database), Mailbox(cfg.imap, lambda c: FailingOnce(connect(c), fail_uids, failed))
    )


def test_a_failed_read_of_the_recent_part_leaves_no_recent_mail_unread(servers, tmp_path, monkeypatch):
    """The recent part of a long sync is read in chunks (here of 2). The second chunk, the vendor's reply, fails to
    come (the T2 waits out unconfirmed_grace meanwhile): the next cycle reads it, and it stops the ladder."""
    from agent.adapters import imap as imap_mod

    monkeypatch.setattr(imap_mod, "CHUNK", 2)
    dovecot, relay = servers
    now = datetime.now(UTC)
    fill(dovecot, now, count=30)  # UIDs 1-30, a year old
    incident = t1(when=now - timedelta(minutes=30, seconds=5))  # its T2 due 5 s ago
    for msg in (incident, t1(subject="other", when=now - timedelta(minutes=1)), reply(incident)):
        dovecot.append("watch", msg.as_bytes(), internaldate=now - timedelta(minutes=20))  # UIDs 31-33
    failed: list = []
    agent = failing_agent(write_config(tmp_path, dovecot, relay, escalation_t2_after="30m"), {33}, failed)
    db = tmp_path / "state.db"
    try:
        assert not agent.cycle(backlog_budget=0).mailbox_ok and failed == [[33]]
        report = agent.cycle(backlog_budget=0)
        assert report.mailbox_ok and report.backlog_left == 30
        assert sent_to(relay, T2_ADDR) == []
        while agent.cycle().backlog_left:
            pass
    finally:
        agent.close()
        agent.store.close()
    assert query(db, "SELECT count(*) FROM messages") == [(33,)]
    assert query(db, "SELECT state FROM incidents ORDER BY id") == [("responded",), ("awaiting_response",)]


def test_a_backlog_chunk_that_fails_is_read_again_and_an_expunged_one_skips_nothing(servers, tmp_path):
    dovecot, relay = servers
    now = datetime.now(UTC)
    fill(dovecot, now)
    db = tmp_path / "state.db"
    config = write_config(tmp_path, dovecot, relay)
    failed: list = []
    agent = failing_agent(config, {12}, failed)  # the third chunk of 5 fails once
    try:
        agent.cycle(backlog_budget=0)
        while not failed:
            agent.cycle(backlog_budget=0.001)  # a chunk a cycle
        assert agent.reader.backlog_left() == 30  # the failed chunk is still to be read
        with dovecot.imap("watch") as c:  # a retention policy deletes the chunk after it meanwhile
            c.select_folder("INBOX")
            c.delete_messages([16, 17, 18, 19, 20])
            c.expunge()
        while agent.reader.backlog_left() > 20:
            agent.cycle(backlog_budget=0.001)  # UIDs 11-15 again, then 16-20: nothing is left of them
        [(last_uid,)] = query(db, "SELECT last_uid FROM mailbox_state")
        assert last_uid < agent.reader.backlogs["INBOX"].uids[0]  # never past what the backlog has still to read
    finally:
        agent.close()
        agent.store.close()
    restarted = agent_for(config)  # as after a crash here
    try:
        restarted.sync(now)
    finally:
        restarted.close()
        restarted.store.close()
    uids = [u for (u,) in query(db, "SELECT uid FROM messages ORDER BY uid")]
    assert uids == [u for u in range(1, 41) if not 16 <= u <= 20]


def test_status_forgets_the_progress_of_a_backlog_that_a_stopped_process_was_reading(servers, tmp_path):
    dovecot, relay = servers
    fill(dovecot, datetime.now(UTC))
    config = write_config(tmp_path, dovecot, relay)
    db = tmp_path / "state.db"
    first = agent_for(config)
    first.cycle(backlog_budget=0.001)
    first.close()
    first.store.close()
    assert query(db, "SELECT reading FROM mailbox_state") == [("first sync INBOX 5 / 40",)]
    with dovecot.imap("watch") as c:  # meanwhile most of the old mail is deleted: no backlog any more
        c.select_folder("INBOX")
        c.delete_messages(list(range(6, 41)))
        c.expunge()
    second = agent_for(config)
    try:
        assert second.cycle().backlog_left == 0
    finally:
        second.close()
        second.store.close()
    assert query(db, "SELECT reading FROM mailbox_state") == [(None,)]


def test_a_renumbered_folder_finds_a_mail_without_message_id_under_the_id_an_earlier_version_gave_it(servers, tmp_path):
    """Earlier versions made the id of a mail without a Message-ID from its bytes; a re-map must not take such a
    mail for new (a T1 without one would open a second incident)."""
    from agent.core.reading.mail import bytes_message_id

    dovecot, relay = servers
    raw = b"From: Bob <bob@partner.test>\r\nTo: watch@partner.test\r\nSubject: no id\r\n\r\nlunch?\r\n"
    dovecot.append("watch", raw)
    config = write_config(tmp_path, dovecot, relay)
    db = tmp_path / "state.db"
    agent = agent_for(config)
    try:
        assert agent.sync(datetime.now(UTC)) == 1
        [(uid, stored)] = dovecot.messages("watch").items()
        with agent.store.transaction():  # as an earlier version recorded it
            agent.store.db.execute("UPDATE messages SET message_id = ?", [bytes_message_id(stored)])
        dovecot.set_uid_validity("watch", 5151)
        agent.close()
        assert agent.sync(datetime.now(UTC)) == 0
    finally:
        agent.close()
        agent.store.close()
    assert query(db, "SELECT message_id, uidvalidity FROM messages") == [(bytes_message_id(stored), 5151)]


def test_a_first_start_on_an_empty_database_reads_the_sends_of_a_live_incident_before_it_decides(servers, tmp_path):
    """issue 22: a rebuilt host over a large mailbox. Its recent part holds the live incident's T1 and the T2 that
    the lost host sent (its stamped copy): read before the first decision, so the T2 is not sent again."""
    dovecot, relay = servers
    now = datetime.now(UTC)
    fill(dovecot, now)
    live = t1(when=now - timedelta(minutes=5))
    dovecot.append("watch", live.as_bytes(), internaldate=now - timedelta(minutes=5))
    (tmp_path / "lost").mkdir()
    (tmp_path / "rebuilt").mkdir()
    lost = agent_for(
        write_config(tmp_path / "lost", dovecot, relay, escalation_t2_after="2m", escalation_t3_after="30m")
    )
    try:
        lost.cycle(backlog_budget=0)
    finally:
        lost.close()
        lost.store.close()
    assert len(sent_to(relay, T2_ADDR)) == 1  # its CC copy is in the mailbox now, with the old mail before it
    rebuilt = agent_for(
        write_config(tmp_path / "rebuilt", dovecot, relay, escalation_t2_after="2m", escalation_t3_after="30m")
    )
    try:
        first = rebuilt.cycle(backlog_budget=0)
        assert first.backlog_left == 40 and first.sent == []
        assert first.next_deadline is not None and first.next_deadline > now + timedelta(minutes=20)  # the T3's
    finally:
        rebuilt.close()
        rebuilt.store.close()
    db = tmp_path / "rebuilt" / "state.db"
    assert query(db, "SELECT tier, status FROM escalations") == [(2, "sent")]
    assert len(sent_to(relay, T2_ADDR)) == 1
