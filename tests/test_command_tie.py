"""A command needs a tie (issue 21.2): mail commands as Outlook, Gmail and Apple Mail write them, and as a forger
does, against the rule (agent.core.deciding.ties) and through ingest into a real SQLite file (unit: no servers)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.deciding.ties import Anchors, ThreadMail, Tie, anchors, tie, unprotected
from agent.core.reading.folder import Fetched
from agent.core.reading.mail import parse
from agent.core.reading.trust import authentication_results, verify_sender
from agent.engine import ladder
from agent.engine.ingest import ingest
from support import OFFLINE_CONFIG, events, incident_row, notice_rows

NOW = datetime(2026, 11, 25, 11, 55, tzinfo=UTC)
T1_ID = "<DM6PR11MB41370C2A9E2B7D4F8C1A3E5FB9D2A4C6@DM6PR11MB4137.namprd11.prod.outlook.com>"
SUBJECT = "Incentives API: all requests fail with F500"
AUTH_PASS = (
    "Authentication-Results: mx.partner.test;\r\n"
    "\tdkim=pass header.d=partner.test header.s=s2026 header.b=Qx3fLm0a;\r\n"
    "\tspf=pass (mx.partner.test: domain of bob@partner.test designates 198.51.100.25 as permitted sender) "
    "smtp.mailfrom=bob@partner.test;\r\n\tdmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=partner.test\r\n"
)

# Outlook desktop on Exchange Online: Thread-Topic and Thread-Index, an Exchange Message-ID.
OUTLOOK_T1 = f"""From: Alice Engineer <alice@partner.test>
To: "urgent@vendor.test" <urgent@vendor.test>
CC: Watch <watch@partner.test>, Bob Example <bob@partner.test>
Subject: {SUBJECT}
Thread-Topic: {SUBJECT}
Thread-Index: AdxfKos8nksfIMfYSmuPDjpdLHsekA==
Date: Wed, 25 Nov 2026 11:15:00 +0000
Message-ID: {T1_ID}
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

Contact phone number: +1-555-0100
Partner ID: Acmes
Brief problem description: since 11:15 GMT every request fails with F500.
Marketplace: US
"""

# Outlook (Exchange ActiveSync, as Outlook for iOS sends a reply): the thread is carried by Thread-Index alone.
OUTLOOK_THREAD_INDEX_ONLY = f"""From: Bob Example <bob@partner.test>
To: Alice Engineer <alice@partner.test>, "urgent@vendor.test" <urgent@vendor.test>
CC: Watch <watch@partner.test>
Subject: RE: {SUBJECT}
Thread-Topic: {SUBJECT}
Thread-Index: AdxfKos8nksfIMfYSmuPDjpdLHsekAAAGis8
Date: Wed, 25 Nov 2026 11:52:31 +0000
Message-ID: <SN7PR11MB6750E2D1A0B3C4F5A6B7C8D9E0F1A2B3@SN7PR11MB6750.namprd11.prod.outlook.com>
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

#stop vendor phoned, their rollback fixed it

Bob Example | On-call engineer | +1 555 0101

________________________________
From: Alice Engineer <alice@partner.test>
Sent: Wednesday, November 25, 2026 11:15 AM
To: urgent@vendor.test
Cc: Watch; Bob Example
Subject: {SUBJECT}

Partner ID: Acmes
"""

GMAIL = f"""MIME-Version: 1.0
References: {T1_ID}
In-Reply-To: {T1_ID}
From: Bob Example <bob@partner.test>
Date: Wed, 25 Nov 2026 11:52:31 +0000
Message-ID: <CAJx8f0QmT9u3P_2k1sRb4vYwG7HnZ-Lq5eA0cX3dF8jK1oPz6w@mail.gmail.com>
Subject: Re: {SUBJECT}
To: Alice Engineer <alice@partner.test>
Cc: urgent@vendor.test, watch@partner.test
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"

#stop rollback fixed it

On Wed, 25 Nov 2026 at 11:15, Alice Engineer <alice@partner.test> wrote:
> Partner ID: Acmes

--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">#stop rollback fixed it</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Wed, \
25 Nov 2026 at 11:15, Alice Engineer &lt;<a href="mailto:alice@partner.test">alice@partner.test</a>&gt; wrote:<br>\
</div><blockquote class="gmail_quote">Partner ID: Acmes</blockquote></div>

--000000000000a1b2c3d4e5f60718--
"""

APPLE_MAIL = f"""From: Bob Example <bob@partner.test>
Content-Type: text/plain;
\tcharset=us-ascii
Content-Transfer-Encoding: 7bit
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.200.121\\))
Subject: Re: {SUBJECT}
Message-Id: <8E3C1A52-4B7D-4F0A-9C21-6D5E7F8A9B0C@partner.test>
Date: Wed, 25 Nov 2026 11:52:31 +0000
In-Reply-To: {T1_ID}
Cc: urgent@vendor.test,
 watch@partner.test
