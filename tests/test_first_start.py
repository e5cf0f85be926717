"""A first start over years of mail, against a real Dovecot: old mail is fetched without its body, and the old mail
that names the escalation ladder or the agent is still recorded, classified and threaded (the rest is passed over by
the server: tests/test_old_mail.py); what can still matter is fetched whole."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from agent.adapters.config import load
from agent.adapters.imap import Mailbox
from agent.adapters.store import Store
from agent.core.reading.folder import OLD, whole_after
from agent.engine.service import Agent
from support import SUPPORT, agent_command, query, reply, t1, write_config


def dated(msg, when: datetime):
    msg.replace_header("Date", format_datetime(when))
    return msg


def noise(n: int, when: datetime) -> bytes:
    return (
        f"From: Build Bot <ci@tools.partner.test>\r\nTo: watch@partner.test\r\nSubject: nightly build {n} passed\r\n"
        f"Date: {format_datetime(when)}\r\nMessage-ID: <build-{n}@tools.partner.test>\r\n"
        f"Content-Type: text/plain\r\n\r\n{'log line ' * 400}\r\n"
    ).encode()


def test_old_mail_comes_without_its_body_and_recent_mail_whole(servers, tmp_path):
    dovecot, relay = servers
    now = datetime.now(UTC)
    dovecot.append("watch", noise(1, now - timedelta(days=400)), internaldate=now - timedelta(days=400))
    dovecot.append("watch", noise(2, now - timedelta(hours=2)), internaldate=now - timedelta(hours=2))
    cfg = load(write_config(tmp_path, dovecot, relay))
    box = Mailbox(cfg.imap)
    try:
        pending = box.pending("INBOX", None)
        [chunk] = list(box.fetch(pending, cfg.agent.max_message_bytes, whole_after(now, timedelta(hours=24))))
    finally:
        box.close()
    old, recent = chunk.mails
    assert (old.header_only, recent.header_only) == (OLD, None)
    assert b"log line" not in old.raw and b"Subject: nightly build 1 passed" in old.raw
    assert old.size > 3000  # the server's RFC822.SIZE, not the length of what was fetched
    assert b"log line" in recent.raw


def test_a_first_start_over_years_of_mail_records_old_t1s_stale_and_threads_replies_to_them(servers, tmp_path):
    dovecot, relay = servers
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=700)
    old_t1 = dated(t1(subject="Incentives API down (last year)"), long_ago)
    mails = [
        (old_t1, long_ago),
        (dated(reply(old_t1), long_ago + timedelta(minutes=40)), long_ago + timedelta(minutes=40)),
        (dated(reply(old_t1, sender=SUPPORT, body="Fixed now."), now - timedelta(hours=1)), now - timedelta(hours=1)),
    ]
    for msg, when in mails:
        dovecot.append("watch", msg.as_bytes(), internaldate=when)
    for n in range(30):
        dovecot.append("watch", noise(n, long_ago + timedelta(days=n)), internaldate=long_ago + timedelta(days=n))
    fresh = t1(when=now - timedelta(minutes=2))  # today's T1: fetched whole, its SOP items read
    dovecot.append("watch", fresh.as_bytes(), internaldate=now - timedelta(minutes=2))
    config = write_config(tmp_path, dovecot, relay)
    cfg = load(config)
    agent = Agent(cfg, Store(cfg.agent.database))
    try:
        assert agent.sync(now) == 3  # the 30 old build mails and the old reply name neither the ladder nor the agent
    finally:
        agent.close()
        agent.store.close()
    db = cfg.agent.database
    rows = query(db, "SELECT id, state, t1_text, missing_items FROM incidents ORDER BY id")
    [(stale_id, stale_state, stale_text, stale_missing), (_, live_state, text, missing)] = rows
    assert (stale_state, stale_text, json.loads(stale_missing), live_state) == ("stale", "", [], "awaiting_response")
    assert "Contact phone number" in text and json.loads(missing) == []
    threaded = query(db, "SELECT kind FROM messages WHERE incident_id = ? AND kind != 't1' ORDER BY date", stale_id)
    # the old reply (to Alice and the shared mailbox only) was passed over; today's, fetched whole, finds the stale T1
    assert [k for (k,) in threaded] == ["response"]
    [(opened,)] = query(db, "SELECT detail FROM events WHERE kind = 'incident_opened' AND incident_id = ?", stale_id)
    assert f"SOP items not read (only its header was fetched: {OLD})" in opened
    assert query(db, "SELECT count(*) FROM notices WHERE incident_id = ?", stale_id) == [(0,)]
    assert query(db, "SELECT count(*) FROM messages WHERE kind = 'unrelated'") == [(0,)]
    [(passed,)] = query(db, "SELECT detail FROM events WHERE kind = 'old_mail_passed_over'")
    assert passed.startswith("INBOX: 31 mails from before ")


def test_the_first_status_lists_what_needs_a_person_not_the_old_t1s_recorded_stale(servers, tmp_path):
    dovecot, relay = servers
    now = datetime.now(UTC)
    for n in range(12):
        old = dated(t1(subject=f"API errors, case {n} of last year"), now - timedelta(days=300 + n))
        dovecot.append("watch", old.as_bytes(), internaldate=now - timedelta(days=300 + n))
    dovecot.append("watch", t1(when=now - timedelta(minutes=2)).as_bytes(), internaldate=now - timedelta(minutes=2))
    config = write_config(tmp_path, dovecot, relay)
    cfg = load(config)
    agent = Agent(cfg, Store(cfg.agent.database))
    try:
        agent.sync(now)
    finally:
        agent.close()
        agent.store.close()
    shown = json.loads(agent_command(config, "status", "--json").stdout)
    assert [r["state"] for r in shown] == ["awaiting_response"]
    everything = json.loads(agent_command(config, "status", "--all", "--json").stdout)
    assert sorted(r["state"] for r in everything) == ["awaiting_response"] + ["stale"] * 12
    text = agent_command(config, "status").stdout
    assert "(12 older T1s, seen after max_incident_age and never escalated: status --all lists them)" in text
    assert "stale" not in text.split("(12 older")[0]
