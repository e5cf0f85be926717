"""Push: with IMAP IDLE a vendor reply is seen within a second or two, however long poll_interval is."""

import threading
import time
from datetime import UTC, datetime

from test_mailbox import plain

from agent.adapters import imap_connect as mailbox
from agent.adapters.config import load
from agent.adapters.imap import Mailbox
from agent.adapters.store import Store
from agent.engine.service import Agent
from support import AgentProcess, agent_command, query, reply, send, t1, wait_until, write_config


def test_a_reply_is_seen_at_once_with_idle_and_polling_remains_the_fallback(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, agent_poll_interval=300, escalation_t2_after="10m")
    db = tmp_path / "state.db"
    with AgentProcess(config) as agent:
        wait_until(lambda: query(db, "SELECT count(*) FROM mailbox_state"), 10, "first sync")
        time.sleep(1)  # the agent is now waiting in IDLE
        latencies = []
        for n in range(3):
            incident = t1(subject=f"incident {n}")
            send(relay, incident)
            sent_at = time.time()
            wait_until(
                lambda incident=incident: query(
                    db, "SELECT id FROM incidents WHERE t1_message_id = ?", incident["Message-ID"]
                ),
                5,
                "the T1 seen through IDLE",
            )
            send(relay, reply(incident))
            sent_at = time.time()
            wait_until(
                lambda incident=incident: (
                    query(db, "SELECT state FROM incidents WHERE t1_message_id = ?", incident["Message-ID"])
                    == [("responded",)]
                ),
                5,
                "the reply seen through IDLE",
            )
            latencies.append(time.time() - sent_at)
    print(f"reply -> responded latencies with IDLE: {[round(x, 3) for x in latencies]} s")
    assert max(latencies) < 2.0  # poll_interval is 300 s: only IDLE can explain this
    assert "Traceback" not in agent.output()
    checked = agent_command(config, "check").stdout  # now that push was seen, check may promise it
    assert f"IMAP 127.0.0.1:{dovecot.imap_port} IDLE offered and seen announcing new mail (" in checked
    assert "replies are seen as they arrive" in checked
    assert query(db, "SELECT count(*) FROM events WHERE kind = 'idle_announced'") == [(1,)]  # once a run


def test_a_dead_idle_connection_is_replaced(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, agent_poll_interval=2)
    db = tmp_path / "state.db"
    with AgentProcess(config) as agent:
        wait_until(lambda: query(db, "SELECT count(*) FROM mailbox_state"), 10, "first sync")
        time.sleep(1)
        dovecot.doveadm("kick", "watch")  # the server drops the session mid-IDLE
        time.sleep(1)
        incident = t1()
        send(relay, incident)
        wait_until(lambda: query(db, "SELECT id FROM incidents"), 10, "mail seen on a new connection")
    log = agent.output()
    assert "waiting in IDLE failed" in log and "imap: working again" in log
    assert "Traceback" not in log


class Recorder:
    """A real IMAPClient whose calls are written down: which commands one cycle costs."""

    def __init__(self, client, calls: list):
        self._client, self._calls = client, calls

    def __getattr__(self, name):
        value = getattr(self._client, name)
        if callable(value) and not name.startswith("_"):
            self._calls.append(name)
        return value


def recorded_mailbox(config_path):
    cfg = load(config_path)
    calls = []
    return Mailbox(cfg.imap, factory=lambda c: Recorder(mailbox.connect(c), calls)), calls, cfg


def test_a_cycle_with_nothing_new_sends_no_examine_whatever_the_folder_holds(servers, tmp_path):
    dovecot, relay = servers
    dovecot.deliver("watch", plain(1))
    box, calls, cfg = recorded_mailbox(write_config(tmp_path, dovecot, relay, imap_folders="INBOX, Archive"))
    dovecot.append("watch", plain(2), folder="Archive")
    agent = Agent(cfg, Store(cfg.agent.database), mailbox=box)
    assert agent.sync(datetime.now(UTC)) == 2  # the first sync examines: Archive stays selected
    assert not box.wait_for_news(0.1, threading.Event())  # INBOX is examined again for IDLE
    del calls[:]
    assert agent.sync(datetime.now(UTC)) == 0
    assert not box.wait_for_news(0.1, threading.Event())
    # INBOX is selected: NOOP, SEARCH; Archive is not: STATUS. Then NOOP, SEARCH and IDLE on INBOX.
    assert calls == ["noop", "search", "folder_status", "noop", "search", "idle", "idle_check", "idle_done"]
    dovecot.append("watch", plain(3), folder="Archive")
    dovecot.deliver("watch", plain(4))
    assert agent.sync(datetime.now(UTC)) == 2  # found through NOOP and STATUS
    agent.close()


def test_a_mail_that_came_after_the_sync_wakes_the_wait_at_once(servers, tmp_path):
    dovecot, relay = servers
    box, calls, cfg = recorded_mailbox(write_config(tmp_path, dovecot, relay))
    agent = Agent(cfg, Store(cfg.agent.database), mailbox=box)
    for selected in (True, False):
        agent.sync(datetime.now(UTC))
        if not selected:  # as after a restart with nothing new: STATUS, and INBOX is not selected
            box.close()
            agent.sync(datetime.now(UTC))
            assert "select_folder" not in calls[-3:]
        dovecot.deliver("watch", plain(10 + selected))  # after the sync, before the IDLE: IDLE won't tell
        started = time.monotonic()
        assert box.wait_for_news(5, threading.Event())
        assert time.monotonic() - started < 1
        assert agent.sync(datetime.now(UTC)) == 1
    agent.close()
