"""The vendor answers from more than one domain: a reply from any configured responder domain stops the
ladder; a look-alike domain that is not configured does not, and the operator is shown it (issue 16)."""

import time

import pytest

from support import (
    T2_ADDR,
    AgentProcess,
    agent_command,
    query,
    reply,
    send,
    sent_to,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e
RESPONDERS = "vendor.test, vendor-eu.test"


def state(db, msg):
    rows = query(db, "SELECT state FROM incidents WHERE t1_message_id = ?", msg["Message-ID"])
    return rows[0][0] if rows else None


def test_a_reply_from_a_second_responder_domain_stops_the_ladder(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s", escalation_responder_domains=RESPONDERS)
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        wait_until(lambda: state(db, incident), 10, "incident opened")
        send(relay, reply(incident, sender="oncall@support.vendor-eu.test"))  # a subdomain of the second one
        wait_until(lambda: state(db, incident) == "responded", 10, "responded")
        time.sleep(4 + 2)
    assert sent_to(relay, T2_ADDR) == []


def test_a_look_alike_domain_is_no_response_and_is_shown_once(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s", escalation_responder_domains=RESPONDERS)
    db = tmp_path / "state.db"
    with AgentProcess(config) as agent:
        incident = t1()
        send(relay, incident)
        wait_until(lambda: state(db, incident), 10, "incident opened")
        first = reply(incident, sender="kenji@vendor.example")  # the vendor's name under another suffix
        send(relay, first)
        send(relay, reply(first, sender="kenji@vendor.example", body="Still looking."))
        relay.wait_for(to(T2_ADDR), 15)  # the ladder went on
        wait_until(
            lambda: len(query(db, "SELECT id FROM messages WHERE sender = 'kenji@vendor.example'")) == 2,
            10,
            "both mails seen",
        )
        output = agent.output()
    assert state(db, incident) == "awaiting_response"
    events = query(db, "SELECT detail FROM events WHERE kind = 'vendor_lookalike'")
    assert len(events) == 1 and "vendor.example looks like the vendor's vendor.test" in events[0][0]
    assert output.count("looks like the vendor's vendor.test") == 1
    shown = agent_command(config, "show", "1").stdout
    assert "outsiders   kenji@vendor.example" in shown
    kinds = query(db, "SELECT kind, reason FROM messages WHERE sender = 'kenji@vendor.example'")
    assert kinds[0] == ("in_thread", "kenji@vendor.example is neither internal nor a responder")


def test_check_warns_about_a_tier_address_the_responder_domains_miss(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t3_address="t3@leadership.test")
    done = agent_command(config, "check")
    assert done.returncode == 0, done.stderr
    assert "Warning: [escalation] t3_address t3@leadership.test is not in responder_domains" in done.stderr
