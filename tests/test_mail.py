from datetime import UTC, datetime

from agent.core.reading.mail import in_domains, parse
from agent.core.reading.subjects import normalise_subject
from agent.core.reading.text import clean

T1 = (
    b"From: Alice Engineer <Alice@Partner.test>\r\n"
    b"To: urgent@vendor.test\r\n"
    b'Cc: watch@partner.test, "Bob" <bob@partner.test>\r\n'
    b"Subject: =?utf-8?q?API_down_=E2=9C=93?=\r\n"
    b"Date: Wed, 25 Nov 2026 12:15:00 +0100\r\n"
    b"Message-ID: <t1@partner.test>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Partner ID: Acmes\r\nAll requests fail with F500.\r\n"
)


def test_parses_the_fields_the_agent_uses():
    m = parse(T1)
    assert m.message_id == "<t1@partner.test>"
    assert m.subject == "API down ✓"
    assert m.sender == "alice@partner.test"
    assert m.to == ("urgent@vendor.test",)
    assert m.cc == ("watch@partner.test", "bob@partner.test")
    assert m.date == datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
    assert m.automatic is None
    assert "Partner ID: Acmes" in m.text


def test_reply_headers_give_the_thread_ids_newest_first():
    raw = (
        b"From: s@vendor.test\r\nMessage-ID: <r@vendor.test>\r\nIn-Reply-To: <b@x>\r\n"
        b"References: <a@x> <b@x>\r\nSubject: RE: API down\r\n\r\nok\r\n"
    )
    assert parse(raw).thread_ids == ("<b@x>", "<a@x>")


def test_automatic_mails_are_recognised_by_their_headers():
    base = b"From: s@vendor.test\r\nMessage-ID: <r@v>\r\n"
    assert parse(base + b"Auto-Submitted: auto-replied\r\n\r\nx").automatic == "Auto-Submitted: auto-replied"
    assert parse(base + b"Auto-Submitted: no\r\n\r\nx").automatic is None
    assert parse(base + b"X-Autoreply: yes\r\n\r\nx").automatic == "X-Autoreply header"
    assert parse(base + b"Precedence: bulk\r\n\r\nx").automatic == "Precedence: bulk"
    assert (
        "delivery report"
        in parse(
            base + b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b--\r\n"
        ).automatic
    )
    assert "delivery report" in parse(b"From: MAILER-DAEMON@vendor.test\r\n\r\nx").automatic


def test_a_mail_without_message_id_gets_a_stable_synthetic_one():
    raw = b"From: a@b.test\r\nSubject: x\r\n\r\nbody"
    assert parse(raw).message_id == parse(raw).message_id
    assert parse(raw).message_id.endswith("@no-message-id.invalid>")


def test_garbage_and_empty_input_parse_without_raising():
    for raw in (b"", b"\x00\xff\xfe garbage", b"From: x@\r\n\r\n", b"Date: not a date\r\n\r\n"):
        m = parse(raw)
        assert m.sender in ("", "x@")
        assert m.date is None


def test_html_only_bodies_become_text():
    raw = (
        b"From: a@b.test\r\nContent-Type: text/html\r\n\r\n"
        b"<html><body><p>Partner ID: Acmes</p><div>Error&nbsp;F500</div></body></html>"
    )
    text = parse(raw).text
    assert "Partner ID: Acmes" in text and "Error\xa0F500" in text


def test_headers_only_parsing_skips_the_body():
    assert parse(T1, headers_only=True).text == ""
    assert parse(T1, headers_only=True).message_id == "<t1@partner.test>"


def test_subject_normalisation_strips_reply_and_forward_prefixes():
    for s in ("RE: Fwd: AW: API  down", "Re[2]: API down", "WG: TR: SV: api down", "FW: API down"):
        assert normalise_subject(s) == "api down"


def test_clean_removes_header_breaking_characters():
    assert clean("a\r\nBcc: evil@x\x00") == "a  Bcc: evil@x"


