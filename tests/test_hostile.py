"""Hostile and broken mail: parsing is bounded and never raises, and every escalation re-parses to its headers.

A corpus of generated mails (no files) and property-based tests over parse -> classify -> compose. The time bound
is a guard against pathological blowups (seconds to minutes before the limits in agent.mail), not a benchmark: the
worst mail here takes ~0.15 s of CPU to parse. Each property runs 150 examples; HYPOTHESIS_PROFILE=long runs 20,000.
"""

import base64
import email
import email.parser
import email.policy
import os
import random
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import mailparser
import pytest

from support import RULES

# Hypothesis caches what it learns under .hypothesis/ in the working directory, even with database=None: keep
# the repository clean (an explicit HYPOTHESIS_STORAGE_DIRECTORY wins).
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "escalation-agent-hypothesis")
)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from agent.core.deciding.classify import Thread, Via, classify
from agent.core.reading import limits
from agent.core.reading.header_cut import MAX_ADDRESSES, MAX_HEADER_BYTES
from agent.core.reading.limits import MAX_MIME_DEPTH
from agent.core.reading.mail import Mail, bounded, parse
from agent.core.reading.text import clean
from agent.core.sop import Tier
from agent.core.writing.compose import Original, Step, escalation_cc
from agent.core.writing.escalation import escalation
from agent.core.writing.mime import subject_field

WATCHED = "watch@partner.test"
AGENT = "agent@partner.test"
T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
PARSE_CPU_BOUND = 2.0  # seconds of CPU for one parse; the worst case here takes ~0.15 s
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
ROUND_TRIP = ("To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References")

settings.register_profile(
    "hostile",
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("long", parent=settings.get_profile("hostile"), max_examples=20_000)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "hostile"))


# ---- the corpus ------------------------------------------------------------------------------------------


def head(*fields: bytes, eol: bytes = b"\r\n") -> bytes:
    return b"".join(f + eol for f in fields)


BASE = (
    b"From: Alice <alice@partner.test>",
    b"To: urgent@vendor.test",
    b"Cc: watch@partner.test",
    b"Subject: API down",
    b"Message-ID: <t1@partner.test>",
    b"Date: Wed, 25 Nov 2026 11:15:00 +0000",
)


def nested(depth: int) -> bytes:
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return head(*BASE[:5]) + opening + b"Content-Type: text/plain\r\n\r\ndeep inside\r\n" + closing


def many_to(n: int) -> bytes:
    return (
        head(
            b"From: alice@partner.test",
            b"To: " + b", ".join(b"user%d@vendor.test" % i for i in range(n)),
            b"Subject: many",
            b"Message-ID: <many@partner.test>",
        )
        + b"\r\nbody\r\n"
    )


