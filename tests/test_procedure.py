"""The rest of the procedure, end to end through `escalation-agent run`: notices for missing items,
misroutes, bounces and an exhausted ladder; escalations sent by hand."""

import email
import email.policy
import json
import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from support import (
    AGENT,
    ALICE,
    BOB,
    T1_ADDR,
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

CORPUS = Path(__file__).parent / "corpus"


def fresh(name: str) -> email.message.EmailMessage:
    """A corpus mail as if sent just now: new Date and Message-ID, everything else as the client wrote it."""
    msg = email.message_from_bytes((CORPUS / name).read_bytes(), policy=email.policy.default)
    msg.replace_header("Date", format_datetime(datetime.now(UTC)))
    msg.replace_header("Message-ID", make_msgid(domain="partner.test"))
    return msg


def notices_to(relay, address):
    return [
        a
        for a in list(relay.accepted)
        if a.mail_from == AGENT and address in a.rcpt_tos and "[escalation-agent]" in str(a.message()["Subject"])
    ]


def body_of(accepted) -> str:
    return accepted.message().get_body(("plain",)).get_content()


def test_missing_items_earn_one_notice_to_our_people_and_the_escalation_still_goes_on_time(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s", escalation_t3_after="1h")
    incident = fresh("missing_items.eml")
    sender = email.utils.parseaddr(str(incident["From"]))[1]
    with AgentProcess(config):
        send(relay, incident)
        relay.wait_for(to(T2_ADDR), 15)
        time.sleep(2)
    [notice] = notices_to(relay, sender)
    assert T1_ADDR not in notice.rcpt_tos and T2_ADDR not in notice.rcpt_tos  # never the vendor
    assert notice.message()["In-Reply-To"] == incident["Message-ID"]
    text = body_of(notice)
    assert "Example request ID (for example: Acmes3324500H2)" in text
    assert "Contact phone number (for example: +81-3-3123-4567)" in text
    assert "Partner ID" not in text  # that one was given
    assert len(sent_to(relay, T2_ADDR)) == 1
    shown = agent_command(config, "show", "1").stdout
    assert "Partner ID:" in shown and "Acmes" in shown and "MISSING" in shown
    assert "notice missing_items: sent" in shown
    detail = json.loads(agent_command(config, "show", "1", "--json").stdout)
    assert "request_id" in detail["missing_items"] and detail["notices"][0]["kind"] == "missing_items"


def test_a_misroute_is_not_escalated_and_names_the_operations_team(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s")
    db = tmp_path / "state.db"
    expected = {
        "misroute_uk.eml": "corporate-gifts@amazon.co.uk",
        "misroute_ksa.eml": "mena-gc-ops@amazon.com",
        "misroute_jp.eml": "jp-gc-salesops@amazon.com",
    }
    sent = {}
    with AgentProcess(config):
        for name in expected:
            sent[name] = fresh(name)
            send(relay, sent[name])
        unknown = t1(subject="Insufficient Funds on every call", body="Every call fails: Insufficient Funds.\n")
        send(relay, unknown)
        not_urgent = t1(subject="Planned maintenance question")
        not_urgent.replace_header("To", "incentives-api@vendor.test")
        send(relay, not_urgent)
        wait_until(lambda: query(db, "SELECT count(*) FROM notices WHERE status = 'sent'") == [(4,)], 15, "4 notices")
        time.sleep(3)  # past the T2 window: nothing may go to the vendor
    assert sent_to(relay, T2_ADDR) == []
    assert query(db, "SELECT state, count(*) FROM incidents GROUP BY state") == [("misrouted", 4)]
    for name, team in expected.items():
        sender = email.utils.parseaddr(str(sent[name]["From"]))[1]
        [notice] = notices_to(relay, sender)
        text = body_of(notice)
        assert team in text, (name, text)
        assert "will not escalate" in text
    [all_teams] = notices_to(relay, ALICE)
    assert "corp-gc-salesops@amazon.com" in body_of(all_teams) and "corporate-gc-sg@amazon.com" in body_of(all_teams)
    assert "UK/TR" in body_of(all_teams) and "UAE/KSA" in body_of(all_teams)
    assert [r["state"] for r in status_json(config, "--all")] == ["misrouted"] * 4


def test_a_t2_sent_by_hand_is_not_sent_again_and_the_t3_window_runs_from_it(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s", escalation_t3_after="4s")
    incident = t1()
    with AgentProcess(config):
        send(relay, incident)
        time.sleep(1)
        by_hand = reply(incident, sender=BOB, body="Escalating to T2 by hand.", recipients=(T2_ADDR, ALICE, WATCHED))
        send(relay, by_hand)
        sent_at = time.time()
        [esc] = [a for a in relay.wait_for(to(T3_ADDR), 15) if T3_ADDR in a.rcpt_tos]
    assert [a for a in sent_to(relay, T2_ADDR)] == []  # only Bob's own T2 went to the T2 address
    assert 3 <= esc.accepted_at - sent_at <= 6
    assert query(tmp_path / "state.db", "SELECT tier, status FROM escalations ORDER BY tier") == [
        (2, "manual"),
        (3, "sent"),
    ]


def dsn(original: email.message.EmailMessage, failed: str, to_address: str) -> bytes:
    return f"""From: MAILER-DAEMON@mx.partner.test
To: {to_address}
Cc: {WATCHED}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(datetime.now(UTC))}
Message-ID: {make_msgid(domain="mx.partner.test")}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.partner.test

Final-Recipient: rfc822; {failed}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User unknown

--B
Content-Type: text/rfc822-headers

From: {original["From"]}
To: {original["To"]}
Subject: {original["Subject"]}
Message-ID: {original["Message-ID"]}

--B--
""".replace("\n", "\r\n").encode()


def test_bounces_are_told_at_once_and_are_never_a_response(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s", escalation_t3_after="1h")
    db = tmp_path / "state.db"
    incident = t1()
    with AgentProcess(config):
        send(relay, incident)
        wait_until(lambda: query(db, "SELECT id FROM incidents"), 10, "incident opened")
        dovecot.deliver("watch", dsn(incident, T1_ADDR, ALICE))
        [told] = [a for a in relay.wait_for(lambda acc: notices_to(relay, ALICE), 10) if a in notices_to(relay, ALICE)]
        assert "T1 NOT delivered" in str(told.message()["Subject"]) and "User unknown" in body_of(told)
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 10) if T2_ADDR in a.rcpt_tos]  # still escalates
        dovecot.deliver("watch", dsn(esc.message(), T2_ADDR, AGENT))
        wait_until(
            lambda: query(db, "SELECT count(*) FROM notices WHERE kind = 't2_bounced' AND status = 'sent'") == [(1,)],
            10,
            "the T2 bounce told",
        )
    assert query(db, "SELECT state, delivery_failure IS NOT NULL FROM incidents") == [("awaiting_response", 1)]
    assert query(db, "SELECT count(*) FROM messages WHERE kind = 'bounce'") == [(2,)]


def test_an_exhausted_ladder_is_told_once_and_the_incident_stays_open(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(
        tmp_path, dovecot, relay, escalation_t2_after="1s", escalation_t3_after="1s", escalation_exhausted_after="2s"
    )
    db = tmp_path / "state.db"
    incident = t1()
    with AgentProcess(config):
        send(relay, incident)
        wait_until(lambda: notices_to(relay, ALICE), 20, "the exhausted notice")
        time.sleep(2)
        send(relay, reply(incident))  # a late response is still recorded
        wait_until(lambda: query(db, "SELECT state FROM incidents") == [("responded",)], 10, "late response")
    [notice] = notices_to(relay, ALICE)
    text = body_of(notice)
    assert "Every tier" in text and re.search(r"T3 sent .* to t3@vendor.test", text)
    assert set(notice.rcpt_tos) == {ALICE, BOB, WATCHED}
