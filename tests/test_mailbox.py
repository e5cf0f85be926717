"""The IMAP side against a real Dovecot: read-only, incremental, several folders, chunks, restarts."""

from datetime import UTC, datetime, timedelta

import pytest

from agent.adapters import imap as mailbox_mod
from agent.adapters import imap_connect
from agent.adapters.config import load
from agent.adapters.imap import Mailbox
from agent.adapters.store import Store
from agent.core.errors import MailboxError
from agent.core.reading import provenance
from agent.engine.service import Agent
from support import T2_ADDR, reply, send, sent_to, t1, write_config


def agent_for(config_path):
    cfg = load(config_path)
    return Agent(cfg, Store(cfg.agent.database))


def plain(n: int, folder_tag: str = "") -> bytes:
    return (
        f"From: news@else.test\r\nTo: watch@partner.test\r\nSubject: newsletter {n}\r\n"
        f"Message-ID: <n{n}{folder_tag}@else.test>\r\n\r\nhello {n}\r\n"
    ).encode()


def test_sync_is_read_only_and_incremental(servers, tmp_path):
    dovecot, relay = servers
    for n in range(3):
        dovecot.deliver("watch", plain(n))
    agent = agent_for(write_config(tmp_path, dovecot, relay))
    now = datetime.now(UTC)
    assert agent.sync(now) == 3
    assert agent.sync(now) == 0
    dovecot.deliver("watch", plain(3))
    assert agent.sync(now) == 1
    with dovecot.imap("watch") as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search(["ALL"]))
    assert all(b"\\Seen" not in f for f in flags.values())  # people see the mailbox as it was
    agent.close()


def test_a_restart_resumes_where_it_stopped(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay)
    for n in range(2):
        dovecot.deliver("watch", plain(n))
    first = agent_for(config)
    assert first.sync(datetime.now(UTC)) == 2
    first.close()
    first.store.close()
    dovecot.deliver("watch", plain(2))
    second = agent_for(config)
    assert second.sync(datetime.now(UTC)) == 1
    assert second.store.folder_state("INBOX").last_uid == 3
    second.close()


def test_folders_are_fetched_in_chunks_and_a_mail_in_two_folders_counts_once(servers, tmp_path, monkeypatch):
    dovecot, relay = servers
    monkeypatch.setattr(mailbox_mod, "CHUNK", 2)
    for n in range(5):
        dovecot.append("watch", plain(n))
    dovecot.append("watch", plain(0), folder="Archive")  # the same Message-ID, filed twice
    dovecot.append("watch", plain(9), folder="Archive")
    agent = agent_for(write_config(tmp_path, dovecot, relay, imap_folders="INBOX, Archive"))
    assert agent.sync(datetime.now(UTC)) == 6
    assert agent.store.db["messages"].count == 6
    assert agent.store.folder_state("INBOX").last_uid == 5
    assert agent.store.folder_state("Archive").last_uid == 2
    agent.close()


def test_a_first_start_over_old_mail_records_old_t1s_without_escalating(servers, tmp_path):
    dovecot, relay = servers
    old = datetime.now(UTC) - timedelta(days=3)
    dovecot.append("watch", t1(when=old).as_bytes(), internaldate=old)
    agent = agent_for(write_config(tmp_path, dovecot, relay, escalation_t2_after="1s"))
    agent.cycle()
    assert [r["state"] for r in agent.store.db["incidents"].rows] == ["stale"]
    assert relay.accepted == []
    agent.close()


def test_a_mail_over_the_size_cap_is_recorded_from_its_headers(servers, tmp_path):
    dovecot, relay = servers
    big = plain(1).replace(b"hello 1", b"x" * 5000)
    dovecot.deliver("watch", big)
    agent = agent_for(write_config(tmp_path, dovecot, relay, agent_max_message_bytes=2048))
    assert agent.sync(datetime.now(UTC)) == 1
    [row] = agent.store.db["messages"].rows
    assert row["message_id"] == "<n1@else.test>" and row["size"] > 5000
    agent.close()


