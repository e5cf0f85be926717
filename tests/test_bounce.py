import email
import email.policy
import re
from pathlib import Path

import pytest
from flufl.bounce import all_failures

from agent.core.reading import bounce as bounce_module
from agent.core.reading.bounce import parse
from agent.core.reading.mail import parse as parse_mail

DSN = b"""From: MAILER-DAEMON@mx.partner.test
To: alice@partner.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn1@mx.partner.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.partner.test

Final-Recipient: rfc822; urgent@vendor.test
Original-Recipient: rfc822;urgent@vendor.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <urgent@vendor.test>: Recipient address rejected: User unknown

Final-Recipient: rfc822; bob@partner.test
Action: delivered
Status: 2.0.0

--B
Content-Type: text/rfc822-headers

From: Alice <alice@partner.test>
To: urgent@vendor.test
Subject: API down
Message-ID: <t1@partner.test>

--B--
"""


def test_a_failure_report_names_the_mail_the_recipient_and_the_reason():
    b = parse(DSN)
    assert b.original_message_id == "<t1@partner.test>"
    assert b.failed == ("urgent@vendor.test",)
    assert b.diagnostic == "550 5.1.1 <urgent@vendor.test>: Recipient address rejected: User unknown"


def test_a_delay_or_success_report_is_not_a_bounce():
    delayed = DSN.replace(b"Action: failed", b"Action: delayed").replace(b"Undelivered Mail Returned", b"Delayed Mail")
    assert parse(delayed) is None


def test_the_original_may_come_as_a_whole_message():
    whole = DSN.replace(b"text/rfc822-headers", b"message/rfc822").replace(
        b"Message-ID: <t1@partner.test>\n", b"Message-ID: <t1@partner.test>\n\nbody\n"
    )
    assert parse(whole).original_message_id == "<t1@partner.test>"


def test_garbage_is_no_bounce():
    for raw in (b"", b"\xff\xfe", b"From: x@\n\nhello"):
        assert parse(raw) is None


def test_a_report_over_the_parser_limits_is_read_as_cut_and_still_names_the_mail():
    # A 30 MB returned original and 3,000 nested parts: the report is read within the same limits as any mail.
    huge = DSN.replace(
        b"--B--\n",
        b"--B\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + b"QUFB" * 7_500_000
        + b"\n--B--\n",
    )
    b = parse(huge)
    assert (b.original_message_id, b.failed) == ("<t1@partner.test>", ("urgent@vendor.test",))
    nested = DSN.replace(
        b"--B--\n", b"--B\n" + b"Content-Type: multipart/mixed; boundary=N\n\n--N\n" * 3000 + b"\n--B--\n"
    )
    assert parse(nested).original_message_id == "<t1@partner.test>"


def test_a_mail_without_a_delivery_status_part_or_report_type_is_no_bounce():
    newsletter = (
        b"From: news@else.test\nSubject: Delivery failed? Not at all\nPrecedence: bulk\n"
        b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: message/rfc822\n\n"
        b"Message-ID: <t1@partner.test>\n\nhi\n--B--\n"
    )
    assert parse(newsletter) is None
    # The same mail, once its part says it is a delivery status, is read as a report: the filter is no guess.
    assert parse(DSN.replace(b"message/delivery-status", b"Message/Delivery-Status")).failed == ("urgent@vendor.test",)


# --- Bounces in every format real MTAs send (tests/corpus/field/bounce_*.eml), and what flufl.bounce makes of them ---