@lru_cache(maxsize=1)
def big_attachment() -> bytes:
    data = base64.encodebytes(random.Random(7).randbytes(30 * 1024 * 1024 * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        head(*BASE, b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="XX"')
        + b"\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee the attached dump\r\n--XX\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="dump.bin"\r\n\r\n' + data + b"--XX--\r\n"
    )


CORPUS = {
    "empty": lambda: b"",
    "random binary": lambda: random.Random(1).randbytes(64 * 1024),
    "From: x@": lambda: b"From: x@\r\n\r\n",
    "multipart nested 2,000 deep": lambda: nested(2000),
    "To with 20,000 addresses": lambda: many_to(20_000),
    "encoded subject decoding to CR/LF": lambda: (
        head(*BASE[:3], b"Subject: =?utf-8?q?hello=0D=0ABcc:_evil@x.test?=", *BASE[4:]) + b"\r\nbody\r\n"
    ),
    "subject decoding to an encoded word decoding to CR/LF": lambda: (
        head(*BASE[:3], b"Subject: =?utf-8?q?=3D=3Futf-8=3Fq=3Fhello=3D0D=3D0ABcc:=5Fevil@x.test=3F=3D?=", *BASE[4:])
        + b"\r\nbody\r\n"
    ),
    "unknown charset": lambda: (
        head(*BASE, b"Subject: =?x-unknown?q?caf=E9?=", b"Content-Type: text/plain; charset=x-unknown")
        + b"\r\ncaf\xe9 au lait\r\n"
    ),
    "lying charset": lambda: head(*BASE, b"Content-Type: text/plain; charset=utf-8") + b"\r\nna\xefve caf\xe9\r\n",
    "30 MB attachment": big_attachment,
    "header block of 1 MB": lambda: (
        head(*BASE, *(b"X-Filler-%d: %s" % (i, b"y" * 990) for i in range(1050))) + b"\r\nbody\r\n"
    ),
    "NUL bytes in headers": lambda: (
        head(
            b"From: Al\x00ice <alice@partner.test>",
            b"To: urgent@vendor.test\x00",
            b"Subject: API\x00 down\x00",
            b"Message-ID: <t1\x00x@partner.test>",
        )
        + b"\r\nbody\x00\r\n"
    ),
    "Date far in the future": lambda: head(*BASE[:5], b"Date: Fri, 31 Dec 9999 23:59:59 -1200") + b"\r\nbody\r\n",
    "Date in year 0": lambda: head(*BASE[:5], b"Date: Mon, 01 Jan 0000 00:00:00 +0100") + b"\r\nbody\r\n",
    "invalid Message-ID": lambda: (
        head(
            *BASE[:4],
            b"Message-ID: not an id <> <a b@c> <=?utf-8?q?x?=@y>",
            b"In-Reply-To: <\x01@x>",
            b"References: <ok@x> <bad\x7f@x> <" + b"z" * 300 + b">",
        )
        + b"\r\nbody\r\n"
    ),
    "8-bit bytes in headers": lambda: (
        head(
            b"From: J\xf6rg \xc3\xa9 <joerg@partner.test>",
            b"To: urgent@vendor.test",
            b"Subject: Gr\xfc\xdfe \xff\xfe \xe2\x80\xa8 caf\xc3\xa9",
            b"Message-ID: <8bit@partner.test>",
        )
        + b"\r\nbody\r\n"
    ),
    # found on the way
    "two Subject headers": lambda: head(*BASE, b"Subject: second") + b"\r\nbody\r\n",
    "quoted comma in an internal address": lambda: (
        head(
            b"From: alice@partner.test",
            b'To: urgent@vendor.test, "evil@x.test, a"@partner.test',
            b"Cc: =?utf-8?q?evil=40x.test?=@partner.test, (c) bob@partner.test",
            b"Subject: s",
            b"Message-ID: <q@partner.test>",
        )
        + b"\r\nbody\r\n"
    ),
    "quadratic Content-Type parameters": lambda: (
        head(*BASE, b'Content-Type: text/plain; a="' + b";" * 65536 + b'"') + b"\r\nbody\r\n"
    ),
    "quadratic HTML tags": lambda: head(*BASE, b"Content-Type: text/html") + b"\r\n" + b"<br" * 300_000,
    "a million empty lines": lambda: head(*BASE) + b"\r\n" + b"\n" * 1_000_000,
    "thousands of tiny parts": lambda: (
        head(*BASE, b"Content-Type: multipart/mixed; boundary=b") + b"\r\n" + b"--b\n\n" * 200_000 + b"--b--\n"
    ),
    "message/rfc822 nested 2,000 deep": lambda: head(*BASE) + b"Content-Type: message/rfc822\r\n\r\n" * 2000,
    "form feeds in headers (line breaks to str.splitlines)": lambda: (
        head(
            *BASE,
            b"X-Note: a\x0cFrom: spoof@evil.test",
            b'Reply-To: "\x0c"@partner.test, Some One <a0000000@partner.test>',
        )
        + b"\r\nbody\x0c\r\n"
    ),
    "2,000 Received headers with odd dates": lambda: (
        head(*BASE, *(b"Received: from a by b; Mon, 99 Foo 20%d 99:99:99 +9999" % i for i in range(2000))) + b"\r\nx"
    ),
}


def escalate(m: Mail, raw: bytes):
    """The T2 for `m` as escalate.enqueue builds it from the incident's stored fields."""
    sent_at = m.date or T0
    original = Original(m.message_id, m.subject, m.sender, m.recipients, m.references, sent_at, m.text, raw)
    cc = escalation_cc(original, RULES.internal_domains, WATCHED, exclude=(RULES.t2_address,))
    steps = (Step(Tier.T1, RULES.t1_address, sent_at, m.message_id),)
    msg = escalation(
        original,
        Tier.T2,
        steps,
        RULES.t2_after,
        to=RULES.t2_address,
        cc=cc,
        from_address=AGENT,
        message_id="<esc-t2@partner.test>",
        now=T0 + timedelta(minutes=31),
    )
    return msg, cc


def assert_clean(m: Mail) -> None:
    for value in (
        m.message_id,
        m.subject,
        m.sender,
        m.sender_name,
        m.thread_index or "",
        m.automatic or "",
        *m.to,
        *m.cc,
        *m.in_reply_to,
        *m.references,
        *m.defects,
    ):
        assert not CONTROL.search(value), repr(value)
    assert not re.search(r"[\ud800-\udfff]", m.text + m.html)  # always encodable (SQLite, SMTP)


def assert_round_trip(m: Mail, raw: bytes) -> email.message.EmailMessage:
    msg, cc = escalate(m, raw)
    wire = msg.as_bytes()
    back = email.message_from_bytes(wire, policy=email.policy.default)
    for name in ROUND_TRIP:
        assert len(back.get_all(name) or []) == len(msg.get_all(name) or []), name
        assert (back[name] is None) == (msg[name] is None), name
        if msg[name] is not None:
            assert str(back[name]) == str(msg[name]), name
            assert not CONTROL.search(str(back[name])), name
    # what we set is what went out: nothing decoded on the way in, nothing added
    assert str(back["To"]) == RULES.t2_address
    assert str(back["Cc"]) == ", ".join(cc)
    assert str(back["Subject"]) == clean(f"[T2 escalation] {m.subject or '(no subject)'}")
    assert str(back["Message-ID"]) == "<esc-t2@partner.test>"
    assert back.keys() == msg.keys()
    assert back["Bcc"] is None
    assert all(a.count("@") == 1 and "," not in a for a in cc)
    assert [p.get_content_type() for p in back.iter_attachments()] == ["message/rfc822"]
    attached = next(back.iter_attachments()).get_content()
    original = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(bounded(raw)[0])
    assert len(attached.get_all("From") or []) <= len(original.get_all("From") or [])  # nothing added to it
    # on the wire, as mail clients thread on them: the ids themselves, never RFC 2047 encoded words
    undecoded = email.message_from_bytes(wire.split(b"\n\n", 1)[0], policy=email.policy.compat32)
    for name in ("In-Reply-To", "References"):
        if msg[name] is not None:
            assert "=?" not in undecoded[name] and " ".join(undecoded[name].split()) == str(msg[name])
    # delivery.py re-parses the stored bytes and smtplib regenerates them: that must work too
    back.as_bytes(policy=back.policy.clone(linesep="\r\n"))
    return back


def assert_headers_only_is_as_sound(raw: bytes) -> None:
    """Ingest classifies every mail from its header block alone (a T1's body is read after): that reading must
    hold to the same rules. It may differ from the whole mail's: mail-parser decodes a raw 8-bit Subject one way
    with a body and another without, and the header block alone gives the cleaner of the two."""
    m = parse(raw, headers_only=True)
    assert (m.text, m.html) == ("", "")
    assert_clean(m)
    classify(m, None, RULES, AGENT)
    classify(m, Thread(1, Via.HEADERS), RULES, AGENT, frozenset({m.message_id}))
    assert_round_trip(m, raw)


# ---- the corpus, one by one ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_mail_parses_quickly_without_control_characters_and_escalates_cleanly(name):
    raw = CORPUS[name]()
    started = time.process_time()
    m = parse(raw)
    assert time.process_time() - started < PARSE_CPU_BOUND
    assert isinstance(m, Mail)
    assert_clean(m)
    classify(m, None, RULES, AGENT)
    classify(m, Thread(1, Via.HEADERS), RULES, AGENT)
    assert_round_trip(m, raw)
    assert_headers_only_is_as_sound(raw)


@pytest.mark.parametrize("name", list(CORPUS))
def test_one_cut_of_a_mail_gives_what_two_did(name):
    """Ingest cuts a mail once (`limits.Cut`): its header block, then its body on from there. That is what cutting
    it twice gave, the header block alone and the whole mail, limits hit or not."""
    raw = CORPUS[name]()
    once = limits.Cut(raw)
    assert once.head() == limits.cut(raw, True)
    assert once.whole() == limits.cut(raw, False)
    assert limits.Cut(raw).whole() == limits.cut(raw, False)  # the body asked for first


def test_what_the_corpus_mails_become():
    m = parse(CORPUS["empty"]())
    assert (m.sender, m.to, m.subject) == ("", (), "")
    assert m.message_id.endswith("@no-message-id.invalid>")

    m = parse(CORPUS["multipart nested 2,000 deep"]())
    assert m.message_id == "<t1@partner.test>" and m.sender == "alice@partner.test"
    assert f"MIME parts nested over {MAX_MIME_DEPTH} deep: not read" in m.defects

    m = parse(CORPUS["To with 20,000 addresses"]())
    assert len(m.to) == MAX_ADDRESSES and m.to[0] == "user0@vendor.test"
    assert f"To field over {MAX_ADDRESSES} addresses: kept the first {MAX_ADDRESSES}" in m.defects

    m = parse(CORPUS["encoded subject decoding to CR/LF"]())
    assert m.subject == "hello  Bcc: evil@x.test"
    assert b"\nBcc:" not in escalate(m, b"")[0].as_bytes()

    m = parse(CORPUS["subject decoding to an encoded word decoding to CR/LF"]())
    assert m.subject == "=?utf-8?q?hello=0D=0ABcc:_evil@x.test?="  # decoded once, as it should be
    wire = escalate(m, b"")[0].as_bytes()
    assert b"\nBcc:" not in wire
    assert email.message_from_bytes(wire, policy=email.policy.default)["Subject"] == f"[T2 escalation] {m.subject}"

    m = parse(CORPUS["lying charset"]())
    assert "na" in m.text and "ve caf" in m.text

    raw = CORPUS["30 MB attachment"]()
    m = parse(raw)
    assert m.text.strip() == "see the attached dump" and m.defects == ()
    assert bounded(raw) == (raw, ())  # within the limits: read as it is, and attached whole

    m = parse(CORPUS["header block of 1 MB"]())
    assert f"header block over {MAX_HEADER_BYTES} bytes: truncated" in m.defects
    assert m.message_id == "<t1@partner.test>"

    assert parse(CORPUS["NUL bytes in headers"]()).subject == "API  down"
    assert parse(CORPUS["Date far in the future"]()).date is None
    assert parse(CORPUS["Date in year 0"]()).date is None

    m = parse(CORPUS["invalid Message-ID"]())
    assert m.message_id.endswith("@no-message-id.invalid>")
    assert m.in_reply_to == () and m.references == ("<ok@x>",)

    m = parse(CORPUS["8-bit bytes in headers"]())
    assert m.sender == "joerg@partner.test" and m.message_id == "<8bit@partner.test>"

    assert parse(CORPUS["two Subject headers"]()).subject == "API down"

    m = parse(CORPUS["quoted comma in an internal address"]())
    assert m.to == ("urgent@vendor.test",) and m.cc == ("bob@partner.test",)

    raw = CORPUS["form feeds in headers (line breaks to str.splitlines)"]()
    attached = next(assert_round_trip(parse(raw), raw).iter_attachments()).get_content()
    assert attached.get_all("From") == ["Alice <alice@partner.test>"]
    assert attached["X-Note"] == "a\x1fFrom: spoof@evil.test"


def test_a_mail_within_the_limits_is_read_as_it_is():
    raw = nested(MAX_MIME_DEPTH - 1)
    assert bounded(raw) == (raw, ())
    assert "deep inside" in parse(raw).text


def test_the_cut_mail_is_shallow_whatever_the_input():
    for name in ("multipart nested 2,000 deep", "message/rfc822 nested 2,000 deep", "thousands of tiny parts"):
        cut, defects = bounded(CORPUS[name]())
        assert defects
        depth, parts = _shape(email.message_from_bytes(cut))
        assert depth <= MAX_MIME_DEPTH + 1 and parts <= limits.MAX_MIME_PARTS + 2


def test_when_mail_parser_fails_the_headers_are_still_read(monkeypatch):
    def broken(raw):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(mailparser, "parse_from_bytes", broken)
    m = parse(head(*BASE, b"Subject: =?utf-8?q?second_=E2=9C=93?=") + b"\r\nbody\r\n")
    assert (m.message_id, m.sender, m.to, m.cc) == (
        "<t1@partner.test>",
        "alice@partner.test",
        ("urgent@vendor.test",),
        ("watch@partner.test",),
    )
    assert m.subject == "API down" and m.date == T0
    assert m.defects == ("mail-parser failed (RecursionError): read the headers only",)


def test_clean_removes_every_control_character():
    assert clean("a\x0bb\x0cc\x85d\u2028e\u2029f\tg\x1bh\x7fi\x9fj") == "a b c d e f g h i j"
    assert clean("caf\udce9") == "caf\ufffd"


def _shape(msg, depth=0):
    payload = msg.get_payload()
    if not isinstance(payload, list):
        return depth, 1
    shapes = [_shape(p, depth + 1) for p in payload]
    return max([depth] + [d for d, _ in shapes]), 1 + sum(n for _, n in shapes)


# ---- properties: parse -> classify -> compose ------------------------------------------------------------

NASTY = [
    "\r",
    "\n",
    "\r\n",
    "\r\n ",
    "\x00",
    "\x0b",
    "\x0c",
    "\x85",
    "\u2028",
    "\u2029",
    "\t",
    "\x1b",
    "\x7f",
    ",",
    ";",
    ":",
    '"',
    "\\",
    "(",
    ")",
    "<",
    ">",
    "@",
    "=?",
    "?=",
    "Bcc: evil@x.test",
    "\udcff",
    "é",
    "✓",
    "\u202e",
    "\ufeff",
    " ",
]
CHARSETS = ["utf-8", "UTF-8", "iso-8859-1", "us-ascii", "x-unknown", "utf-16", "gb2312", ""]


@st.composite
def encoded_words(draw) -> str:
    payload = draw(st.binary(max_size=24) | st.text(max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass")))
    charset = draw(st.sampled_from(CHARSETS))
    if draw(st.booleans()):
        body = "".join(chr(b) if 0x21 <= b <= 0x7E and b not in b"=?_" else f"={b:02X}" for b in payload)
        return f"=?{charset}?{draw(st.sampled_from('qQ'))}?{body}?="
    body = base64.b64encode(payload).decode()
    return f"=?{charset}?{draw(st.sampled_from('bB'))}?{body[: draw(st.integers(0, len(body)))]}?="


header_texts = st.lists(st.text(max_size=12) | st.sampled_from(NASTY) | encoded_words(), max_size=8).map("".join)
local_parts = st.builds(str.__add__, st.sampled_from("abcxyz019"), st.text("abcxyz019.+_-", max_size=10))
plain_addresses = st.builds(
    "{}@{}".format, local_parts, st.sampled_from(["partner.test", "vendor.test", "eu.vendor.test", "x.test"])
)
addresses = st.one_of(
    plain_addresses,
    plain_addresses.map(lambda a: f"Some One <{a}>"),
    st.builds(lambda n, a: f"{n} <{a}>", header_texts, plain_addresses),
    st.builds(lambda t, a: f'"{t}"@{a.split("@")[1]}', header_texts, plain_addresses),
    header_texts,
    st.just("undisclosed-recipients:;"),
)
message_id_texts = st.one_of(
    st.builds("<{}>".format, local_parts.map(lambda p: p + "@partner.test")),
    header_texts.map(lambda t: f"<{t}>"),
    header_texts,
)
dates = st.one_of(
    st.just("Wed, 25 Nov 2026 11:15:00 +0000"),
    st.just("Fri, 31 Dec 9999 23:59:59 -1200"),
    st.just("Mon, 01 Jan 0001 00:00:00 +0100"),
    header_texts,
    st.datetimes(timezones=st.just(UTC)).map(email.utils.format_datetime),
)
bodies = st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1"))


@st.composite
def raw_mails(draw) -> bytes:
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))

    def enc(text: str) -> bytes:  # raw 8-bit headers, lone surrogates as invalid UTF-8
        return text.encode("utf-8", "surrogatepass") if encoding == "utf-8" else text.encode("latin-1", "replace")

    fields = [
        ("From", ", ".join(draw(st.lists(addresses, min_size=1, max_size=2)))),
        ("To", ", ".join(draw(st.lists(st.just("urgent@vendor.test") | addresses, max_size=4)))),
        ("Cc", ", ".join(draw(st.lists(addresses, max_size=4)))),
        ("Subject", draw(header_texts)),
        ("Message-ID", draw(message_id_texts)),
        ("In-Reply-To", draw(message_id_texts)),
        ("References", " ".join(draw(st.lists(message_id_texts, max_size=4)))),
        ("Date", draw(dates)),
        ("Thread-Index", draw(st.just("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob") | header_texts)),
        ("Auto-Submitted", draw(st.sampled_from(["", "no", "auto-replied", "auto-generated\r\n evil"]))),
    ]
    fields = draw(st.permutations(fields))[: draw(st.integers(0, len(fields)))]
    headers = b"".join(name.encode() + b": " + enc(value) + eol.encode() for name, value in fields)
    kind = draw(st.sampled_from(["plain", "html", "multipart", "nested", "charset"]))
    text = enc(draw(bodies))
    if kind == "plain":
        return headers + eol.encode() + text
    if kind == "html":
        return headers + b"Content-Type: text/html" + eol.encode() * 2 + b"<p>" + text + b"</p>"
    if kind == "charset":
        charset = draw(st.sampled_from(CHARSETS)).encode()
        return headers + b"Content-Type: text/plain; charset=" + charset + eol.encode() * 2 + text
    depth = 1 if kind == "multipart" else draw(st.integers(2, 8))
    e = eol.encode()
    inner = b"Content-Type: text/plain" + e + e + text + e
    for level in range(depth):
        boundary = draw(st.sampled_from([b"b%d" % level, b"b0", b"=_x", b"a b", b"--"]))
        part2 = draw(
            st.sampled_from(
                [
                    b"Content-Type: application/octet-stream" + e + e + b"AAAA" + e,
                    b"Content-Type: message/rfc822" + e + e + b"Subject: inner" + e + e + b"x" + e,
                    b"",
                ]
            )
        )
        closing = draw(st.sampled_from([b"--" + boundary + b"--" + e, b""]))
        inner = (
            b'Content-Type: multipart/mixed; boundary="'
            + boundary
            + b'"'
            + e
            + e
            + b"--"
            + boundary
            + e
            + inner
            + b"--"
            + boundary
            + e
            + part2
            + closing
        )
    return headers + inner


@settings(PROFILE)
@given(raw_mails())
def test_any_mail_parses_classifies_and_escalates_with_the_headers_we_set(raw):
    m = parse(raw)
    assert_clean(m)
    classify(m, None, RULES, AGENT)
    classify(m, Thread(1, Via.HEADERS), RULES, AGENT, frozenset({m.message_id}))
    assert_round_trip(m, raw)
    assert_headers_only_is_as_sound(raw)


@settings(PROFILE)
@given(st.binary(max_size=2000) | raw_mails().map(lambda r: r[: len(r) // 2]))
def test_any_bytes_parse_without_raising(raw):
    m = parse(raw)
    assert_clean(m)
    assert parse(raw, headers_only=True).message_id == m.message_id


@settings(PROFILE)
@given(st.one_of(header_texts, st.text(), st.text(st.characters(codec="utf-8"), max_size=300)))
def test_any_subject_is_written_so_that_it_reads_back_the_same(text):
    msg = email.message.EmailMessage()
    msg.set_raw("Subject", subject_field(text))
    wire = msg.as_bytes()
    assert all(len(line) <= 78 for line in wire.splitlines())
    back = email.message_from_bytes(wire, policy=email.policy.default)
    assert str(back["Subject"]) == clean(text) and back.keys() == ["Subject"]


@st.composite
def deep_mails(draw) -> bytes:
    """Nested multiparts and message/rfc822 parts around the depth limit, with repeated and odd boundaries."""
    e = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    inner = b"Content-Type: text/plain" + e + e + b"leaf" + e
    for _ in range(draw(st.integers(0, MAX_MIME_DEPTH + 30))):
        kind = draw(st.sampled_from([b"multipart/mixed", b"multipart/digest", b"message/rfc822"]))
        if kind == b"message/rfc822":
            inner = b"Content-Type: message/rfc822" + e + e + inner
            continue
        boundary = draw(st.sampled_from([b"a", b"b", b"a--", b"--", b"x y", b"b\t", b"=_z"]))
        sibling = b"--" + boundary + e + b"Content-Type: text/plain" + e + e + b"sibling" + e
        inner = (
            b"Content-Type: "
            + kind
            + b'; boundary="'
            + boundary
            + b'"'
            + e
            + e
            + b"--"
            + boundary
            + e
            + inner
            + sibling * draw(st.integers(0, 2))
            + draw(st.sampled_from([b"--" + boundary + b"--" + e, b""]))
        )
    return b"From: alice@partner.test" + e + b"Message-ID: <deep@partner.test>" + e + inner


@settings(PROFILE)
@given(deep_mails())
def test_what_the_parser_is_given_is_never_deeper_than_the_limit(raw):
    cut, _ = bounded(raw)
    depth, parts = _shape(email.message_from_bytes(cut))
    assert depth <= MAX_MIME_DEPTH + 1 and parts <= limits.MAX_MIME_PARTS + 2
    m = parse(raw)
    assert m.message_id == "<deep@partner.test>" and m.sender == "alice@partner.test"
