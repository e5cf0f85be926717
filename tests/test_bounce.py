from agent.core.bounce import parse

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
