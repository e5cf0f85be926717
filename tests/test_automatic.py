"""Automatic mail as real systems write it: Exchange/Outlook out-of-office replies in six languages, Gmail's and
iCloud's vacation replies, and the look-alike that must stay a person's mail (a reply through an Exchange list).

The mails are in tests/corpus/field (oof_*.eml, auto_*.eml, person_via_list.eml), written from public descriptions of
each format. Each rule is also tested alone, so that the reason names the rule that fired."""

import base64
import re
from pathlib import Path

import pytest

from agent.core.deciding.classify import Kind, Thread, Via, classify
from agent.core.reading.mail import parse
from support import RULES

CORPUS = Path(__file__).parent / "corpus" / "field"
AGENT = "agent@partner.test"
EXCHANGE_LOOP = "Exchange rules agent (X-Auto-Response-Suppress with X-MS-Exchange-Inbox-Rules-Loop)"
EXCHANGE_SOURCE = "Exchange rules agent (X-Auto-Response-Suppress with X-MS-Exchange-Generated-Message-Source)"
# What marks a mail as automatic, besides its subject: removed to see that the subject alone is enough.
MACHINE_FIELDS = re.compile(
    rb"^(x-auto-response-suppress|x-ms-exchange-inbox-rules-loop|x-ms-exchange-generated-message-source"
    rb"|auto-submitted):[^\r\n]*\r\n",
    re.IGNORECASE | re.MULTILINE,
)


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def automatic(raw: bytes) -> str | None:
    return parse(raw, headers_only=True).automatic


def with_fields(*fields: str, subject: str = "RE: [T2 escalation] API down") -> bytes:
    head = "".join(f"{f}\r\n" for f in fields)
    return (
        "From: Morgan Manager <manager@vendor.test>\r\nTo: agent@partner.test\r\n"
        f"Subject: {subject}\r\nMessage-ID: <r@vendor.test>\r\n{head}\r\nWe are on it.\r\n"
    ).encode()


