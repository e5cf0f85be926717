import email
import email.policy
from datetime import UTC, datetime, timedelta

from agent.core.compose import Original, Step, escalation, escalation_cc
from agent.core.sop import Tier

T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
RAW = (
    b"From: Alice <alice@partner.test>\r\nTo: urgent@vendor.test\r\nCc: watch@partner.test, bob@partner.test,"
    b" someone@vendor.test\r\nSubject: API down\r\nMessage-ID: <t1@partner.test>\r\n"
    b"Date: Wed, 25 Nov 2026 11:15:00 +0000\r\n\r\nAll requests fail with F500.\r\n"
)
ORIGINAL = Original(
    "<t1@partner.test>",
    "API down\r\nBcc: evil@x",
    "alice@partner.test",
    ("urgent@vendor.test", "watch@partner.test", "bob@partner.test", "someone@vendor.test"),
    ("<earlier@partner.test>",),
    T0,
    "All requests fail with F500.\n",
    RAW,
)


def reparse(msg):
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def t2(now=T0 + timedelta(minutes=30, seconds=2)):
    cc = escalation_cc(ORIGINAL, ("partner.test",), "watch@partner.test", exclude=("t2@vendor.test",))
    return escalation(
        ORIGINAL,
        Tier.T2,
        (Step(Tier.T1, "urgent@vendor.test", T0, ORIGINAL.message_id),),
        timedelta(minutes=30),
        to="t2@vendor.test",
        cc=cc,
        from_address="agent@partner.test",
        message_id="<esc-t2@partner.test>",
        now=now,
    )


def test_cc_is_the_sender_the_internal_recipients_and_the_watched_mailbox():
    assert escalation_cc(ORIGINAL, ("partner.test",), "watch@partner.test") == (
        "alice@partner.test",
        "watch@partner.test",
        "bob@partner.test",
    )


def test_the_t2_mail_is_addressed_threaded_and_marked_automatic():
    msg = reparse(t2())
    assert msg["To"] == "t2@vendor.test"
    assert msg["Cc"] == "alice@partner.test, watch@partner.test, bob@partner.test"
    assert msg["Message-ID"] == "<esc-t2@partner.test>"
    assert msg["In-Reply-To"] == "<t1@partner.test>"
    assert msg["References"] == "<earlier@partner.test> <t1@partner.test>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "[T2 escalation] API down  Bcc: evil@x"  # the CR/LF could not inject a header
    assert msg["Bcc"] is None


def test_the_body_says_what_happened_in_gmt_and_quotes_the_original():
    body = reparse(t2()).get_body(("plain",)).get_content()
    assert "T1 sent 11:15:00 GMT on Wed 25 Nov 2026 to urgent@vendor.test by alice@partner.test." in body
    assert "No response in 30 minutes." in body
    assert "Escalating to T2 (management) at 11:45:02 GMT" in body
    assert "> All requests fail with F500." in body


def test_the_original_is_attached_as_message_rfc822():
    parts = [p for p in reparse(t2()).iter_attachments()]
    assert [p.get_content_type() for p in parts] == ["message/rfc822"]
    inner = parts[0].get_content()
    assert inner["Message-ID"] == "<t1@partner.test>"


def test_the_t3_mail_tells_both_earlier_steps_and_replies_to_the_t2():
    steps = (
        Step(Tier.T1, "urgent@vendor.test", T0, "<t1@partner.test>"),
        Step(Tier.T2, "t2@vendor.test", T0 + timedelta(minutes=31), "<esc-t2@partner.test>"),
    )
    msg = reparse(
        escalation(
            ORIGINAL,
            Tier.T3,
            steps,
            timedelta(minutes=30),
            to="t3@vendor.test",
            cc=(),
            from_address="agent@partner.test",
            message_id="<esc-t3@partner.test>",
            now=T0 + timedelta(minutes=61),
        )
    )
    body = msg.get_body(("plain",)).get_content()
    assert "T2 sent 11:46:00 GMT on Wed 25 Nov 2026 to t2@vendor.test." in body
    assert "No response in 30 minutes after the T2 escalation." in body
    assert msg["In-Reply-To"] == "<esc-t2@partner.test>"
    assert msg["References"].split() == ["<earlier@partner.test>", "<t1@partner.test>", "<esc-t2@partner.test>"]