def test_domains_match_exactly_or_as_subdomains():
    assert in_domains("a@mail.partner.test", ("partner.test",))
    assert not in_domains("a@notpartner.test", ("partner.test",))


def test_a_mail_reads_the_same_from_its_header_block_as_whole():
    """Ingest reads every mail's header block first and some mails whole later: on every mail of the field corpus
    the two agree on every field the header gives."""
    from dataclasses import fields
    from pathlib import Path

    corpus = sorted((Path(__file__).parent / "corpus").rglob("*.eml"))
    assert len(corpus) > 30
    for path in corpus:
        raw = path.read_bytes()
        head, whole = parse(raw, headers_only=True), parse(raw)
        for f in fields(head):
            if f.name not in ("text", "html", "defects"):
                assert getattr(head, f.name) == getattr(whole, f.name), (path.name, f.name)


def test_a_date_without_a_zone_is_no_date_and_minus_0000_is_utc():
    """A Date with no zone is the sender's local time in a zone nobody knows: taking it for UTC could make a T1 look
    hours old and escalate it at once. "-0000" says the time is UTC (RFC 5322 3.3), as qmail writes its bounces."""

    def date(value: bytes):
        return parse(b"From: a@b.test\r\nDate: " + value + b"\r\n\r\nx", headers_only=True).date

    assert date(b"Wed, 25 Nov 2026 11:15:00") is None
    assert date(b"25 Nov 2026 11:15:42 -0000") == datetime(2026, 11, 25, 11, 15, 42, tzinfo=UTC)
    assert date(b"Wed, 25 Nov 2026 12:15:00 +0100") == datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
    assert date(b"Mon, 01 Jan 0000 00:00:00 +0100") is None  # not the two-digit "00"


def test_the_space_between_an_encoded_word_and_plain_text_is_kept():
    """RFC 2047 6.2: only the space between two encoded words goes. Thunderbird folds a long subject so."""
    raw = b"From: a@b.test\r\nSubject:\r\n =?UTF-8?Q?URGENTE=3A_API_ca=C3=ADda?=\r\n [1034]\r\n\r\nx"
    assert parse(raw, headers_only=True).subject == "URGENTE: API caída [1034]"


def test_raw_8_bit_header_bytes_are_read_as_utf_8_else_cp1252():
    """Against RFC 5322, but common: a subject that is not read as written no longer matches its thread."""
    utf8 = parse("From: Jörg <joerg@partner.test>\r\nSubject: Störung der API\r\n\r\nx".encode(), headers_only=True)
    assert (utf8.subject, utf8.sender_name) == ("Störung der API", "Jörg")
    latin = parse("Subject: Störung der API\r\n\r\nx".encode("latin-1"), headers_only=True)
    assert latin.subject == "Störung der API"


def test_an_encoded_word_with_bytes_outside_its_declared_charset_is_read_as_its_superset():
    """Chinese clients label GBK text "gb2312"; a character outside GB2312 must not leave the word encoded."""
    import base64

    word = base64.b64encode("王镕".encode("gbk")).decode()
    assert parse(f"Subject: =?gb2312?B?{word}?=\r\n\r\nx".encode(), headers_only=True).subject == "王镕"


def test_an_address_as_display_name_is_not_the_sender():
    """`From: support@vendor.test <x@evil.test>` comes from x@evil.test: this Python's getaddresses would also
    return the display name as an address, and the first one was taken for the sender."""
    m = parse(b"From: support@vendor.test <x@evil.test>\r\nTo: urgent@vendor.test <a@else.test>\r\n\r\nx")
    assert (m.sender, m.to) == ("x@evil.test", ("a@else.test",))
    m = parse(b'From: x@evil.test <support@vendor.test>\r\nTo: A <a@x.test>, b@y.test, "c@z" <c@z.test>\r\n\r\nx')
    assert (m.sender, m.to) == ("support@vendor.test", ("a@x.test", "b@y.test", "c@z.test"))