To: Alice Engineer <alice@partner.test>
References: {T1_ID}
X-Mailer: Apple Mail (2.3826.200.121)

#stop the vendor phoned: fixed

> On 25 Nov 2026, at 11:15, Alice Engineer <alice@partner.test> wrote:
>
> Partner ID: Acmes
"""

# What an outsider can write: the engineer's address, the subject (or the case id) and nothing of the thread.
FORGED_SUBJECT = f"""From: Bob Example <bob@partner.test>
To: watch@partner.test
Subject: Re: {SUBJECT}
Date: Wed, 25 Nov 2026 11:52:31 +0000
Message-ID: <5f3c9a1e8b7d2c4a@mail.attacker.test>
X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

#stop
"""
FORGED_CASE_ID = FORGED_SUBJECT.replace(f"Re: {SUBJECT}", "[Case 12345678] closed").replace("5f3c", "6a4d")
# The vendor's case system acknowledged the T1 (threaded, automatic): it teaches the case id.
RECEIPT = f"""From: Vendor Support <no-reply@vendor.test>
To: alice@partner.test
Cc: watch@partner.test
Subject: [Case 12345678] Re: {SUBJECT}
Date: Wed, 25 Nov 2026 11:15:40 +0000
Message-ID: <0Xk9a000000000000000000000000000000000000000000000S4JQ2A00w3FbZkLvQ0ehsIyQyXkU@sfdc.net>
In-Reply-To: {T1_ID}
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=UTF-8

