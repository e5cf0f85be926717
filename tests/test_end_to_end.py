"""Whole incidents through `escalation-agent run` as a process, against real Dovecot and SMTP, windows of seconds."""

import time
from email.utils import parsedate_to_datetime

import pytest

from support import (
    ALICE,
    BOB,
    SUPPORT,
    T2_ADDR,
    T3_ADDR,
    WATCHED,
    AgentProcess,
    agent_command,
    query,
    reply,
    send,
    sent_to,
    status_json,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

WINDOW = 3  # seconds: t2_after and t3_after
POLL = 1


def deadline_of(msg, seconds=WINDOW) -> float:
    return parsedate_to_datetime(msg["Date"]).timestamp() + seconds


def incident_state(db, t1_msg):
    rows = query(db, "SELECT state FROM incidents WHERE t1_message_id = ?", t1_msg["Message-ID"])
    return rows[0][0] if rows else None


def test_no_reply_escalates_to_t2_then_t3_each_exactly_once_and_on_time(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay)
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        [esc_t2] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
        [esc_t3] = [a for a in relay.wait_for(to(T3_ADDR), 15) if T3_ADDR in a.rcpt_tos]
        time.sleep(WINDOW + 2 * POLL)  # room for a duplicate to show up, were there one
    assert len(sent_to(relay, T2_ADDR)) == 1 and len(sent_to(relay, T3_ADDR)) == 1
    t2_late = esc_t2.accepted_at - deadline_of(incident)
    t3_late = esc_t3.accepted_at - (esc_t2.accepted_at + WINDOW)
    assert -0.01 <= t2_late <= POLL + 1 and -0.01 <= t3_late <= POLL + 1, (t2_late, t3_late)

    mail = esc_t2.message()
    assert mail["In-Reply-To"] == incident["Message-ID"]
    assert mail["Subject"] == f"[T2 escalation] {incident['Subject']}"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert set(esc_t2.rcpt_tos) == {T2_ADDR, ALICE, WATCHED, BOB}
    assert "Partner ID: Acmes" in mail.get_body(("plain",)).get_content()
    assert esc_t3.message()["In-Reply-To"] == mail["Message-ID"]
    # The CC copies really landed in the watched mailbox, and the agent recognised them as its own.
    assert wait_until(
        lambda: (
            query(tmp_path / "state.db", "SELECT count(*) FROM escalations WHERE confirmed_at IS NOT NULL")[0][0] == 2
        ),
        10,
        "CC copies confirmed",
    )
    [row] = status_json(config)
    assert (row["state"], row["tier"], row["next_tier"]) == ("awaiting_response", 3, "exhausted notice")
    assert row["t1_message_id"] == incident["Message-ID"]


def test_a_vendor_reply_before_t2_means_nothing_is_sent(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s")
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        wait_until(lambda: incident_state(tmp_path / "state.db", incident), 10, "incident opened")
        send(relay, reply(incident))
        wait_until(lambda: incident_state(tmp_path / "state.db", incident) == "responded", 10, "responded")
        time.sleep(max(0, deadline_of(incident, 4) - time.time()) + 2 * POLL)
    assert sent_to(relay, T2_ADDR) == [] and sent_to(relay, T3_ADDR) == []
    [row] = status_json(config)
    assert (row["state"], row["tier"], row["next_deadline"]) == ("responded", 1, None)


def test_a_vendor_reply_to_the_t2_stops_the_t3(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t3_after="4s")
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        [esc_t2] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
        send(relay, reply(esc_t2.message(), sender="manager@vendor.test"))
        wait_until(lambda: incident_state(tmp_path / "state.db", incident) == "responded", 10, "responded")
        time.sleep(max(0, esc_t2.accepted_at + 4 - time.time()) + 2 * POLL)
    assert sent_to(relay, T3_ADDR) == []


def test_an_automatic_acknowledgement_is_not_a_response(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay)
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        send(relay, reply(incident, body="Your ticket 123 was received.", headers={"Auto-Submitted": "auto-replied"}))
        relay.wait_for(to(T2_ADDR), 15)
    kinds = query(tmp_path / "state.db", "SELECT kind FROM messages WHERE sender = ?", SUPPORT)
    assert kinds == [("receipt",)]  # a case system's receipt (agent.core.reading.receipts), no response


def test_an_internal_any_update_is_not_a_response(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay)
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        send(relay, reply(incident, sender=BOB, body="Any update?", recipients=("urgent@vendor.test", WATCHED)))
        relay.wait_for(to(T2_ADDR), 15)
    assert query(tmp_path / "state.db", "SELECT kind FROM messages WHERE sender = ?", BOB) == [("follow_up",)]


def test_an_agent_started_after_the_deadline_escalates_at_once(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s")
    incident = t1()
    send(relay, incident)
    time.sleep(max(0, deadline_of(incident, 2) - time.time()) + 1)  # the agent was down past the deadline
    started = time.time()
    with AgentProcess(config):
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 10) if T2_ADDR in a.rcpt_tos]
    assert esc.accepted_at - started < 5  # at once: no window is waited out again (process start included)
    assert len(sent_to(relay, T2_ADDR)) == 1


def test_poll_three_times_past_the_deadline_sends_exactly_one_t2(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1s", escalation_t3_after="1h")
    incident = t1()
    send(relay, incident)
    time.sleep(max(0, deadline_of(incident, 1) - time.time()) + 0.5)
    outputs = [agent_command(config, "poll") for _ in range(3)]
    assert [r.returncode for r in outputs] == [0, 0, 0], [r.stderr for r in outputs]
    assert "sent: incident 1 T2" in outputs[0].stdout
    assert "sent: nothing" in outputs[1].stdout and "sent: nothing" in outputs[2].stdout
    assert len(sent_to(relay, T2_ADDR)) == 1


def test_a_uidvalidity_change_in_between_causes_no_duplicates(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s", escalation_t3_after="1h")
    incident = t1()
    send(relay, incident)
    assert agent_command(config, "poll").returncode == 0
    dovecot.set_uid_validity("watch", 4242)
    time.sleep(max(0, deadline_of(incident, 2) - time.time()) + 0.2)
    for _ in range(2):
        result = agent_command(config, "poll")
        assert result.returncode == 0, result.stderr
    assert len(sent_to(relay, T2_ADDR)) == 1
    db = tmp_path / "state.db"
    assert query(db, "SELECT count(*) FROM incidents") == [(1,)]
    assert query(db, "SELECT uidvalidity FROM mailbox_state") == [(4242,)]
    assert query(db, "SELECT count(*) FROM events WHERE kind = 'mailbox_reset'") == [(1,)]


def test_sigterm_stops_run_cleanly_and_it_says_so(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay)
    agent = AgentProcess(config).start()
    wait_until(lambda: "started" in agent.output(), 10, "agent started")
    assert agent.stop() == 0
    assert agent.output().rstrip().endswith("INFO agent.service: stopped")
    assert "Traceback" not in agent.output()
