"""Automatic mail and bounces as real systems write them, end to end through `escalation-agent run` against the
real Dovecot and SMTP relay (windows of seconds). The mails are tests/corpus/field's (oof_*.eml,
person_via_list.eml, bounce_*.eml) with only their Message-IDs, threading ids and Date made current.

Found in the field: an Exchange out-of-office answer to the T2 (rules-agent headers, no Auto-Submitted) stopped the
ladder and no T3 was ever sent."""

import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from support import (
    AGENT,
    ALICE,
    T1_ADDR,
    T2_ADDR,
    T3_ADDR,
    WATCHED,
    AgentProcess,
    query,
    send,
    sent_to,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).parent / "corpus" / "field"
EXCHANGE_OOF = "Exchange rules agent (X-Auto-Response-Suppress with X-MS-Exchange-Inbox-Rules-Loop)"


def field_mail(name: str, t1_id: str, t2_id: str = "<no-t2@partner.test>") -> bytes:
    """A corpus mail as if written just now, in answer to this run's T1 (and T2): byte for byte as the system
    wrote it otherwise. The Return-Path a mailbox had stamped on it goes: the delivery here stamps its own."""
    raw = (CORPUS / name).read_bytes()
    raw = re.sub(rb"\AReturn-[Pp]ath:[^\r\n]*\r\n", b"", raw)
    raw = raw.replace(b"<t1-field@partner.test>", t1_id.encode()).replace(b"<t2-field@partner.test>", t2_id.encode())
    head, sep, body = raw.partition(b"\r\n\r\n")  # Date and Message-ID of the mail itself, not of a quoted copy
    head = re.sub(rb"^Date: [^\r\n]*", b"Date: " + format_datetime(datetime.now(UTC)).encode(), head, flags=re.M)
    head = re.sub(rb"^(Message-I[Dd]): <[^>]*>", lambda m: m.group(1) + b": " + new_id(), head, flags=re.M)
    return head + sep + body


def new_id() -> bytes:
    return make_msgid(domain="vendor.test").encode()


def message_row(db: Path, sender: str):
    rows = query(db, "SELECT kind, automatic FROM messages WHERE sender = ?", sender)
    return rows[0] if rows else None


def state_of(db: Path) -> str | None:
    rows = query(db, "SELECT state FROM incidents")
    return rows[0][0] if rows else None


def notices_to(relay, address):
    return [
        a
        for a in list(relay.accepted)
        if a.mail_from == AGENT and address in a.rcpt_tos and "[escalation-agent]" in str(a.message()["Subject"])
    ]


def test_an_exchange_out_of_office_to_the_t2_does_not_stop_the_t3(servers, tmp_path):
    dovecot, relay = servers
    db = tmp_path / "state.db"
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s", escalation_t3_after="5s")
    incident = t1()
    with AgentProcess(config) as agent:
        send(relay, incident)
        [esc_t2] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
        oof = field_mail("oof_exchange_en.eml", incident["Message-ID"], esc_t2.message()["Message-ID"])
        assert b"Auto-Submitted" not in oof and b"X-MS-Exchange-Inbox-Rules-Loop: manager@vendor.test" in oof
        # Exchange answers the T2's sender, the agent's address: the watched mailbox receives it.
        relay.send(oof, "manager@vendor.test", [WATCHED])
        assert wait_until(lambda: message_row(db, "manager@vendor.test"), 10, "the out-of-office ingested") == (
            "auto_reply",
            EXCHANGE_OOF,
        )
        assert time.time() < esc_t2.accepted_at + 5  # seen well before the T3 was due: it had its chance to stop it
        [esc_t3] = [a for a in relay.wait_for(to(T3_ADDR), 15) if T3_ADDR in a.rcpt_tos]
        time.sleep(3)  # room for a duplicate to show up, were there one
    assert len(sent_to(relay, T2_ADDR)) == 1 and len(sent_to(relay, T3_ADDR)) == 1
    assert esc_t3.message()["In-Reply-To"] == esc_t2.message()["Message-ID"]
    assert state_of(db) == "awaiting_response"
    assert "Traceback" not in agent.output()


def test_a_person_s_reply_through_an_exchange_list_after_the_out_of_office_stops_the_t3(servers, tmp_path):
    dovecot, relay = servers
    db = tmp_path / "state.db"
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s", escalation_t3_after="5s")
    incident = t1()
    with AgentProcess(config):
        send(relay, incident)
        [esc_t2] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
        t2_id = esc_t2.message()["Message-ID"]
        relay.send(
            field_mail("oof_exchange_ja.eml", incident["Message-ID"], t2_id), "kenji.sato@vendor.test", [WATCHED]
        )
        wait_until(lambda: message_row(db, "kenji.sato@vendor.test"), 10, "the out-of-office ingested")
        person = field_mail("person_via_list.eml", incident["Message-ID"], t2_id)
        assert b"X-Auto-Response-Suppress: DR, OOF, AutoReply" in person
        relay.send(person, "manager@vendor.test", [WATCHED])
        wait_until(lambda: state_of(db) == "responded", 10, "the person's reply stopped the ladder")
        time.sleep(max(0, esc_t2.accepted_at + 5 - time.time()) + 2)  # past the T3's deadline
    assert sent_to(relay, T3_ADDR) == []
    assert message_row(db, "kenji.sato@vendor.test")[0] == "auto_reply"
    assert message_row(db, "manager@vendor.test") == ("response", None)


@pytest.mark.parametrize(
    "name, daemon, words",
    [
        ("bounce_exchange_ndr.eml", "postmaster@partner.test", "does not exist at the organization"),
        ("bounce_qmail.eml", "mailer-daemon@mx.partner.test", "User unknown in virtual mailbox table"),
        ("bounce_exim.eml", "mailer-daemon@mx.partner.test", "User unknown"),
    ],
)
def test_a_bounce_of_the_t1_in_a_non_standard_format_is_told_and_is_never_a_response(
    servers, tmp_path, name, daemon, words
):
    dovecot, relay = servers
    db = tmp_path / "state.db"
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s", escalation_t3_after="1h")
    incident = t1()
    with AgentProcess(config):
        send(relay, incident)
        wait_until(lambda: state_of(db), 10, "incident opened")
        bounce = field_mail(name, incident["Message-ID"])
        assert b"delivery-status" not in bounce  # no RFC 3464 report: the formats flufl.bounce is for
        dovecot.deliver("watch", bounce, mail_from="")  # bounces come with the null reverse-path
        [told] = wait_until(lambda: notices_to(relay, ALICE), 10, "the T1's sender told")
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 10) if T2_ADDR in a.rcpt_tos]  # still escalates
    assert "T1 NOT delivered" in str(told.message()["Subject"])
    text = told.message().get_body(("plain",)).get_content()
    assert f"did not reach {T1_ADDR}" in text and words in text
    assert T1_ADDR not in told.rcpt_tos and T2_ADDR not in told.rcpt_tos  # never the vendor
    assert esc.message()["In-Reply-To"] == incident["Message-ID"]
    assert query(db, "SELECT kind FROM messages WHERE sender = ?", daemon) == [("bounce",)]
    assert query(db, "SELECT state, delivery_failure IS NOT NULL FROM incidents") == [("awaiting_response", 1)]
