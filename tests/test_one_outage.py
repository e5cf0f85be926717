"""Issue 21.4 end to end through `escalation-agent run`: two engineers mail the urgent line 2 s apart about the same
outage, each in a thread of their own: one incident, one T2 naming both, both in its Cc; a vendor answer in the
second thread stops the ladder; another marketplace stays another incident."""

import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from support import (
    AGENT,
    ALICE,
    BOB,
    T1_ADDR,
    T2_ADDR,
    WATCHED,
    AgentProcess,
    agent_command,
    query,
    reply,
    send,
    sent_to,
    status_json,
    t1,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

# Bob's own words for the outage Alice reported in the SOP's table (tests/support.py COMPLETE_T1).
BOB_T1 = """Hi,

Our gift card redemptions are down since 11:15 UTC.

Partner ID - ACMES
Marketplace: Amazon.com (US)
Error: HTTP 500 with F500 General Error on every call
Request id: Acmes3324500J7

Bob
"""


def bob_t1(body: str = BOB_T1) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Bob Engineer <{BOB}>"
    msg["To"] = T1_ADDR
    msg["Cc"] = WATCHED
    msg["Subject"] = "URGENT: redemptions failing"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="partner.test")
    msg.set_content(body)
    return msg


def notices_to(relay, address) -> list:
    return [a for a in list(relay.accepted) if a.mail_from == AGENT and a.rcpt_tos[0] == address]


def test_two_t1s_about_one_outage_make_one_incident_and_one_t2_naming_both(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(
        tmp_path, dovecot, relay, escalation_t2_after="8s", escalation_t3_after="1h", escalation_join_same_outage="true"
    )
    first = t1()
    first.replace_header("Cc", WATCHED)  # each engineer alone on their own mail
    second = bob_t1()
    with AgentProcess(config):
        send(relay, first)
        time.sleep(2)
        send(relay, second)
        relay.wait_for(lambda _: bool(sent_to(relay, T2_ADDR)), 40)
        time.sleep(2)  # a second T2 would go at about the same moment
    [incident] = status_json(config, "--all")
    assert incident["t1_message_id"] == first["Message-ID"]
    [t2] = sent_to(relay, T2_ADDR)
    msg = t2.message()
    cc = str(msg["Cc"])
    assert ALICE in cc and BOB in cc and WATCHED in cc
    text = msg.get_body(("plain",)).get_content()
    assert first["Message-ID"] in text and second["Message-ID"] in text
    assert "A second T1 about the same outage" in text and f"by {BOB}" in text
    assert second["Message-ID"] in str(msg["References"])
    [attached] = [p for p in msg.iter_attachments() if p.get_content_type() == "message/rfc822"]
    assert attached.get_content()["Message-ID"] == first["Message-ID"]  # the first is attached
    [joined] = [n for n in notices_to(relay, BOB) if "joined incident 1" in str(n.message()["Subject"])]
    assert "T2 due at " in str(joined.message()["Subject"]) and joined.message()["In-Reply-To"] == second["Message-ID"]
    shown = agent_command(config, "show", "1").stdout
    assert "joined T1" in shown and "same partner id, marketplace and error" in shown and "t1_joined" in shown
    [(reason,)] = query(tmp_path / "state.db", "SELECT reason FROM joined_t1s")
    assert reason.startswith("same partner id, marketplace and error: partner id acmes, marketplace US, error F500")


def test_a_vendor_answer_in_the_second_thread_stops_the_ladder(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(
        tmp_path, dovecot, relay, escalation_t2_after="8s", escalation_t3_after="1h", escalation_join_same_outage="true"
    )
    first, second = t1(), bob_t1()
    with AgentProcess(config):
        send(relay, first)
        time.sleep(2)
        send(relay, second)
        wait_until(lambda: query(tmp_path / "state.db", "SELECT 1 FROM joined_t1s"), 20, "the second T1 joined")
        send(relay, reply(second, recipients=(BOB, WATCHED)))
        wait_until(
            lambda: status_json(config, "--all")[0]["state"] == "responded", 20, "the answer in thread 2 counted"
        )
        time.sleep(9)  # past the T2's deadline
    assert not sent_to(relay, T2_ADDR)
    assert len(status_json(config, "--all")) == 1


def test_another_marketplace_stays_another_incident(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(
        tmp_path, dovecot, relay, escalation_t2_after="6s", escalation_t3_after="1h", escalation_join_same_outage="true"
    )
    with AgentProcess(config):
        send(relay, t1())
        time.sleep(2)
        send(relay, bob_t1(BOB_T1.replace("Amazon.com (US)", "Amazon.de (DE)")))
        relay.wait_for(lambda _: len(sent_to(relay, T2_ADDR)) == 2, 40)
    assert len(status_json(config, "--all")) == 2
    assert not query(tmp_path / "state.db", "SELECT 1 FROM joined_t1s")


def test_the_second_t1_s_own_case_receipt_is_no_answer_and_the_t2_still_goes(servers, tmp_path):
    """Each T1 opens a case of its own at the vendor: the case system acknowledges each, seconds after it, from an
    ordinary address. The second receipt is the first vendor mail of the second thread: a receipt, not a response."""
    dovecot, relay = servers
    config = write_config(
        tmp_path, dovecot, relay, escalation_t2_after="8s", escalation_t3_after="1h", escalation_join_same_outage="true"
    )
    first, second = t1(), bob_t1()
    received = "Your request has been received."

    def receipt(to, case, recipients):
        msg = reply(to, sender="Support <support@vendor.test>", body=received, recipients=recipients)
        msg.replace_header("Subject", f"[Case {case}] RE: {to['Subject']}")
        return msg

    with AgentProcess(config):
        send(relay, first)
        send(relay, receipt(first, 11111111, (ALICE, WATCHED)))
        time.sleep(2)
        send(relay, second)
        wait_until(lambda: query(tmp_path / "state.db", "SELECT 1 FROM joined_t1s"), 20, "the second T1 joined")
        send(relay, receipt(second, 22222222, (BOB, WATCHED)))
        relay.wait_for(lambda _: bool(sent_to(relay, T2_ADDR)), 40)
    kinds = query(tmp_path / "state.db", "SELECT kind FROM messages WHERE sender = 'support@vendor.test'")
    assert sorted(k for (k,) in kinds) == ["receipt", "receipt"]
    assert status_json(config, "--all")[0]["state"] == "awaiting_response"
