"""T1s in any charset are quoted intact in UTF-8 escalations, and their decoded subjects carried over."""

import email
import email.policy
from datetime import timedelta

import pytest
from test_procedure import CORPUS, fresh

from agent.core.reading.mail import parse
from agent.core.sop import Tier
from agent.core.writing.compose import Original, Step
from agent.core.writing.escalation import escalation
from support import T2_ADDR, AgentProcess, send, to, write_config

CASES = {  # corpus file -> (a phrase of its subject, a phrase of its body), as a person reads them
    "japanese_iso2022jp.eml": ("緊急", "株式会社パートナー"),
    "japanese_shift_jis.eml": ("", "パートナーID"),
    "chinese_gb2312.eml": ("", "合作伙伴"),
    "windows1252.eml": ("", "“"),
    "utf8.eml": ("", "Partner"),
}


def decoded_original(name: str):
    raw = (CORPUS / name).read_bytes()
    reference = email.message_from_bytes(raw, policy=email.policy.default)
    text = "\n".join(part.get_content() for part in reference.walk() if part.get_content_type() == "text/plain")
    return raw, reference, text


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_body_and_subject_decode_as_a_person_reads_them(name):
    raw, reference, text = decoded_original(name)
    mail = parse(raw)
    assert mail.subject == " ".join(str(reference["Subject"]).split())
    subject_phrase, body_phrase = CASES[name]
    assert subject_phrase in mail.subject and body_phrase in mail.text
    assert "\x1b" not in mail.text and "\ufffd" not in mail.text  # no raw escape sequences, no mojibake


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_escalation_quotes_the_original_intact_in_utf8(name):
    raw, reference, _ = decoded_original(name)
    mail = parse(raw)
    original = Original(
        mail.message_id, mail.subject, mail.sender, mail.recipients, mail.references, mail.date, mail.text, raw
    )
    msg = escalation(
        original,
        Tier.T2,
        (Step(Tier.T1, "urgent@vendor.test", mail.date, mail.message_id),),
        timedelta(minutes=30),
        to=T2_ADDR,
        cc=(),
        from_address="a@partner.test",
        message_id="<e@partner.test>",
        now=mail.date,
    )
    back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    body = back.get_body(("plain",))
    assert body.get_content_charset() == "utf-8"
    assert "> " + CASES[name][1] in body.get_content() or CASES[name][1] in body.get_content()
    assert str(back["Subject"]) == f"[T2 escalation] {mail.subject}"


def test_a_japanese_t1_end_to_end(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="2s")
    incident = fresh("japanese_iso2022jp.eml")
    with AgentProcess(config):
        send(relay, incident)
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
    m = esc.message()
    assert "緊急" in str(m["Subject"])
    assert "> 株式会社パートナー 決済基盤チーム" in m.get_body(("plain",)).get_content()