CORPUS = Path(__file__).parent / "corpus" / "field"
T1_ID = "<t1-field@partner.test>"
USER_UNKNOWN = "550 5.1.1 <urgent@vendor.test>: Recipient address rejected: User unknown"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def message(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


@pytest.mark.parametrize(
    "name, failed, diagnostic",
    [
        # RFC 3464 reports: the report's own fields
        ("bounce_postfix.eml", ("urgent@vendor.test",), USER_UNKNOWN),
        (
            "bounce_exchange_online.eml",
            ("urgent@vendor.test",),
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        ),
        # every other format: who wrote it, its subject, flufl.bounce for the addresses, our reading of the text
        (
            "bounce_exchange_ndr.eml",  # "Undeliverable:", the original attached, Exchange's own words
            ("urgent@vendor.test",),
            "The e-mail account does not exist at the organization this message was sent to. Check the e-mail "
            "address, or contact the recipient directly to find out the correct address. <MX1.partner.test #5.1.1>",
        ),
        ("bounce_qmail.eml", ("urgent@vendor.test",), USER_UNKNOWN + " in virtual mailbox table"),
        ("bounce_exim.eml", ("urgent@vendor.test",), USER_UNKNOWN),
        ("bounce_gmail.eml", ("urgent@vendor.test",), USER_UNKNOWN),
        ("bounce_yahoo.eml", (), USER_UNKNOWN + " [RCPT_TO]"),  # flufl.bounce finds no address in it
    ],
)
def test_every_bounce_format_names_the_t1_the_recipient_and_the_reason(name, failed, diagnostic):
    raw = corpus(name)
    assert parse_mail(raw, headers_only=True).automatic  # so ingest asks bounce.parse at all
    assert parse(raw) == bounce_module.Bounce(T1_ID, failed, diagnostic)


def test_what_flufl_bounce_finds_in_each_format_measured():
    """flufl.bounce names addresses; it is no yes/no classifier. These are its answers, as measured."""
    found = {n: all_failures(message(corpus(n))) for n in ("bounce_qmail.eml", "bounce_exim.eml", "bounce_yahoo.eml")}
    assert found["bounce_qmail.eml"] == (frozenset(), frozenset({b"urgent@vendor.test"}))  # its QSBMF detector
    assert found["bounce_exim.eml"] == (frozenset(), frozenset({b"urgent@vendor.test"}))  # X-Failed-Recipients
    assert found["bounce_yahoo.eml"] == (frozenset(), frozenset())  # its Yahoo detector wants a yahoo sender
    # An Exim delay warning, which is no failure, is a *permanent* failure to flufl.bounce (the "created
    # automatically by mail delivery software" pattern and its RCPT TO:<...> line).
    assert all_failures(message(EXIM_DELAY)) == (frozenset(), frozenset({b"urgent@vendor.test"}))
    # And a person's reply quoting addresses is nothing to it (true here, but nothing to lean on).
    assert all_failures(message(corpus("person_via_list.eml"))) == (frozenset(), frozenset())


EXIM_DELAY = b"""Return-path: <>
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.partner.test>
To: alice@partner.test
References: <t1-field@partner.test>
Subject: Warning: message 1tFqZb-000AbC-2x delayed 24 hours
Message-Id: <E1tGdEf-000XyZ-0q@mx.partner.test>
Date: Thu, 26 Nov 2026 11:15:43 +0000

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.partner.test.

The message identifier is:     1tFqZb-000AbC-2x
The subject of the message is: Incentives API: all requests fail with F500
The date of the message is:    Wed, 25 Nov 2026 11:15:38 +0000

The address to which the message has not yet been delivered is:

  urgent@vendor.test
    Delay reason: SMTP error from remote mail server after RCPT TO:<urgent@vendor.test>:
    451 4.7.1 Greylisted, please try again later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered. Eventually the mail delivery software will give up,
and when that happens, the message will be returned to you.

------ This is a copy of the message's headers. ------

Message-ID: <t1-field@partner.test>
From: Alice Engineer <alice@partner.test>
To: urgent@vendor.test
Subject: Incentives API: all requests fail with F500
""".replace(b"\n", b"\r\n")


def test_delay_warnings_are_no_bounce_whatever_flufl_bounce_says():
    assert parse(EXIM_DELAY) is None
    # The same words under a subject that says nothing: flufl.bounce's "permanent" alone is not believed either.
    assert parse(EXIM_DELAY.replace(b"Warning: message 1tFqZb-000AbC-2x delayed 24 hours", b"Mail status")) is None
    postfix_delay = corpus("bounce_postfix.eml").replace(b"Action: failed", b"Action: delayed")
    postfix_delay = postfix_delay.replace(b"Undelivered Mail Returned to Sender", b"Delayed Mail (still being retried)")
    assert parse(postfix_delay) is None


def test_the_report_without_its_delivery_status_part_is_still_read():
    # A filter that drops message/* parts (some gateways do) leaves Postfix's and Exchange's human-readable part.
    postfix = re.sub(
        rb"--9C4A21C0A5[^\r\n]*\r\nContent-Description: Delivery report.*?(?=--9C4A21C0A5)",
        b"",
        corpus("bounce_postfix.eml"),
        flags=re.DOTALL,
    )
    assert b"delivery-status\r\n" not in postfix.split(b"\r\n\r\n", 1)[1]
    b = parse(postfix)
    # flufl.bounce's Postfix detector knows only the old "The Postfix program" signature: no address, but the
    # subject says failure and the attached original names the mail.
    assert (b.original_message_id, b.failed) == (T1_ID, ())
    assert b.diagnostic == USER_UNKNOWN + " (in reply to RCPT TO command)"  # the lines Postfix folded under it
    exchange = re.sub(
        rb"--6a1b9c2e[^\r\n]*\r\nContent-Type: message/(delivery-status|rfc822).*?(?=--6a1b9c2e)",
        b"",
        corpus("bounce_exchange_online.eml"),
        flags=re.DOTALL,
    )
    assert b"message/rfc822" not in exchange
    # The original only as the header block quoted under "Original message headers:".
    assert parse(exchange).original_message_id == T1_ID


def test_an_exchange_2003_ndr_is_read_by_its_subject_when_flufl_bounce_finds_nothing():
    raw = corpus("bounce_exchange_ndr.eml").replace(
        b"Your message\r\n\r\n", b"Your message did not reach some or all of the intended recipients.\r\n\r\n"
    )
    raw = raw.replace(b"did not reach the following recipient(s):", b"The following recipient(s) cannot be reached:")
    assert all_failures(message(raw)) == (frozenset(), frozenset())
    b = parse(raw)
    assert (b.original_message_id, b.failed) == (T1_ID, ())
    assert b.diagnostic.endswith("<MX1.partner.test #5.1.1>")


def test_a_bounce_of_an_escalation_names_the_escalation_not_the_t1_it_refers_to():
    t2_copy = (
        b"From: Escalation agent <agent@partner.test>\r\nTo: t2@vendor.test\r\n"
        b"Subject: [T2 escalation] Incentives API: all requests fail with F500\r\n"
        b"In-Reply-To: <t1-field@partner.test>\r\nReferences: <t1-field@partner.test>\r\n"
        b"Message-ID: <t2-field@partner.test>\r\n\r\nNo response to the T1.\r\n"
    )
    qmail = corpus("bounce_qmail.eml")
    qmail = qmail[: qmail.index(b"--- Below this line is a copy of the message.")]
    qmail += b"--- Below this line is a copy of the message.\r\n\r\n" + t2_copy
    assert parse(qmail.replace(b"urgent@vendor.test", b"t2@vendor.test")) == bounce_module.Bounce(
        "<t2-field@partner.test>",
        ("t2@vendor.test",),
        USER_UNKNOWN.replace("urgent@", "t2@") + " in virtual mailbox table",
    )


def test_a_bounce_that_names_no_mail_of_ours_is_none():
    exim = corpus("bounce_exim.eml")
    no_copy = exim[: exim.index(b"------ This is a copy")]
    assert parse(no_copy) is None  # nothing ties it to a mail (ingest still sees an automatic mail)


@pytest.mark.parametrize(
    "name",
    [
        "oof_exchange_en.eml",
        "oof_exchange_ja.eml",
        "auto_gmail_vacation.eml",
        "auto_icloud_vacation.eml",
        "person_via_list.eml",
    ],
)
def test_automatic_mail_that_is_no_bounce_stops_before_any_parse(name, monkeypatch):
    parsed = []
    monkeypatch.setattr(bounce_module.email, "message_from_bytes", lambda *a, **k: parsed.append(a))
    monkeypatch.setattr(bounce_module, "all_failures", lambda *a: parsed.append(a))
    assert parse(corpus(name)) is None
    assert parsed == []  # the header block alone answered


def test_a_failing_detector_or_a_hostile_bounce_never_raises(monkeypatch):
    qmail = corpus("bounce_qmail.eml")
    # Over the parser limits: a 20 MB copy of the original, read as cut, flufl.bounce given its first 256 KB.
    huge = qmail + b"All requests fail with F500, again and again, since 11:15 GMT.\r\n" * 320_000
    assert len(huge) > 20_000_000
    assert parse(huge) == parse(qmail)

    def broken(msg):
        raise RuntimeError("a detector tripped")

    monkeypatch.setattr(bounce_module, "all_failures", broken)
    b = parse(qmail)  # the subject ("failure notice") and the quoted copy still tell
    assert (b.original_message_id, b.failed) == (T1_ID, ())
    for raw in (b"From: MAILER-DAEMON@x.test\r\nSubject: failure notice\r\n\r\n\xff\xfe", qmail[:200], b"\r\n\r\n"):
        assert parse(raw) is None