We have received your request and created case 12345678. This is an automated message; please do not reply.
"""
DMARC_NO_REFERENCES = AUTH_PASS + FORGED_SUBJECT.replace("5f3c9a1e8b7d2c4a@mail.attacker.test", "d1@partner.test")


def raw(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def thread_mail(text: str, kind: str) -> ThreadMail:
    m = parse(raw(text))
    return ThreadMail(m.message_id, m.original_message_id, m.thread_ids, m.thread_index, kind)


KNOWN = anchors([thread_mail(OUTLOOK_T1, "t1")], {"<escalation.t2@partner.test>"})


@pytest.mark.parametrize(
    "text, expected",
    [
        (OUTLOOK_THREAD_INDEX_ONLY, Tie.THREAD_INDEX),
        (GMAIL, Tie.REFERENCES),
        (APPLE_MAIL, Tie.REFERENCES),
        (FORGED_SUBJECT, Tie.NONE),
        (FORGED_CASE_ID, Tie.NONE),
    ],
    ids=["outlook-thread-index-only", "gmail-references", "apple-mail", "forged-subject", "forged-case-id"],
)
def test_a_command_is_tied_by_the_threads_own_ids_never_by_its_subject(text, expected):
    assert tie(parse(raw(text)), KNOWN, None).tie == expected


def test_a_sender_that_passed_dmarc_needs_no_references():
    data = raw(DMARC_NO_REFERENCES)
    m = parse(data)
    verdict = verify_sender(authentication_results(data), m.sender, "mx.partner.test")
    tied = tie(m, KNOWN, verdict)
    assert (tied.tie, tied.reason) == (
        Tie.DMARC,
        "dkim=pass, d=partner.test aligned with partner.test (mx.partner.test)",
    )
    assert tie(m, KNOWN, None).tie == Tie.NONE  # the same mail without a configured check


def test_a_reply_to_one_of_the_agents_mails_or_to_a_reply_in_the_thread_is_tied():
    ours = parse(raw(FORGED_SUBJECT.replace("Message-ID:", "In-Reply-To: <escalation.t2@partner.test>\nMessage-ID:")))
    assert tie(ours, KNOWN, None).tie == Tie.REFERENCES
    vendor = ThreadMail("<r1@vendor.test>", None, (T1_ID,), None, "response")
    to_vendor = ThreadMail("<r2@partner.test>", None, ("<r1@vendor.test>",), None, "follow_up")
    known = anchors([to_vendor, vendor, thread_mail(OUTLOOK_T1, "t1")], ())
    assert {"<r1@vendor.test>", "<r2@partner.test>"} <= known.message_ids  # in any order of arrival


def test_a_forgers_own_chain_anchors_nothing():
    first = ThreadMail("<f1@attacker.test>", None, (), "AdxfKp0RVaofIMfYSmuPDjpdLHsekQ==", "follow_up")
    spoofed_own = ThreadMail("<f2@attacker.test>", None, (T1_ID,), None, "untrusted")
    known = anchors([thread_mail(OUTLOOK_T1, "t1"), first, spoofed_own], ())
    assert known == Anchors(frozenset({T1_ID}), frozenset({"AdxfKos8nksfIMfYSmuPDjpdLHsekA=="}))
    second = FORGED_SUBJECT.replace("Message-ID:", "In-Reply-To: <f1@attacker.test>\nMessage-ID:")
    assert tie(parse(raw(second)), known, None).tie == Tie.NONE
    same_conversation = FORGED_SUBJECT.replace(
        "Message-ID:", "Thread-Index: AdxfKp0RVaofIMfYSmuPDjpdLHsekQAAEgA0\nMessage-ID:"
    )
    assert tie(parse(raw(same_conversation)), known, None).tie == Tie.NONE


def test_check_says_what_protects_commands_when_no_dmarc_check_is_configured():
    line = unprotected(None)
    assert line is not None and "\n" not in line
    assert "trusted_authserv_id is not set" in line and "in reply to the T1 or to one of the agent's mails" in line
    assert unprotected("mx.partner.test") is None


# -- through ingest, into a real SQLite file ------------------------------------------------------------------
@pytest.fixture
def env(tmp_path: Path):
    def make(extra: str = ""):
        (tmp_path / "config.ini").write_text(OFFLINE_CONFIG + extra + "[agent]\nopened_notice = false\n")
        cfg = load(tmp_path / "config.ini")
        return cfg, Store(cfg.agent.database)

    return make


def feed(store, cfg, *texts: str) -> None:
    for uid, text in enumerate(texts, start=1):
        data = raw(text)
        ingest(store, Fetched("INBOX", uid, 1, data, NOW - timedelta(minutes=3), len(data)), cfg, NOW)


def answers(store) -> list[tuple[str, str]]:
    return [(r["kind"], r["raw"].decode()) for r in notice_rows(store, 1) if r["kind"] != "missing_items"]


@pytest.mark.parametrize("forged", [FORGED_SUBJECT, FORGED_CASE_ID], ids=["subject", "case-id"])
def test_a_forged_stop_changes_nothing_and_the_claimed_sender_gets_one_line(env, forged):
    cfg, store = env()
    feed(store, cfg, OUTLOOK_T1, RECEIPT, forged)
    assert store.case_ids(1) == ["12345678"]
    assert incident_row(store, 1)["state"] == "awaiting_response"
    [(kind, mail)] = answers(store)
    assert kind == "untied bob@partner.test" and "To: bob@partner.test" in mail
    assert "#stop not applied: reply to the T1 or to one of the agent's mails." in mail
    [event] = [e for e in events(store, 1) if e["kind"] == "command_not_tied"]
    assert event["detail"].startswith(
        "#stop from bob@partner.test (<6a4d" if forged is FORGED_CASE_ID else "#stop from"
    )
    assert "names none of the incident's Message-IDs" in event["detail"]
    assert event["reason"] == "a command must reply to the T1 or to one of the agent's mails"
    [(reason,)] = store.db.execute("SELECT reason FROM messages WHERE kind = 'command'").fetchall()
    assert "not applied" in reason
    assert ladder.decisions(store, cfg, NOW + timedelta(hours=1))[1].tier is not None  # the T2 still goes
    store.close()


@pytest.mark.parametrize("genuine", [OUTLOOK_THREAD_INDEX_ONLY, GMAIL, APPLE_MAIL], ids=["outlook", "gmail", "apple"])
def test_a_genuine_stop_after_a_forged_one_still_stops(env, genuine):
    cfg, store = env()
    feed(store, cfg, OUTLOOK_T1, FORGED_SUBJECT, genuine)
    row = incident_row(store, 1)
    assert row["state"] == "resolved" and row["note"].endswith("by bob@partner.test")
    resolved = [e for e in events(store, 1) if e["kind"] == "resolved"]
    assert [e["detail"].split(";")[0] for e in resolved] == [
        f"resolved by {row['note'].rpartition(' by ')[0]} from bob@partner.test"
    ]
    assert resolved[0]["reason"].startswith("tied: ")
    store.close()


def test_with_a_dmarc_check_a_passing_sender_commands_without_references(env):
    cfg, store = env("trusted_authserv_id = mx.partner.test\n")
    t1 = AUTH_PASS.replace("bob@", "alice@") + OUTLOOK_T1
    feed(store, cfg, t1, DMARC_NO_REFERENCES)
    assert incident_row(store, 1)["state"] == "resolved"
    [event] = [e for e in events(store, 1) if e["kind"] == "resolved"]
    assert event["reason"] == "tied: dkim=pass, d=partner.test aligned with partner.test (mx.partner.test)"
    store.close()


def test_an_untied_status_tells_nothing_and_a_flood_earns_one_answer_per_address(env):
    cfg, store = env()
    status = FORGED_SUBJECT.replace("#stop", "#status")
    again = status.replace("5f3c9a1e8b7d2c4a", "7b5e0c2f9a1d3e4b")
    feed(store, cfg, OUTLOOK_T1, status, again)
    [(kind, mail)] = answers(store)
    assert kind == "untied bob@partner.test" and "#status not applied: reply to the T1" in mail
    assert "awaiting_response" not in mail and "incident_opened" not in mail  # nothing of where it stands
    assert len([e for e in events(store, 1) if e["kind"] == "command_not_tied"]) == 2  # each one recorded
    store.close()
