"""Found in the field (issue 11): case systems answer without References, and relays rewrite Message-IDs.

`escalation-agent run` as a process against a real Dovecot and SMTP relay, windows of seconds. Every mail is
written here the way each system writes it, from the public descriptions of their formats: a Salesforce
Email-to-Case answer (the case number and the Ref ID wrapped around the subject, no In-Reply-To/References), a
ServiceNow acknowledgement and notification (INC number in the subject, a `Ref:MSG…` watermark in the body),
our own CC copy relayed by Outlook.com (X-Microsoft-Original-Message-ID) and a T1 relayed by Gmail
(X-Google-Original-Message-ID).
"""

import json
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parsedate_to_datetime

import pytest

from agent.adapters.config import load
from agent.adapters.imap import Mailbox
from support import (
    ALICE,
    BOB,
    T1_ADDR,
    T2_ADDR,
    T3_ADDR,
    WATCHED,
    AgentProcess,
    agent_command,
    query,
    send,
    sent_to,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e

CASE_NUMBER = "17239946151"
REF_ID = "ref:_00D5f2Hq1._5005f0A9xQ:ref"  # Salesforce: org id and case id, minified
VENDOR = "Vendor Support <support@vendor.test>"


def vendor_mail(subject: str, text: str, *, sender=VENDOR, domain="sfdc.vendor.test", headers=None) -> EmailMessage:
    """A mail from the vendor's case system to Alice with the watched mailbox in Cc; no thread headers unless given."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ALICE
    msg["Cc"] = WATCHED
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=domain)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    html = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
    msg.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
    return msg


SALESFORCE_HEADERS = {  # what Email-to-Case stamps on its mail (values for this test's org)
    "X-SFDC-LK": "00D5f2Hq1",
    "X-SFDC-User": "0055f000007bQxY",
    "X-Sender": "postmaster@sfdc.vendor.test",
    "X-SFDC-TLS-NoRelay": "1",
    "X-SFDC-Binding": "1WrIRBV94myi25uB",
    "X-SFDC-EmailCategory": "networksCaseFeed",
}


def message_row(db, message_id):
    rows = query(db, "SELECT incident_id, kind, reason FROM messages WHERE message_id = ?", message_id)
    return rows[0] if rows else None


def state(db, incident_id=1):
    rows = query(db, "SELECT state FROM incidents WHERE id = ?", incident_id)
    return rows[0][0] if rows else None


def relayed(raw: bytes, new_id: str, header: str, extra: dict[str, str]) -> bytes:
    """The mail as a relay hands it on: its Message-ID replaced, ours kept under `header`, the relay's own on top."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    eol = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
    lines = head.split(eol)
    [old] = [line for line in lines if line.lower().startswith(b"message-id:")]
    kept = [line for line in lines if line is not old]
    added = [f"{k}: {v}".encode() for k, v in extra.items()]
    original = old.split(b":", 1)[1].strip()
    added += [f"{header}: ".encode() + original, f"Message-ID: {new_id}".encode()]
    return eol.join(added + kept) + sep + body


def test_a_salesforce_case_reply_without_references_stops_the_ladder_and_its_case_id_ties_later_mail(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="5s")
    db = tmp_path / "state.db"
    incident = t1()
    answer = vendor_mail(
        f"[Case {CASE_NUMBER}] RE: {incident['Subject']} [ {REF_ID} ]",
        "Hello Alice,\n\nthank you for contacting Vendor Support. An engineer is investigating the F500 errors "
        "and will update you within the hour.\n\nKind regards,\nVendor Support\n\n" + REF_ID,
        headers=SALESFORCE_HEADERS,
    )
    rca = vendor_mail(  # days later in real life: another subject, no thread headers, the Ref ID in the body only
        "Root cause analysis: Incentives API errors on 25 November",
        "Dear partner,\n\nplease find the root cause analysis of the recent incident below.\n\n"
        "A configuration change caused the F500 responses; it was rolled back.\n\n" + REF_ID,
        headers=SALESFORCE_HEADERS,
    )
    unrelated = vendor_mail(  # the same vendor, another case of another partner's
        "[Case 17239940000] Planned maintenance on 2 December [ ref:_00D5f2Hq1._5005f0B7zZ:ref ]",
        "Dear partner,\n\nplanned maintenance is scheduled.\n\nref:_00D5f2Hq1._5005f0B7zZ:ref",
        headers=SALESFORCE_HEADERS,
    )
    with AgentProcess(config):
        send(relay, incident)
        wait_until(lambda: state(db) == "awaiting_response", 10, "incident opened")
        send(relay, answer)
        wait_until(lambda: state(db) == "responded", 10, "the case reply counted as the response")
        deadline = parsedate_to_datetime(incident["Date"]).timestamp() + 5
        send(relay, rca)
        send(relay, unrelated)
        wait_until(lambda: message_row(db, unrelated["Message-ID"]), 10, "the unrelated mail recorded")
        wait_until(lambda: message_row(db, rca["Message-ID"]), 10, "the RCA recorded")
        time.sleep(max(0, deadline - time.time()) + 2)  # past the T2's deadline: nothing may go
    assert sent_to(relay, T2_ADDR) == []
    assert message_row(db, answer["Message-ID"])[:2] == (1, "response")
    assert query(db, "SELECT case_id FROM case_ids WHERE incident_id = 1 ORDER BY rowid") == [
        (CASE_NUMBER,),
        (REF_ID,),
    ]
    assert message_row(db, rca["Message-ID"])[0] == 1
    [(detail,)] = query(db, "SELECT detail FROM events WHERE kind = 'mail' AND detail LIKE ?", f"%{rca['Message-ID']}%")
    assert "thread by the vendor's case id" in detail
    assert message_row(db, unrelated["Message-ID"])[0] is None
    shown = agent_command(config, "show", "1")
    assert shown.returncode == 0, shown.stderr
    assert f"vendor case {CASE_NUMBER}, {REF_ID}" in shown.stdout
    as_json = json.loads(agent_command(config, "show", "1", "--json").stdout)
    assert as_json["case_ids"] == [CASE_NUMBER, REF_ID]


def test_a_servicenow_case_number_learned_from_its_acknowledgement_ties_the_answer(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="5s")
    db = tmp_path / "state.db"
    incident = t1()
    servicenow = {"X-ServiceNow-Source": "Notification-4a8d5e1fdb2b3300", "X-ServiceNow-SysEmail-Version": "2"}
    ack = vendor_mail(  # the inbound action's answer: threaded, automatic, INC in the subject, the watermark below
        "Incident INC0012345 has been opened on your behalf",
        "Your incident INC0012345 has been opened. Reply to this mail to add comments.\n\nRef:MSG0012345",
        sender="Vendor Service Desk <servicedesk@vendor.test>",
        domain="vendor.service-now.test",
        headers={
            **servicenow,
            "Auto-Submitted": "auto-generated",
            "In-Reply-To": incident["Message-ID"],
            "References": incident["Message-ID"],
        },
    )
    comment = vendor_mail(  # a person's comment, sent as a new notification: no In-Reply-To, another subject
        "INC0012345 - Comments added",
        "Jane Doe (Vendor Support) commented:\n\nWe have reproduced the F500 and are rolling back.\n\nRef:MSG0012345",
        sender="Jane Doe <jane.doe@vendor.test>",
        domain="vendor.service-now.test",
        headers=servicenow,
    )
    with AgentProcess(config):
        send(relay, incident)
        wait_until(lambda: state(db) == "awaiting_response", 10, "incident opened")
        send(relay, ack)
        wait_until(lambda: query(db, "SELECT count(*) FROM case_ids")[0][0] == 2, 10, "the case ids learned")
        assert state(db) == "awaiting_response"  # an acknowledgement is no response
        send(relay, comment)
        wait_until(lambda: state(db) == "responded", 10, "the comment counted as the response")
        time.sleep(max(0, parsedate_to_datetime(incident["Date"]).timestamp() + 5 - time.time()) + 2)
    assert sent_to(relay, T2_ADDR) == []
    assert message_row(db, ack["Message-ID"])[:2] == (1, "receipt")  # the case system's acknowledgement
    assert message_row(db, comment["Message-ID"])[:2] == (1, "response")
    assert query(db, "SELECT case_id FROM case_ids ORDER BY rowid") == [("INC0012345",), ("MSG0012345",)]


def test_our_cc_copy_relayed_by_outlook_under_a_new_message_id_confirms_the_send_and_a_reply_to_it_stops_t3(
    servers, tmp_path
):
    dovecot, relay = servers
    # The watched address is one the test relay does not deliver: our CC copy reaches the mailbox only as the
    # test hands it over, the way Outlook.com relays it, under a new Message-ID.
    copies = "escalations@partner.test"
    config = write_config(
        tmp_path, dovecot, relay, imap_address=copies, escalation_t2_after="2s", escalation_t3_after="6s"
    )
    db = tmp_path / "state.db"
    incident = t1()
    incident.replace_header("Cc", f"{copies}, {BOB}")
    rewritten = "<AM9PR01MB7654C1D2E3F4A5B6@AM9PR01MB7654.eurprd01.prod.outlook.test>"
    with AgentProcess(config):
        dovecot.deliver("watch", incident.as_bytes(), ALICE)
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
        ours = esc.message()["Message-ID"]
        outlook = {
            "X-MS-Exchange-Organization-AuthSource": "AM9PR01MB7654.eurprd01.prod.outlook.test",
            "X-MS-Exchange-Organization-AuthAs": "Anonymous",
            "X-OriginatorOrg": "outlook.test",
        }
        dovecot.deliver("watch", relayed(esc.data, rewritten, "X-Microsoft-Original-Message-ID", outlook), ALICE)
        wait_until(lambda: query(db, "SELECT confirmed_at FROM escalations WHERE tier = 2")[0][0], 10, "T2 confirmed")
        reply = EmailMessage()  # the vendor's manager answers the copy it got: In-Reply-To the rewritten id
        reply["From"] = "Vendor Manager <manager@vendor.test>"
        reply["To"] = ALICE
        reply["Cc"] = copies
        reply["Subject"] = "RE: " + esc.message()["Subject"]
        reply["Date"] = format_datetime(datetime.now(UTC))
        reply["Message-ID"] = make_msgid(domain="vendor.test")
        reply["In-Reply-To"] = rewritten
        reply["References"] = rewritten
        reply.set_content("We are on it; our support team will call you.")
        dovecot.deliver("watch", reply.as_bytes(), "manager@vendor.test")
        wait_until(lambda: state(db) == "responded", 10, "the reply to the rewritten copy counted")
        time.sleep(max(0, esc.accepted_at + 6 - time.time()) + 2)  # past the T3's deadline
    assert sent_to(relay, T3_ADDR) == []
    [(detail,)] = query(db, "SELECT detail FROM events WHERE kind = 'confirmed'")
    assert ours in detail and rewritten in detail
    assert query(db, "SELECT original_message_id, kind FROM messages WHERE message_id = ?", rewritten) == [
        (ours, "own")
    ]
    [(responded,)] = query(db, "SELECT detail FROM events WHERE kind = 'responded'")
    assert "thread by in-reply-to/references" in responded
    # After a crash mid-send the agent looks for its copy: it finds it under the rewritten id too.
    mailbox = Mailbox(load(config).imap)
    try:
        assert mailbox.holds_message_id(ours)
        assert not mailbox.holds_message_id("<never-sent@partner.test>")
    finally:
        mailbox.close()


def test_a_t1_relayed_by_gmail_under_a_new_message_id_still_threads_the_vendors_reply(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="5s")
    db = tmp_path / "state.db"
    incident = t1()
    original = incident["Message-ID"]
    gmail_id = "<CAHx9kP2m1q8rT4vW0yZ3bN6cD7eF8gH9iJ0kL1mN2oP3qR4sT5@mail.gmail.test>"
    relay.send(incident, ALICE, [T1_ADDR])  # the vendor gets the original; the mailbox only Gmail's copy
    copy = relayed(incident.as_bytes(), gmail_id, "X-Google-Original-Message-ID", {"X-Gm-Message-State": "AOJu0Yw"})
    reply = EmailMessage()
    reply["From"] = VENDOR
    reply["To"] = ALICE
    reply["Cc"] = WATCHED
    reply["Subject"] = "RE: " + incident["Subject"]
    reply["Date"] = format_datetime(datetime.now(UTC))
    reply["Message-ID"] = make_msgid(domain="vendor.test")
    reply["In-Reply-To"] = original
    reply["References"] = original
    reply.set_content("We see the errors and are investigating.")
    with AgentProcess(config):
        dovecot.deliver("watch", copy, ALICE)
        wait_until(lambda: state(db) == "awaiting_response", 10, "incident opened from Gmail's copy")
        send(relay, reply)
        wait_until(lambda: state(db) == "responded", 10, "the reply to the original id counted")
        time.sleep(max(0, parsedate_to_datetime(incident["Date"]).timestamp() + 5 - time.time()) + 2)
    assert sent_to(relay, T2_ADDR) == []
    assert query(db, "SELECT t1_message_id FROM incidents") == [(gmail_id,)]
    [(responded,)] = query(db, "SELECT detail FROM events WHERE kind = 'responded'")
    assert "thread by in-reply-to/references" in responded
    mailbox = Mailbox(load(config).imap)
    try:
        assert mailbox.holds_message_id(original)  # found by X-Google-Original-Message-ID
    finally:
        mailbox.close()