def test_a_reply_that_arrives_between_decision_and_send_stops_the_escalation(servers, tmp_path):
    """Check, then act: the mailbox is read again right before a send."""
    dovecot, relay = servers
    config = load(write_config(tmp_path, dovecot, relay, escalation_t2_after="1s"))
    incident = t1(when=datetime.now(UTC) - timedelta(seconds=5))
    send(relay, incident)

    class ReplyArrivesMidCycle(Mailbox):
        calls = 0

        def pending(self, folder, known):
            ReplyArrivesMidCycle.calls += 1
            if ReplyArrivesMidCycle.calls == 2:  # the second read: after the decision, before the send
                send(relay, reply(incident))
            return super().pending(folder, known)

    agent = Agent(config, Store(config.agent.database), mailbox=ReplyArrivesMidCycle(config.imap))
    agent.cycle()
    assert ReplyArrivesMidCycle.calls == 2
    assert sent_to(relay, T2_ADDR) == []
    assert [r["state"] for r in agent.store.db["incidents"].rows] == ["responded"]
    agent.close()


def test_imap_failures_are_one_sentence(servers, tmp_path):
    dovecot, relay = servers
    wrong = load(write_config(tmp_path, dovecot, relay, imap_password="wrong"))
    with pytest.raises(
        MailboxError,
        match=rf"^IMAP server 127.0.0.1:{dovecot.imap_port} refused the login "
        r"for watch$",
    ):
        Mailbox(wrong.imap).check()
    missing = load(write_config(tmp_path, dovecot, relay, imap_folders="INBOX, Nope"))
    with pytest.raises(MailboxError, match="examining the folders failed"):
        Mailbox(missing.imap).check()
    dovecot.stop()
    with pytest.raises(MailboxError, match=r"failed \(Connection refused\)$"):
        Mailbox(wrong.imap).pending("INBOX", None)


def test_a_connection_dropped_mid_fetch_resumes_without_loss_or_duplicates(servers, tmp_path, monkeypatch):
    dovecot, relay = servers
    monkeypatch.setattr(mailbox_mod, "CHUNK", 10)
    for n in range(35):
        dovecot.deliver("watch", plain(n))
    config = load(write_config(tmp_path, dovecot, relay))
    fetches = []

    def flaky(cfg):
        """A real connection whose socket is cut after its third FETCH, as a network failure would."""
        client = imap_connect.connect(cfg)
        real = client.fetch

        def fetch(*args, **kwargs):
            fetches.append(1)
            if len(fetches) == 3:
                client.socket().shutdown(2)
            return real(*args, **kwargs)

        client.fetch = fetch
        return client

    agent = Agent(config, Store(config.agent.database), mailbox=Mailbox(config.imap, factory=flaky))
    first = agent.safe_cycle()
    assert first is not None and first.mailbox_ok is False
    assert 0 < agent.store.db["messages"].count < 35
    agent.safe_cycle()
    assert agent.store.db["messages"].count == 35
    assert agent.store.folder_state("INBOX").last_uid == 35
    agent.close()


def test_a_send_is_found_on_the_server_by_its_provenance_alone(servers, tmp_path):
    """For fencing (a member about to send looks for another's copy first): SEARCH HEADER on the stamp's fields, as a
    relay may have re-folded them."""
    dovecot, relay = servers
    stamp = provenance.folded(provenance.stamp("t2", "<t1-99@partner.test>", "host-a"))
    copy = (
        "From: Escalation agent <agent@partner.test>\r\nTo: t2@vendor.test\r\nCc: watch@partner.test\r\n"
        f"Subject: [T2 escalation] API down\r\nMessage-ID: <1.2.3.escalation@partner.test>\r\n"
        f"{provenance.HEADER}: {stamp.replace(chr(10), chr(13) + chr(10))}\r\n\r\nbody\r\n"
    ).encode()
    dovecot.deliver("watch", plain(1))
    dovecot.deliver("watch", copy)
    mailbox = Mailbox(load(write_config(tmp_path, dovecot, relay)).imap)
    try:

        def found(kind, t1, sender="agent@partner.test"):
            return [fields for fields, _ in mailbox.copies(provenance.HEADER, kind, t1, sender)]

        [fields] = found("t2", "<t1-99@partner.test>")
        assert b"<1.2.3.escalation@partner.test>" in fields
        assert not found("t2", "<t1-99@partner.test>", sender="mallory@partner.test")
        assert not found("t3", "<t1-99@partner.test>")
        assert not found("t2", "<t1-other@partner.test>")
    finally:
        mailbox.close()
