"""What is fetched of a mail that can no longer open an escalation: its header fields, read as the whole mail is."""

import email.parser
import email.policy
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agent.core.reading.folder import HEADER_FIELDS, Involved, passed_over_before, whole_after
from agent.core.reading.mail import parse
from agent.core.reading.trust import authentication_results

# As Exchange Online delivers a vendor's reply: its own Authentication-Results under ARC seals, a folded References,
# Thread-Index, and the X-MS-Exchange fields that the size of a real header block comes from.
EXCHANGE_REPLY = b"""Received: from AM9PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:20b:1::12) by
 DB9PR01MB5678.eurprd01.prod.exchangelabs.com with HTTPS; Tue, 1 Dec 2026 09:14:03 +0000
ARC-Seal: i=1; a=rsa-sha256; s=arcselector9901; d=microsoft.com; cv=none; b=Zm9vYmFy
ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom=vendor.test;
 dmarc=pass action=none header.from=vendor.test; dkim=pass header.d=vendor.test
Authentication-Results: spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=vendor.test; dkim=pass (signature
 was verified) header.d=vendor.test;dmarc=pass action=none header.from=vendor.test;compauth=pass reason=100
From: Vendor Support <support@vendor.test>
To: Alice Engineer <alice@partner.test>
CC: "watch@partner.test" <watch@partner.test>
Subject: RE: [EXTERNAL] Incentives API: all requests fail with F500 [Case 4711]
Thread-Topic: Incentives API: all requests fail with F500
Thread-Index: AQHa5n2k0Zc8bBq6S0yJ8cB2kX9Q1gAAAA==
Date: Tue, 1 Dec 2026 09:13:58 +0000
Message-ID: <AM9PR01MB1234ABCD@AM9PR01MB1234.eurprd01.prod.exchangelabs.com>
References: <t1-0001@partner.test>
 <AM9PR01MB1111@AM9PR01MB1111.eurprd01.prod.exchangelabs.com>
In-Reply-To: <t1-0001@partner.test>
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
X-MS-Exchange-Organization-SCL: 1
X-MS-Exchange-Organization-AuthSource: AM9PR01MB1234.eurprd01.prod.exchangelabs.com
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

We are looking into it.
""".replace(b"\n", b"\r\n")
CORPUS = sorted(Path(__file__).parent.joinpath("corpus").rglob("*.eml"))
WANTED = {name.lower() for name in HEADER_FIELDS}


def as_the_server_sends(raw: bytes) -> bytes:
    """What a FETCH of BODY[HEADER.FIELDS (...)] answers (RFC 3501 6.4.5): those fields as written, then a blank
    line. Made here with the email package, not with the code under test."""
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    kept = [f"{n}: {v}".encode("utf-8", "surrogateescape") for n, v in msg.raw_items() if n.lower() in WANTED]
    return b"".join(line.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + b"\r\n" for line in kept) + b"\r\n"


@pytest.mark.parametrize(
    "raw", [EXCHANGE_REPLY, *(p.read_bytes() for p in CORPUS)], ids=["exchange", *(p.name for p in CORPUS)]
)
def test_the_header_fields_read_as_the_whole_mail(raw):
    """Every field the classifier, the thread index and the sender check read is in HEADER_FIELDS: a mail fetched
    with only those is the same `Mail` (its body aside) as the whole mail read from its header."""
    whole, part = parse(raw, headers_only=True), parse(as_the_server_sends(raw), headers_only=True)
    for f in fields(whole):
        if f.name not in ("size", "defects"):  # size is the server's RFC822.SIZE in the agent, not this
            assert getattr(part, f.name) == getattr(whole, f.name), f.name
    assert authentication_results(as_the_server_sends(raw)) == authentication_results(raw)


def test_the_exchange_reply_is_read_with_what_matters():
    m = parse(as_the_server_sends(EXCHANGE_REPLY), headers_only=True)
    assert (m.sender, m.in_reply_to, m.cc) == (
        "support@vendor.test",
        ("<t1-0001@partner.test>",),
        ("watch@partner.test",),
    )
    assert m.thread_index is not None and len(m.references) == 2 and m.automatic is None
    assert "dmarc=pass" in authentication_results(as_the_server_sends(EXCHANGE_REPLY))[0]


def test_the_corpus_has_the_fields_that_matter():
    """The comparison above proves something only if the corpus carries what the classifier reads."""
    text = b"\n".join([EXCHANGE_REPLY, *(p.read_bytes() for p in CORPUS)]).lower()
    for name in (
        b"auto-submitted",
        b"thread-index",
        b"references",
        b"authentication-results",
        b"x-auto-response-suppress",
        b"return-path",
    ):
        assert b"\n" + name + b":" in text, name


def test_mail_is_fetched_whole_from_a_little_before_max_incident_age():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    # 24 h, the 15 minutes a Date may run ahead of the server's clock, and an hour for the two clocks' disagreement
    assert whole_after(now, timedelta(hours=24)) == datetime(2026, 11, 30, 10, 45, tzinfo=UTC)


def test_mail_since_the_oldest_t1_still_awaiting_a_response_is_fetched_whole():
    """After a long outage of the agent, a reply or command of two days ago may concern an incident that still
    waits (held, or with long windows): it is read whole, and before the decisions."""
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    three_days_ago = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert whole_after(now, timedelta(hours=24), three_days_ago) == datetime(2026, 11, 28, 10, 45, tzinfo=UTC)
    an_hour_ago = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert whole_after(now, timedelta(hours=24), an_hour_ago) == whole_after(now, timedelta(hours=24))


def test_old_mail_must_name_the_ladders_addresses_or_this_agent_or_carry_the_stamp():
    found = Involved.of(
        ["urgent@vendor.test", "t2@vendor.test", "", "t3@vendor.test", "urgent@vendor.test"], "a@p.test"
    )
    assert found.addresses == ("urgent@vendor.test", "t2@vendor.test", "t3@vendor.test", "a@p.test")
    assert found.header == "X-Escalation-Agent-Provenance"


def test_old_mail_is_passed_over_only_before_the_day_before_the_cutoff():
    # SEARCH BEFORE counts whole days in the server's zone: a day's margin, as the recent part is split off
    assert passed_over_before(datetime(2026, 3, 10, 0, 30, tzinfo=UTC)) == date(2026, 3, 9)
    assert passed_over_before(datetime(2026, 3, 10, 23, 59, tzinfo=UTC)) == date(2026, 3, 9)
