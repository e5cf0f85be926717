"""The original T1 within attach_limit (agent.core.writing.attach, compose): literal MIME trees as Outlook, Gmail and a
plain-text client write them; never cut inside a part; the T2 says exactly what is attached."""

import base64
import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest

from agent.adapters.ini import parse_size
from agent.adapters.smtp import too_large
from agent.core.errors import ConfigError
from agent.core.sop import Tier
from agent.core.writing import attach
from agent.core.writing.compose import Original, Step, wire_size
from agent.core.writing.escalation import escalation_forms

T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)


def b64(size: int, seed: bytes = b"x") -> bytes:
    """`size` bytes of a file as a mail client writes them: base64, 76 characters a line, CRLF."""
    data = (seed * (size // len(seed) + 1))[:size]
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def outlook_t1(tnef: int) -> bytes:
    """Outlook / Exchange: mixed( related( alternative(plain, html), image001.png ), winmail.dat )."""
    return (
        b"From: Alice Example <alice@partner.test>\r\nTo: urgent@vendor.test\r\nCC: watch@partner.test\r\n"
        b"Subject: Incentives API F500\r\nThread-Topic: Incentives API F500\r\n"
        b"Thread-Index: AdrFbGx0c3Rlc3Q=\r\nDate: Wed, 25 Nov 2026 11:15:00 +0000\r\n"
        b"Message-ID: <AM0PR01MB1234.eurprd01.prod.outlook.com>\r\nContent-Language: en-US\r\n"
        b"X-MS-Has-Attach: yes\r\nX-MS-TNEF-Correlator: <AM0PR01MB1234.eurprd01.prod.outlook.com>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n\tboundary="_004_AM0PR01MB1234_"\r\n\r\n'
        b"--_004_AM0PR01MB1234_\r\n"
        b'Content-Type: multipart/related;\r\n\tboundary="_003_AM0PR01MB1234_";\r\n'
        b'\ttype="multipart/alternative"\r\n\r\n'
        b"--_003_AM0PR01MB1234_\r\n"
        b'Content-Type: multipart/alternative;\r\n\tboundary="_000_AM0PR01MB1234_"\r\n\r\n'
        b'--_000_AM0PR01MB1234_\r\nContent-Type: text/plain; charset="us-ascii"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nPartner ID: Acmes\r\nMarketplace: US\r\n"
        b"Example API error response: 'F500' GeneralError\r\n\r\n"
        b'--_000_AM0PR01MB1234_\r\nContent-Type: text/html; charset="us-ascii"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<html><body><p>Partner ID: Acmes</p>"
        b'<img src=3D"cid:image001.png@01DB3F2A.5E6F7A80"></body></html>\r\n\r\n--_000_AM0PR01MB1234_--\r\n\r\n'
        b'--_003_AM0PR01MB1234_\r\nContent-Type: image/png; name="image001.png"\r\n'
        b'Content-Description: image001.png\r\nContent-Disposition: inline; filename="image001.png"; size=2048\r\n'
        b"Content-ID: <image001.png@01DB3F2A.5E6F7A80>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(2048, b"\x89PNG")
        + b"\r\n--_003_AM0PR01MB1234_--\r\n\r\n--_004_AM0PR01MB1234_\r\n"
        b'Content-Type: application/ms-tnef; name="winmail.dat"\r\nContent-Description: winmail.dat\r\n'
        b'Content-Disposition: attachment; filename="winmail.dat"; size=%d\r\n'
        % tnef
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + b64(tnef, b"\x78\x9f\x3e\x22")
        + b"\r\n--_004_AM0PR01MB1234_--\r\n"
    )


def gmail_t1(zip_size: int) -> bytes:
    """Gmail: mixed( alternative(plain, html), logs.zip ), boundaries of 28 hex digits."""
    return (
        b"MIME-Version: 1.0\r\nDate: Wed, 25 Nov 2026 11:15:00 +0000\r\n"
        b"Message-ID: <CAJ2kFq1x-gmail@mail.gmail.com>\r\nSubject: F500 on every request\r\n"
        b"From: Bob <bob@partner.test>\r\nTo: urgent@vendor.test\r\nCc: watch@partner.test\r\n"
        b'Content-Type: multipart/mixed; boundary="000000000000a1b2c3d4e5f60718"\r\n\r\n'
        b"--000000000000a1b2c3d4e5f60718\r\n"
        b'Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60716"'
        b'\r\n\r\n--000000000000a1b2c3d4e5f60716\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\n'
        b"Partner ID: Acmes\r\nMarketplace: DE\r\n\r\n"
        b'--000000000000a1b2c3d4e5f60716\r\nContent-Type: text/html; charset="UTF-8"\r\n\r\n'
        b'<div dir="ltr">Partner ID: Acmes<br>Marketplace: DE</div>\r\n\r\n--000000000000a1b2c3d4e5f60716--\r\n'
        b'--000000000000a1b2c3d4e5f60718\r\nContent-Type: application/zip; name="logs.zip"\r\n'
        b'Content-Disposition: attachment; filename="logs.zip"\r\nContent-Transfer-Encoding: base64\r\n'
        b"Content-ID: <f_m3x1y2z30>\r\nX-Attachment-Id: f_m3x1y2z30\r\n\r\n"
        + b64(zip_size, b"PK\x03\x04")
        + b"--000000000000a1b2c3d4e5f60718--\r\n"
    )


def plain_log_t1(size: int) -> bytes:
    """A mail whose log is attached as text/plain (Thunderbird), quoted-printable would be worse: base64."""
    return (
        b"From: Carol <carol@partner.test>\r\nTo: urgent@vendor.test\r\nSubject: F500\r\n"
        b"Message-ID: <c1@partner.test>\r\nDate: Wed, 25 Nov 2026 11:15:00 +0000\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="------------0aB1cD2eF3"\r\n\r\n'
        b"This is a multi-part message in MIME format.\r\n--------------0aB1cD2eF3\r\n"
        b"Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        b"Partner ID: Acmes\r\nMarketplace: US\r\n\r\n--------------0aB1cD2eF3\r\n"
        b'Content-Type: text/plain; charset=UTF-8; name="app.log"\r\nContent-Disposition: attachment; '
        b'filename="app.log"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(size, b"2026-11-25 11:15:06 ERROR F500 GeneralError request=Acmes3324500H2\n")
        + b"\r\n--------------0aB1cD2eF3--\r\n"
    )


def parts(raw: bytes) -> list[tuple[str, str | None]]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return [(p.get_content_type(), p.get_filename()) for p in msg.walk() if not p.is_multipart()]


def test_a_t1_within_the_budget_is_attached_whole():
    raw = gmail_t1(2_000_000)
    got = attach.fit(raw, 10_000_000)
    assert got.form == attach.Form.WHOLE and got.raw == raw
    assert got.says() == f"The original T1 is attached in full ({len(raw) / 1e6:.1f} MB)."


def test_outlook_keeps_its_text_and_inline_image_and_names_the_winmail_dat_it_left_out():
    raw = outlook_t1(3_000_000)
    got = attach.fit(raw, 1_000_000)
    assert got.form == attach.Form.TRIMMED  # the inline image001.png is small: it stays
    assert got.raw is not None and len(got.raw) < 20_000
    assert got.raw.startswith(raw[: raw.index(b"\r\n\r\n")])  # the header block as it was
    kept = parts(got.raw)
    assert ("image/png", "image001.png") in kept and ("text/html", None) in kept
    assert not any(name == "winmail.dat" for _, name in kept)
    assert got.left_out == (attach.LeftOut("winmail.dat", "application/ms-tnef", 3_000_000),)
    assert got.says() == "The original T1 is attached without its 1 attachment of 3.0 MB: winmail.dat."
    note = email.message_from_bytes(got.raw, policy=email.policy.default).get_payload()[-1].get_content()
    assert "winmail.dat, application/ms-tnef, 3.0 MB" in note


def test_gmail_zip_left_out_whole_and_the_result_parses_with_every_boundary_closed():
    raw = gmail_t1(4_000_000)
    got = attach.fit(raw, 100_000)
    assert got.raw is not None
    msg = email.message_from_bytes(got.raw, policy=email.policy.default)
    assert not msg.defects and all(not p.defects for p in msg.walk())
    assert [t for t, _ in parts(got.raw)] == ["text/plain", "text/html", "text/plain"]
    assert "Marketplace: DE" in msg.get_body(("plain",)).get_content()
    assert got.says() == "The original T1 is attached without its 1 attachment of 4.0 MB: logs.zip."


def test_the_largest_attachment_goes_first_and_a_small_one_stays():
    raw = gmail_t1(3_000_000).replace(
        b"--000000000000a1b2c3d4e5f60718--",
        b'--000000000000a1b2c3d4e5f60718\r\nContent-Type: text/csv; name="requests.csv"\r\n'
        b'Content-Disposition: attachment; filename="requests.csv"\r\n\r\nid,status\r\nAcmes3324500H2,F500\r\n'
        b"--000000000000a1b2c3d4e5f60718--",
    )
    got = attach.fit(raw, 1_000_000)
    assert got.form == attach.Form.TRIMMED
    assert ("text/csv", "requests.csv") in parts(got.raw or b"")
    assert [p.name for p in got.left_out] == ["logs.zip"]


def test_a_giant_text_plain_log_is_left_out_whole_never_cut_in_its_base64():
    raw = plain_log_t1(12_000_000)
    got = attach.fit(raw, 10_000_000)
    assert got.says() == "The original T1 is attached without its 1 attachment of 12.0 MB: app.log."
    assert got.raw is not None and b"ERROR F500" not in got.raw and len(got.raw) < 5_000
    assert (
        "Partner ID: Acmes"
        in email.message_from_bytes(got.raw, policy=email.policy.default).get_body(("plain",)).get_content()
    )
    # Within the budget but over the parser's 4 MiB of text: still never cut, left out whole.
    got = attach.fit(plain_log_t1(5_000_000), 10_000_000)
    assert got.form == attach.Form.TEXT and [p.name for p in got.left_out] == ["app.log"]


def test_a_multipart_missing_its_closing_delimiter_comes_out_closed():
    raw = gmail_t1(300_000).removesuffix(b"--000000000000a1b2c3d4e5f60718--\r\n")
    got = attach.fit(raw, 100_000)
    assert got.form == attach.Form.TEXT and got.raw is not None
    assert got.raw.endswith(b"\r\n--000000000000a1b2c3d4e5f60718--\r\n")
    msg = email.message_from_bytes(got.raw, policy=email.policy.default)
    assert not any(p.defects for p in msg.walk())
    assert [p.name for p in got.left_out] == ["logs.zip"]


def test_a_one_part_mail_too_large_is_attached_as_its_header_with_a_note_for_its_body():
    raw = (
        b"From: Dan <dan@partner.test>\r\nTo: urgent@vendor.test\r\nSubject: F500 log inline\r\n"
        b"Message-ID: <d1@partner.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ) + b"2026-11-25 11:15:06 ERROR F500 GeneralError\r\n" * 300_000
    got = attach.fit(raw, 1_000_000)
    assert got.form == attach.Form.HEADER and got.raw is not None and len(got.raw) < 2_000
    msg = email.message_from_bytes(got.raw, policy=email.policy.default)
    assert msg["Subject"] == "F500 log inline" and len(msg.get_all("Content-Type")) == 1
    assert "its body, text/plain, 12.9 MB" in msg.get_content()  # its bytes, line breaks aside
    assert got.says().startswith(
        f"The original T1 ({len(raw) / 1e6:.1f} MB) is attached as its header only: its body is"
    )


def test_text_only_leaves_out_every_attachment():
    got = attach.fit(outlook_t1(50_000), 10_000_000, text_only=True)
    assert got.form == attach.Form.TEXT
    assert {p.name for p in got.left_out} == {"image001.png", "winmail.dat"}


def test_a_t1_fetched_only_in_part_names_the_part_it_never_saw_whole():
    raw = gmail_t1(30_000_000)
    got = attach.fit(raw[: 2 * 1024 * 1024], 10_000_000, whole_size=len(raw))
    assert got.form == attach.Form.TEXT and got.raw is not None
    msg = email.message_from_bytes(got.raw, policy=email.policy.default)
    assert not msg.defects and [t for t, _ in parts(got.raw)] == ["text/plain", "text/html", "text/plain"]
    [left] = got.left_out
    assert (left.name, left.fetched) == ("logs.zip", False) and 29_000_000 < left.size < 31_000_000
    assert got.says() == (
        "The original T1 is attached without its 1 attachment of about 30.0 MB: logs.zip "
        "(not fetched: the mail is over max_message_bytes)."
    )


def test_a_t1_fetched_as_its_header_fields_only_is_attached_as_its_header():
    raw = gmail_t1(1000)
    head = raw[: raw.index(b"\r\n\r\n") + 2]
    got = attach.fit(head, 10_000_000, whole_size=40_000_000)
    assert got.form == attach.Form.HEADER and got.raw is not None
    assert got.raw.startswith(b"MIME-Version: 1.0") and b"Content-Type: multipart/mixed" not in got.raw
    assert got.says() == (
        "The original T1 (40.0 MB) is attached as its header only: its body was not fetched: the mail is over "
        "max_message_bytes."
    )


def original(raw: bytes, size: int | None = None) -> Original:
    return Original(
        "<t1@partner.test>", "F500", "alice@partner.test", ("urgent@vendor.test",), (), T0, "F500", raw, size=size
    )


def t2(o: Original, limit: int, smaller: bool = False):
    """The first form, or with `smaller` the form sent after a size refusal."""
    forms = escalation_forms(
        o,
        Tier.T2,
        (Step(Tier.T1, "urgent@vendor.test", T0, o.message_id),),
        timedelta(minutes=30),
        to="t2@vendor.test",
        cc=("alice@partner.test",),
        from_address="agent@partner.test",
        message_id="<esc@partner.test>",
        now=T0 + timedelta(minutes=30),
        attach_limit=limit,
        smaller=smaller,
    )
    return forms[1] if smaller else forms[0]


def test_the_t2_never_exceeds_attach_limit_and_says_what_it_attached():
    o = original(gmail_t1(12_000_000))
    msg = t2(o, 10_000_000)
    assert msg is not None and wire_size(msg) <= 10_000_000
    text = msg.get_body(("plain",)).get_content()
    assert "The original T1 is attached without its 1 attachment of 12.0 MB: logs.zip." in text
    assert "attached in full" not in text
    whole = t2(original(gmail_t1(2_000_000)), 10_000_000)
    assert whole is not None and 2_600_000 < wire_size(whole) < 10_000_000
    assert "attached in full" in whole.get_body(("plain",)).get_content()


def test_the_smaller_form_is_header_and_text_then_nothing():
    o = original(outlook_t1(200_000))
    first, smaller = t2(o, 10_000_000), t2(o, 10_000_000, smaller=True)
    assert first is not None and smaller is not None and wire_size(smaller) < 40_000 < wire_size(first)
    assert "without its 2 attachments" in smaller.get_body(("plain",)).get_content()
    trimmed = original(gmail_t1(12_000_000))
    last = t2(trimmed, 10_000_000, smaller=True)
    assert last is not None and not [p for p in last.iter_attachments()]
    assert "is not attached" in last.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "code, text, expected",
    [
        (552, "5.3.4 Message size exceeds fixed maximum message size", True),
        (552, "Error: Too much mail data", True),
        (552, "5.2.2 Mailbox full", False),
        (554, "5.3.4 Message too big for system", True),
        (550, "5.2.3 Message length exceeds administrative limit", True),
        (550, "5.7.1 Rejected", False),
    ],
)
def test_size_refusals_are_told_apart(code, text, expected):
    assert too_large(code, text) is expected


def test_attach_limit_sizes():
    assert parse_size("10MB", "k") == parse_size("10M", "k") == parse_size("10000000", "k") == 10_000_000
    assert parse_size("9.5MiB", "k") == int(9.5 * 1024 * 1024) and parse_size("512 kB", "k") == 512_000
    with pytest.raises(ConfigError, match=r"\[escalation\] attach_limit: '10 parsecs' is not a size"):
        parse_size("10 parsecs", "[escalation] attach_limit")
