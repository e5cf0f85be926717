"""Servers that go away and come back, while `escalation-agent run` keeps going."""

import tempfile
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from agent.adapters.sqlite import sqlite3
from support import LOCAL, T2_ADDR, USERS, AgentProcess, query, send, sent_to, t1, to, wait_until, write_config
from tools.localmail import Dovecot, SmtpRelay, free_port

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers


def test_imap_down_at_the_deadline_escalates_after_the_grace_and_says_so(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="ea-o-", dir="/tmp"))  # our own root: the Maildir survives a restart
    # The agent sends through a relay that does not deliver into the (stopped) Dovecot: its mail still goes out.
    with Dovecot(USERS, root=root) as dovecot, SmtpRelay(dovecot, LOCAL) as people, SmtpRelay(None, {}) as relay:
        config = write_config(tmp_path, dovecot, relay, escalation_t2_after="6s", agent_unconfirmed_grace="3s")
        with AgentProcess(config) as agent:
            incident = t1()
            send(people, incident)
            wait_until(lambda: query(tmp_path / "state.db", "SELECT id FROM incidents"), 10, "incident opened")
            dovecot.stop()
            deadline = parsedate_to_datetime(incident["Date"]).timestamp() + 6
            assert time.time() < deadline  # the mailbox is down before the deadline
            [esc] = [a for a in relay.wait_for(to(T2_ADDR), 20) if T2_ADDR in a.rcpt_tos]
            assert esc.accepted_at - deadline >= 3  # not at the deadline: after the grace
            body = esc.message().get_body(("plain",)).get_content()
            assert "could not be read since" in body and "a reply in that time may have been missed" in body
            time.sleep(3)
            dovecot.start()
            wait_until(lambda: "imap: working again" in agent.output(), 15, "recovery logged")
        log = agent.output()
        errors = [line for line in log.splitlines() if " ERROR " in line and "IMAP server" in line]
        # One outage, one ERROR line, however its symptoms change ("shutting down", then "refused"); one line back.
        assert len(errors) == 1 and log.count("working again") == 1, log
    assert len(sent_to(relay, T2_ADDR)) == 1


def test_smtp_down_then_back_sends_what_is_due_within_one_cycle(servers, tmp_path):
    dovecot, relay = servers
    port = free_port()
    config = write_config(tmp_path, dovecot, relay, smtp_port=port, escalation_t2_after="1s")
    with AgentProcess(config) as agent:
        send(relay, t1())
        failed = "SELECT count(*) FROM events WHERE kind = 'send_failed'"
        wait_until(lambda: (query(tmp_path / "state.db", failed) or [(0,)])[0][0] >= 3, 20, "three failed attempts")
        with SmtpRelay(dovecot, LOCAL, port=port) as back:
            back_at = time.time()
            [esc] = [a for a in back.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
            assert esc.accepted_at - back_at < 6  # within one (backed-off, capped) cycle
    log = agent.output()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "cannot reach SMTP server" in errors[0], log  # once, not per retry
    assert log.count("smtp: working again") == 1
    attempts = query(tmp_path / "state.db", "SELECT attempts, status FROM escalations")
    assert attempts[0][1] == "sent" and attempts[0][0] >= 4


def test_a_database_locked_for_a_while_delays_but_loses_nothing(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s")
    with AgentProcess(config) as agent:
        wait_until(lambda: query(tmp_path / "state.db", "SELECT count(*) FROM mailbox_state"), 10, "first sync")
        blocker = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock, as a careless auditor's tool might
        send(relay, t1())
        time.sleep(4)
        blocker.execute("ROLLBACK")
        blocker.close()
        relay.wait_for(to(T2_ADDR), 40)
    assert len(sent_to(relay, T2_ADDR)) == 1
    assert "Traceback" not in agent.output()
