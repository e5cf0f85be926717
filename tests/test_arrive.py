"""One mail, one reading: `arrive` cuts a mail's bytes to the limits once and parses its header block and its body
(when it reads it) once, however many readers look at it (the bounce report, the Authentication-Results, a command,
a forwarded answer). Counted over a T1, a vendor's reply, a bounce, a command and a forwarded answer."""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.core.deciding.arrive import Opened, arrive
from agent.core.deciding.classify import Candidate, Kind
from agent.core.deciding.mail_commands import Command
from agent.core.deciding.ties import ThreadMail
from agent.core.reading import limits
from agent.core.reading import mail as mail_module
from agent.core.reading.folder import Fetched
from agent.core.reading.subjects import normalise_subject
from support import AGENT, RULES, WATCHED

CORPUS = Path(__file__).parent / "corpus" / "field"
NOW = datetime(2026, 11, 25, 11, 50, tzinfo=UTC)
T1_ID = "<t1-field@partner.test>"
SUBJECT = "Incentives API: all requests fail with F500"
T1_SENT = datetime(2026, 11, 25, 11, 15, 38, tzinfo=UTC)
AUTHSERV = "mx.partner.test"
# What our receiving server writes on top of each mail.
INTERNAL_PASS = (
    f"Authentication-Results: {AUTHSERV};\r\n"
    " dkim=pass header.d=partner.test;\r\n dmarc=pass header.from=partner.test\r\n"
)
VENDOR_PASS = (
    f"Authentication-Results: {AUTHSERV};\r\n"
    " dkim=pass header.d=vendor.test;\r\n dmarc=pass header.from=vendor.test\r\n"
)

T1 = (
    f"{INTERNAL_PASS}From: Alice Engineer <alice@partner.test>\r\nTo: {RULES.t1_address}\r\n"
    f"Cc: {WATCHED}, bob@partner.test\r\nSubject: {SUBJECT}\r\nDate: Wed, 25 Nov 2026 11:15:38 +0000\r\n"
    f"Message-ID: {T1_ID}\r\nContent-Type: text/plain\r\n\r\nEvery request fails with F500.\r\n"
).encode()
# Outlook's reply from a person at the vendor, in the T1's thread.
VENDOR_REPLY = (
    f"{VENDOR_PASS}From: Dana Support <dana@vendor.test>\r\nTo: alice@partner.test\r\nCc: {WATCHED}\r\n"
    f"Subject: RE: {SUBJECT}\r\nDate: Wed, 25 Nov 2026 11:40:02 +0000\r\nMessage-ID: <reply-1@vendor.test>\r\n"
    f"In-Reply-To: {T1_ID}\r\nReferences: {T1_ID}\r\nThread-Topic: {SUBJECT}\r\nContent-Type: text/plain; "
    'charset="us-ascii"\r\n\r\nHi Alice,\r\n\r\nWe found the cause and are rolling back the deployment now.\r\n\r\n'
    "Dana\r\n"
).encode()
# An engineer steers the incident, replying to the T1 (Thunderbird).
COMMAND = (
    f"{INTERNAL_PASS}From: Alice Engineer <alice@partner.test>\r\nTo: {WATCHED}\r\nSubject: Re: {SUBJECT}\r\n"
    f"Date: Wed, 25 Nov 2026 11:45:10 +0000\r\nMessage-ID: <hold-1@partner.test>\r\nIn-Reply-To: {T1_ID}\r\n"
    f"References: {T1_ID}\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\n#hold 1h\r\n\r\n"
    "Waiting for the vendor's rollback.\r\n"
).encode()
# Outlook's "forward as attachment" of the vendor's answer to an engineer alone.
FORWARD = (
    f"{INTERNAL_PASS}From: Bob Engineer <bob@partner.test>\r\nTo: {WATCHED}\r\nSubject: FW: {SUBJECT}\r\n"
    f"Date: Wed, 25 Nov 2026 11:47:00 +0000\r\nMessage-ID: <fw-1@partner.test>\r\nIn-Reply-To: {T1_ID}\r\n"
    f"References: {T1_ID}\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="_002_fw1"\r\n\r\n'
    "--_002_fw1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    "The vendor answered me directly, see below.\r\n\r\n"
    "--_002_fw1\r\nContent-Type: message/rfc822\r\n\r\n"
    f"From: Dana Support <dana@vendor.test>\r\nTo: bob@partner.test\r\nSubject: RE: {SUBJECT}\r\n"
    "Date: Wed, 25 Nov 2026 11:44:00 +0000\r\nMessage-ID: <reply-2@vendor.test>\r\n"
    f"In-Reply-To: {T1_ID}\r\nReferences: {T1_ID}\r\nContent-Type: text/plain\r\n\r\n"
    "Bob, the fix is deployed; please confirm on your side.\r\n\r\n--_002_fw1--\r\n"
).encode()
BOUNCE = INTERNAL_PASS.encode() + (CORPUS / "bounce_postfix.eml").read_bytes()  # Postfix's DSN for the T1