def b_subject(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


@pytest.mark.parametrize(
    "name, reason",
    [
        ("oof_exchange_en.eml", EXCHANGE_LOOP),  # the field case: no Auto-Submitted
        ("oof_exchange_de.eml", EXCHANGE_LOOP),
        ("oof_exchange_fr.eml", "Auto-Submitted: auto-generated"),  # Exchange Online writes it, when it does
        ("oof_exchange_es.eml", EXCHANGE_LOOP),
        ("oof_exchange_it.eml", EXCHANGE_LOOP),
        ("oof_exchange_ja.eml", EXCHANGE_LOOP),
        ("auto_gmail_vacation.eml", "Auto-Submitted: auto-replied"),
        ("auto_icloud_vacation.eml", "Auto-Submitted: auto-replied"),  # its subject is a plain "Re: ..."
    ],
)
def test_out_of_office_replies_as_each_system_writes_them_are_automatic(name, reason):
    assert automatic(corpus(name)) == reason
    assert parse(corpus(name)).automatic == reason  # the full parse says the same


@pytest.mark.parametrize(
    "name, phrase, subject",
    [
        ("oof_exchange_en.eml", "automatic reply", "Automatic reply: [T2 escalation]"),
        ("oof_exchange_de.eml", "automatische antwort", "Automatische Antwort: [T2 escalation]"),
        ("oof_exchange_fr.eml", "réponse automatique", "Réponse automatique : [T2 escalation]"),  # ISO-8859-1 Q
        ("oof_exchange_es.eml", "respuesta automática", "Respuesta automática: [T2 escalation]"),  # UTF-8 B
        ("oof_exchange_it.eml", "risposta automatica", "Risposta automatica: [T2 escalation]"),
        ("oof_exchange_ja.eml", "自動応答", "自動応答: [T2 escalation]"),  # ISO-2022-JP B, 12 characters a word
    ],
)
def test_the_localised_subject_alone_marks_an_exchange_out_of_office(name, phrase, subject):
    raw, n = MACHINE_FIELDS.subn(b"", corpus(name))
    assert n >= 2  # what Exchange's rules agent wrote is gone
    m = parse(raw, headers_only=True)
    assert m.subject.startswith(subject)
    assert m.automatic == f"subject begins with {phrase!r}"


def test_x_auto_response_suppress_alone_is_a_person_s_mail_through_a_list():
    raw = corpus("person_via_list.eml")
    assert b"X-Auto-Response-Suppress: DR, OOF, AutoReply" in raw
    assert automatic(raw) is None
    assert automatic(with_fields("X-Auto-Response-Suppress: All")) is None


def test_an_out_of_office_never_counts_as_a_response_and_the_person_s_reply_does():
    thread = Thread(1, Via.HEADERS)
    for name in ("oof_exchange_en.eml", "oof_exchange_ja.eml", "auto_gmail_vacation.eml", "auto_icloud_vacation.eml"):
        c = classify(parse(corpus(name), headers_only=True), thread, RULES, AGENT)
        assert c.kind == Kind.AUTO_REPLY, name
        assert c.reason.startswith("automatic (")
    c = classify(parse(corpus("person_via_list.eml"), headers_only=True), thread, RULES, AGENT)
    assert (c.kind, c.reason) == (Kind.RESPONSE, "reply from manager@vendor.test")


@pytest.mark.parametrize(
    "fields, reason",
    [
        (["X-Auto-Response-Suppress: All", "X-MS-Exchange-Inbox-Rules-Loop: manager@vendor.test"], EXCHANGE_LOOP),
        (
            ["X-Auto-Response-Suppress: All", "x-ms-exchange-generated-message-source: Mailbox Rules Agent"],
            EXCHANGE_SOURCE,
        ),
        (['Auto-Submitted: auto-replied; owner-email="manager@vendor.test"'], "Auto-Submitted: auto-replied"),
        (["Auto-Submitted: auto-generated"], "Auto-Submitted: auto-generated"),
        (["Auto-Submitted: auto-replied (vacation)"], "Auto-Submitted: auto-replied (vacation)"),  # Sieve vacation
        (["Auto-Submitted: auto-notified"], "Auto-Submitted: auto-notified"),
        (["Auto-Submitted: No"], None),
        (["Auto-Submitted: no (written by a person)"], None),
        (["X-Autoreply: yes"], "X-Autoreply header"),
        (["X-Autorespond: vacation"], "X-Autorespond header"),
        (["Precedence: auto_reply"], "Precedence: auto_reply"),
        (["Precedence: junk"], "Precedence: junk"),
        (["X-Loop: helpdesk@vendor.test"], "X-Loop: helpdesk@vendor.test"),
        (["Return-Path: <>"], "empty Return-Path (<>)"),
        (["Return-Path: < >"], "empty Return-Path (<>)"),
        (["Return-Path: <manager@vendor.test>"], None),
        # An inbox rule's forward or redirect of a person's mail is still that person's words.
        (["X-MS-Exchange-Inbox-Rules-Loop: manager@vendor.test"], None),
        (["X-MS-Exchange-Organization-AuthAs: Internal", "Thread-Index: AQHbX2p1c3o0Y2FxTkW2n9Vb1x7dGQ=="], None),
    ],
)
def test_each_rule_alone_and_the_reason_names_it(fields, reason):
    assert automatic(with_fields(*fields)) == reason


@pytest.mark.parametrize(
    "subject, reason",
    [
        ("Out of Office: [T2 escalation] API down", "subject begins with 'out of office'"),
        ("Out of Office AutoReply: API down", "subject begins with 'out of office autoreply'"),
        ("AutoReply: API down", "subject begins with 'autoreply'"),
        ("Auto Reply: API down", "subject begins with 'auto reply'"),
        ("Abwesenheitsnotiz: API down", "subject begins with 'abwesenheitsnotiz'"),
        ("Autosvar: API down", "subject begins with 'autosvar'"),
        ("Automatisch antwoord: API down", "subject begins with 'automatisch antwoord'"),
        (b_subject("Odpowiedź automatyczna: API down", "utf-8"), "subject begins with 'odpowiedź automatyczna'"),
        (b_subject("自动回复: API down", "gb2312"), "subject begins with '自动回复'"),
        (b_subject("自動応答：API down", "utf-8"), "subject begins with '自動応答'"),  # a full-width colon
        (b_subject("Réponse automatique\u00a0: API down", "utf-8"), "subject begins with 'réponse automatique'"),
        ("Out of Office", "subject begins with 'out of office'"),  # the whole subject
        ("Undeliverable: API down", "subject begins with 'undeliverable'"),
        ("Unzustellbar: API down", "subject begins with 'unzustellbar'"),
        # A tagging gateway's "[EXTERNAL]", and reply prefixes, are stripped first.
        ("[EXTERNAL] Automatic reply: API down", "subject begins with 'automatic reply' after reply prefixes or tags"),
        (
            "AW: Automatische Antwort: API down",
            "subject begins with 'automatische antwort' after reply prefixes or tags",
        ),
        # Chosen: "RE: Automatic reply: ..." is automatic, whoever wrote it. Some responders answer with a reply
        # prefix; a person who answers an out-of-office without editing the subject costs one escalation too many
        # at worst, a machine taken for a person stops the ladder.
        (
            "RE: Automatic reply: [T2 escalation] API down",
            "subject begins with 'automatic reply' after reply prefixes or tags",
        ),
        # A phrase anywhere later is only quoted: a person's mail.
        ("RE: [T2 escalation] API down - re your Automatic reply: who is on call?", None),
        ("RE: [T2 escalation] Automatic reply: API down", None),  # a tag with a digit is the thread's, not a gateway's
        ("Automatic replies are off, we are on it", None),
        ("Re: Out of office tomorrow, Kim covers the API", None),
        ("Autoreplying is not what we do: API down", None),
        ("RE: [T2 escalation] Incentives API: all requests fail with F500", None),
    ],
)
def test_subjects_count_only_when_they_begin_with_the_phrase(subject, reason):
    assert automatic(with_fields(subject=subject)) == reason
