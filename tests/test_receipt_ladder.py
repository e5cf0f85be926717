"""A case system's receipt is no response, end to end through `escalation-agent run` against the real Dovecot and
SMTP relay (windows of seconds); and its mirror, a person's short answer, which is.

Found in the field: the vendor's case system acknowledged the T1 within a second (From no-reply@, subject
`[Case 12345678] Re: <T1 subject>`, "This is an automated message ... please do not reply", threaded, no automatic
header); the agent took it for the vendor's answer and never sent the T2."""

import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from support import (
    ALICE,
    T1_ADDR,
    T2_ADDR,
    WATCHED,
    AgentProcess,
    agent_command,
    query,
    send,
    sent_to,
    status_json,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

RECEIPT_BODY = (
    "This is an automated message.\n\nThank you for contacting Vendor Partner Support. We have received your request "
    "and a case has been created: Case 12345678. A member of our team will respond according to your support plan."
    "\n\nPlease do not reply to this email.\n"
)


def vendor_mail(incident: EmailMessage, sender: str, subject_tag: str, body: str) -> EmailMessage:
    """The vendor's mail in the T1's thread, as its case system (or a person through it) writes it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ALICE
    msg["Cc"] = f"{WATCHED}, {T1_ADDR}"
    msg["Subject"] = f"{subject_tag}Re: {incident['Subject']}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="vendor.test")
    msg["In-Reply-To"] = incident["Message-ID"]
    msg["References"] = incident["Message-ID"]
    msg.set_content(body)
    return msg


def test_a_receipt_a_second_after_the_t1_keeps_the_ladder_and_the_t2_says_so(servers, tmp_path):
    dovecot, relay = servers
    db = tmp_path / "state.db"
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="8s", escalation_t3_after="1h")
    incident = t1()
    with AgentProcess(config) as agent:
        send(relay, incident)
        sent_at = time.time()
        time.sleep(1)
        send(relay, vendor_mail(incident, "Vendor Support <no-reply@vendor.test>", "[Case 12345678] ", RECEIPT_BODY))
        wait_until(lambda: query(db, "SELECT 1 FROM messages WHERE kind = 'receipt'"), 20, "the receipt read")
        [state] = query(db, "SELECT state FROM incidents")[0]
        assert state == "awaiting_response"
        [t2] = [a for a in relay.wait_for(to(T2_ADDR), 30) if T2_ADDR in a.rcpt_tos]
        assert time.time() - sent_at >= 8 - 1  # on its window (the T1's Date has a second's grain), not before
        # Status and show say it, while the agent runs.
        [row] = status_json(config)
        text = agent_command(config, "status").stdout
        shown = agent_command(config, "show", "1").stdout
    assert "Traceback" not in agent.output()
    msg = t2.message()
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    [(acknowledged_at,)] = query(db, "SELECT acknowledged_at FROM incidents")
    at = datetime.fromisoformat(acknowledged_at).astimezone(UTC).strftime("%H:%M:%S GMT")
    sentence = f"The vendor's system acknowledged the T1 at {at}"
    assert sentence in plain and "no person has answered" in plain
    assert sentence.replace("'", "&#x27;") in html or sentence in html
    assert row["state"] == "awaiting_response" and row["acknowledged_at"] == acknowledged_at
    assert f"receipt {at[:5]} GMT" in text
    assert f"acknowledged by the vendor's system at {at}" in shown and "no person's answer" in shown
    assert query(db, "SELECT case_id FROM case_ids") == [("12345678",)]  # learned from the receipt
    [(detail,)] = query(db, "SELECT detail FROM events WHERE kind = 'acknowledged'")
    assert detail.startswith(f"acknowledged by the vendor's system at {at}")
    assert len(sent_to(relay, T2_ADDR)) == 1


def test_a_person_s_short_answer_a_second_after_the_t1_stops_the_ladder(servers, tmp_path):
    dovecot, relay = servers
    db = tmp_path / "state.db"
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="6s", escalation_t3_after="1h")
    incident = t1()
    with AgentProcess(config) as agent:
        send(relay, incident)
        due = time.monotonic() + 6
        time.sleep(1)
        # Through the same case system (the case tag, its support address), a second after the T1: a person's words.
        answer = vendor_mail(
            incident, "Vendor Support <support@vendor.test>", "[Case 12345678] ", "Looking into it now."
        )
        send(relay, answer)
        wait_until(lambda: query(db, "SELECT state FROM incidents") == [("responded",)], 20, "the answer stops it")
        wait_until(lambda: time.monotonic() > due + 3, 30, "past the T2's deadline")
        wait_until(lambda: query(db, "SELECT 1 FROM messages WHERE kind = 'response'"), 5, "the answer recorded")
    assert sent_to(relay, T2_ADDR) == []
    assert query(db, "SELECT acknowledged_at FROM incidents") == [(None,)]
    assert "Traceback" not in agent.output()