class Records:
    """The state database after the T1 opened incident 1."""

    def has_message(self, message_id: str) -> bool:
        return False

    def has_case_ids(self) -> bool:
        return False

    def incident_for_message_ids(self, ids: tuple[str, ...]) -> int | None:
        return 1 if T1_ID in ids else None

    def incident_for_thread_index(self, key: str) -> int | None:
        return None

    def incidents_with_subject(self, subject_key: str) -> list[Candidate]:
        return []

    def incident_for_case_ids(self, ids: tuple[str, ...]) -> int | None:
        return None

    def own_message_ids(self, among: tuple[str | None, ...]) -> frozenset[str]:
        return frozenset()

    def opened(self, incident_id: int) -> Opened:
        return Opened(T1_SENT, normalise_subject(SUBJECT))

    def senders(self, incident_id: int) -> list[tuple[str, str, frozenset[str]]]:
        return [(T1_ID, "alice@partner.test", frozenset())]

    def thread_mails(self, incident_id: int) -> list[ThreadMail]:
        return [ThreadMail(T1_ID, None, (), None, "t1")]

    def outbox_message_ids(self, incident_id: int) -> frozenset[str]:
        return frozenset()

    def open_outages(self) -> list[tuple[int, dict[str, str], str | None]]:
        return []


class NoIncident(Records):
    def incident_for_message_ids(self, ids: tuple[str, ...]) -> int | None:
        return None


@pytest.fixture
def counted(monkeypatch):
    """How often each mail's bytes were cut, its header block read, and (by Message-ID) its body read."""
    counts = {"cut": Counter(), "headers": Counter(), "body": Counter()}

    class Cutter(limits._Cutter):
        def __init__(self, raw: bytes, headers_only: bool):
            counts["cut"][raw] += 1
            super().__init__(raw, headers_only)

    fields, with_text = mail_module._fields, mail_module._with_text

    def read_fields(raw, cut):
        counts["headers"][raw] += 1
        return fields(raw, cut)

    def read_text(mail, cut):
        counts["body"][mail.message_id] += 1
        return with_text(mail, cut)

    monkeypatch.setattr(limits, "_Cutter", Cutter)
    monkeypatch.setattr(mail_module, "_fields", read_fields)
    monkeypatch.setattr(mail_module, "_with_text", read_text)
    return counts


@pytest.mark.parametrize(
    "raw, records, kind, body_read",
    [
        (T1, NoIncident(), Kind.T1, True),
        (VENDOR_REPLY, Records(), Kind.RESPONSE, True),
        (BOUNCE, Records(), Kind.BOUNCE, False),
        (COMMAND, Records(), Kind.COMMAND, True),
        (FORWARD, Records(), Kind.RESPONSE, True),
    ],
    ids=["t1", "vendor-reply", "bounce", "command", "forwarded-answer"],
)
def test_each_mail_is_cut_once_and_parsed_once(counted, raw, records, kind, body_read):
    rules = replace(RULES, trusted_authserv_id=AUTHSERV)  # the Authentication-Results are read too
    fetched = Fetched("INBOX", 7, 1, raw, NOW, len(raw))

    arrival = arrive(fetched, records, rules, WATCHED, AGENT)

    assert arrival is not None
    assert arrival.classification.kind == kind, arrival.classification.reason
    assert counted["cut"][raw] == 1
    assert counted["headers"][raw] == 1
    assert counted["body"][arrival.mail.message_id] == (1 if body_read else 0)
    assert bool(arrival.mail.text) == body_read
    # A forwarded answer's own mail is a mail of its own: it too is cut and read once.
    assert all(n == 1 for n in counted["cut"].values())
    assert all(n == 1 for n in counted["headers"].values())
    assert all(n == 1 for n in counted["body"].values())


def test_what_each_reader_found_in_the_one_reading(counted):
    """The readers that got the cut bytes still read what they did: the bounce's original, the command, the tie
    by References, the forwarded answer's vendor sender."""
    rules = replace(RULES, trusted_authserv_id=AUTHSERV)

    def arrived(raw, records=None):
        result = arrive(Fetched("INBOX", 7, 1, raw, NOW, len(raw)), records or Records(), rules, WATCHED, AGENT)
        assert result is not None
        return result

    assert arrived(BOUNCE).bounce.original_message_id == T1_ID
    command = arrived(COMMAND)
    assert isinstance(command.classification.command, Command) and command.tie.applies
    assert "from dana@vendor.test" in arrived(FORWARD).classification.reason
    assert arrived(VENDOR_REPLY).classification.kind == Kind.RESPONSE  # its sender authenticated...
    untrusted = VENDOR_REPLY.replace(b"dmarc=pass header.from=vendor.test", b"dmarc=fail header.from=vendor.test")
    untrusted = untrusted.replace(b"dkim=pass", b"dkim=fail")
    assert arrived(untrusted).classification.kind == Kind.UNTRUSTED  # ...and not: the header was read


def test_a_mail_already_seen_is_read_no_further(counted):
    class Seen(Records):
        def has_message(self, message_id: str) -> bool:
            return True

    assert arrive(Fetched("INBOX", 7, 1, VENDOR_REPLY, NOW, len(VENDOR_REPLY)), Seen(), RULES, WATCHED, AGENT) is None
    assert counted["cut"][VENDOR_REPLY] == 1 and counted["body"]["<reply-1@vendor.test>"] == 0


@pytest.mark.parametrize("path", sorted(Path(__file__).parent.joinpath("corpus").rglob("*.eml")), ids=str)
def test_one_cut_gives_what_two_did_for_the_corpus(path):
    """The mails as real clients write them: cut once, the header block and the whole mail are what two cuts gave."""
    raw = path.read_bytes()
    once = limits.Cut(raw)
    assert once.head() == limits.cut(raw, True)
    assert once.whole() == limits.cut(raw, False)
