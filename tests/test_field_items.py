"""SOP items in the engineer's own words, end to end through `escalation-agent run` against the real servers: a
complete T1 written without the SOP's labels draws no missing-items notice (and is still escalated on time); a T1
that really lacks two items draws one notice naming exactly those two."""

import time

import pytest
from test_item_words import LACKING, OUTLOOK_TABLE

from agent.core.procedure.items import ITEMS
from support import AGENT, ALICE, T1_ADDR, T2_ADDR, AgentProcess, send, sent_to, t1, wait_until, write_config

pytestmark = pytest.mark.e2e

# Outlook's plain-text part of the same mail: each table row a "label<TAB>value" line.
OUTLOOK_PLAIN = """Hello,

our POS cannot activate physical cards. Details:

Who's reporting\tKenji Sato (on-call SRE)
Best number to reach me\t+81 90 5555 0134
Mail\tkenji.sato@partner.test<mailto:kenji.sato@partner.test>
What's happening\tActivateGiftCard calls from our convenience-store POS time out or return F500.
Our partner code\tAcmesJP
Sample request\tAcmesJP-20261126-0042
Card serial\t1400000005567580
What the API sends back\t{"errorCode":"F500","errorType":"GeneralError"}
Marketplace affected\tJapan (amazon.co.jp)
Time of the sample request\t2026-11-26 01:12:09 UTC
Started failing at\tapprox. 00:55 UTC
Is it consistent or intermittent?\tIntermittent, roughly 1 in 3 activations fail
Recent changes on our end?\tPOS firmware 7.4 rolled out on 24 Nov; nothing since.

Kind regards,
Kenji
"""


def missing_items_notices(relay, t1_mail):
    return [
        a
        for a in list(relay.accepted)
        if a.mail_from == AGENT
        and "lacks required items" in str(a.message()["Subject"])
        and a.message()["In-Reply-To"] == t1_mail["Message-ID"]
    ]


def listed(notice) -> list[str]:
    text = notice.message().get_body(("plain",)).get_content()
    return [i.key for i in ITEMS if f"{i.label} (for example:" in text]


def test_own_words_draw_no_false_notice_and_real_gaps_are_named(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s", escalation_t3_after="1h")
    complete = t1(subject="ActivateGiftCard failing at our POS (JP)", body=OUTLOOK_PLAIN)
    complete.add_alternative(OUTLOOK_TABLE, subtype="html")
    text, _, lacking = LACKING["prose without request id or its time"]
    short = t1(subject="CreateGiftCard F500 since 16:05 GMT", body=text)
    with AgentProcess(config):
        send(relay, complete)
        send(relay, short)
        wait_until(lambda: len(sent_to(relay, T2_ADDR)) >= 2, 20, "both T2 escalations")
        wait_until(lambda: missing_items_notices(relay, short), 10, "the notice for the T1 lacking items")
        time.sleep(2)  # any later notice would have come by now
    assert missing_items_notices(relay, complete) == []  # no false nag
    [notice] = missing_items_notices(relay, short)
    assert listed(notice) == lacking == ["request_id", "timestamp"]
    assert ALICE in notice.rcpt_tos and T1_ADDR not in notice.rcpt_tos and T2_ADDR not in notice.rcpt_tos
    escalated = {str(a.message()["Subject"]) for a in sent_to(relay, T2_ADDR)}
    assert escalated == {
        "[T2 escalation] ActivateGiftCard failing at our POS (JP)",
        "[T2 escalation] CreateGiftCard F500 since 16:05 GMT",
    }
