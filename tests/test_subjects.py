"""The subject key of last resort and the vendor's case ids (agent/core/reading/subjects.py), with the subjects and
bodies
that case systems write: Salesforce Email-to-Case, ServiceNow, Zendesk, AWS-style support tools, mail gateways."""

import configparser
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.errors import ConfigError
from agent.core.reading.folder import Fetched
from agent.core.reading.subjects import CASE_ID_PATTERNS, MAX_CASE_IDS, case_ids, is_reply, normalise_subject
from agent.core.reading.subjects import normalise_subject as from_mail
from agent.engine.ingest import ingest
from support import OFFLINE_CONFIG, events, incident_row

T1_SUBJECT = "Incentives API: all requests fail with F500"
KEY = "incentives api: all requests fail with f500"
SF_REF = "ref:_00D5f2Hq1._5005f0A9xQ:ref"

# How each system answers a T1 with that subject: every one must find the T1 by its key.
CASE_REPLIES = [
    f"[Case 17239946151] RE: {T1_SUBJECT} [ {SF_REF} ]",  # Salesforce Email-to-Case, Ref ID threading
    f"RE: {T1_SUBJECT} [ thread::pp5XPGfmNf2hRZdRCWnrohc:: ]",  # Salesforce Lightning threading
    f"RE: [CASE 17239946151] {T1_SUBJECT}",  # AWS-style support
    f"(Case 00012345) RE: {T1_SUBJECT}",
    f"CASE:00012345 | RE: {T1_SUBJECT}",
    f"Case #00012345: RE: {T1_SUBJECT}",
    f"INC0012345 - RE: {T1_SUBJECT}",  # ServiceNow
    f"RE: {T1_SUBJECT} Ref:MSG0012345",
    f"[Ticket#4521] RE: {T1_SUBJECT}",  # Zendesk / OTRS-style
    f"Re: [#4521] {T1_SUBJECT}",
    f"[EXTERNAL] RE: {T1_SUBJECT}",  # mail gateways
    f"[External] {T1_SUBJECT}",
    f"EXT: RE: {T1_SUBJECT}",
    f"*EXTERNAL* RE: {T1_SUBJECT}",
    f"RE: {T1_SUBJECT} - INC0012345",
]
PREFIXES = [
    "Re", "RE", "Fwd", "FW", "AW", "WG", "TR", "SV", "VS", "Antw", "Odp", "RIF", "R", "Réf", "RES", "ENC",
    "Re[2]", "RE(3)", "Re^2", "回复", "答复", "返信", "転送",
]  # fmt: skip


@pytest.mark.parametrize("subject", CASE_REPLIES)
def test_a_case_system_reply_has_the_t1s_key(subject):
    assert normalise_subject(subject) == KEY


@pytest.mark.parametrize("prefix", PREFIXES)
def test_reply_and_forward_prefixes_in_many_languages_are_stripped(prefix):
    assert normalise_subject(f"{prefix}: {T1_SUBJECT}") == KEY
    assert normalise_subject(f"{prefix}： {T1_SUBJECT}") == KEY  # the full-width colon CJK clients write
    assert is_reply(f"{prefix}: {T1_SUBJECT}")


def test_repeated_interleaved_and_bracketed_forms():
    assert normalise_subject(f"AW: WG: [EXTERNAL] Re[2]: RE: {T1_SUBJECT}") == KEY
    assert normalise_subject(f"[Fwd: {T1_SUBJECT}]") == KEY
    assert normalise_subject(f"ＲＥ：{T1_SUBJECT}") == KEY  # full-width letters (NFKC)
    assert normalise_subject(f"Réf : {T1_SUBJECT}") == KEY  # French spacing
    assert normalise_subject("RE: RE: ") == ""


def test_the_key_keeps_what_tells_incidents_apart():
    other = "[Case 17239946151] RE: Gift card activation fails with F400 [ ref:_00D5f2Hq1._5005f0B7zZ:ref ]"
    assert normalise_subject(other) != KEY
    assert normalise_subject(f"RE: {T1_SUBJECT} (EU)") != KEY
    assert normalise_subject("Store: checkout down") == "store: checkout down"  # "re:" only at a word's start
    assert normalise_subject("Shop TRex: down") == "shop trex: down"


def test_a_fresh_t1_is_no_reply_even_with_a_tag():
    assert not is_reply(T1_SUBJECT)
    assert not is_reply(f"INC0099999 {T1_SUBJECT}")  # the partner's own ticket number in a new T1
    assert not is_reply("Store: checkout down")


def test_mail_keeps_normalise_subject_importable():
    assert from_mail is normalise_subject


def test_case_ids_in_each_systems_form():
    assert case_ids(f"[Case 17239946151] RE: x [ {SF_REF} ]", CASE_ID_PATTERNS) == ("17239946151", SF_REF)
    assert case_ids("ref:!00D5f2Hq1!5005f0A9xQ:ref", CASE_ID_PATTERNS) == ("ref:!00D5f2Hq1!5005f0A9xQ:ref",)
    assert case_ids("INC0012345 resolved\n\nRef:MSG0012345", CASE_ID_PATTERNS) == ("INC0012345", "MSG0012345")
    assert case_ids("[Ticket#4521] RE: x", CASE_ID_PATTERNS) == ("4521",)
    assert case_ids("CASE:00012345 and Case #00012345 and (Case 00012345)", CASE_ID_PATTERNS) == ("00012345",)
    assert case_ids("[ thread::pp5XPGfmNf2hRZdRCWnrohc:: ]", CASE_ID_PATTERNS) == ("thread::pp5XPGfmNf2hRZdRCWnrohc::",)


def test_words_that_only_look_like_case_ids_are_none():
    text = "In case 2 of our tests the ref: field was empty; see ticket 12 and INC123."
    assert case_ids(text, CASE_ID_PATTERNS) == ()
    assert case_ids("x", ()) == ()


def test_case_ids_are_bounded():
    flood = " ".join(f"INC{n:07d}" for n in range(5000))
    assert len(case_ids(flood, CASE_ID_PATTERNS)) == MAX_CASE_IDS


# -- [escalation] case_id_patterns ------------------------------------------------------------------
CONFIG = OFFLINE_CONFIG


def config(tmp_path: Path, patterns: str | None = None):
    text = CONFIG + (f"case_id_patterns = {patterns}\n" if patterns is not None else "")
    (tmp_path / "config.ini").write_text(text)
    return load(tmp_path / "config.ini")


def test_the_default_patterns_and_one_per_line(tmp_path):
    assert config(tmp_path).escalation.case_id_patterns == CASE_ID_PATTERNS
    mine = config(tmp_path, "\n    \\[SR-(\\d+)\\]\n    # a comment line\n    (?:Vorgang|Case),? Nr\\. (\\d{6})")
    assert mine.escalation.case_id_patterns == (r"\[SR-(\d+)\]", r"(?:Vorgang|Case),? Nr\. (\d{6})")
    assert config(tmp_path, "none").escalation.case_id_patterns == ()


@pytest.mark.parametrize(
    ("pattern", "says"),
    [("(unclosed", "is not a regular expression"), (r"INC\d{7}", "has 0 groups"), (r"(\w+)-(\d+)", "has 2 groups")],
)
def test_a_bad_pattern_is_a_one_line_error_naming_the_key(tmp_path, pattern, says):
    with pytest.raises(ConfigError) as e:
        config(tmp_path, pattern)
    assert str(e.value).startswith("[escalation] case_id_patterns: ") and says in str(e.value)
    assert "\n" not in str(e.value)


def test_the_shipped_config_documents_the_default():
    text = (Path(__file__).resolve().parent.parent / "config.ini").read_text()
    block = text.split("# case_id_patterns =\n", 1)[1].split("\n\n", 1)[0]
    lines = tuple(line.removeprefix("#").strip() for line in block.splitlines() if line.startswith("#     "))
    assert lines == CASE_ID_PATTERNS
    parser = configparser.ConfigParser(interpolation=None)  # uncommented, the block is a valid value of the key
    parser.read_string("[escalation]\ncase_id_patterns =\n" + "\n".join(f"    {p}" for p in lines))
    assert tuple(parser["escalation"]["case_id_patterns"].split()) == CASE_ID_PATTERNS


# -- the database: migration 0006, ingest learning and using a case id -------------------------------
NOW = datetime(2026, 11, 25, 11, 20, tzinfo=UTC)


def fetched(data: bytes, uid: int) -> Fetched:
    return Fetched("INBOX", uid, 1, data, NOW - timedelta(minutes=1), len(data))


def mail(sender, to, mid, subject, body="Hello", extra="", date="Wed, 25 Nov 2026 11:15:00 +0000") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nCc: watch@partner.test\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}\r\n"
    ).encode()


def test_migration_0006_recomputes_the_subject_key(tmp_path):
    cfg = config(tmp_path)
    store = Store(cfg.agent.database)
    t1 = mail("alice@partner.test", "urgent@vendor.test", "<t1@partner.test>", f"[EXTERNAL] {T1_SUBJECT}")
    seen = ingest(store, fetched(t1, 1), cfg, NOW)
    store.update_incident(seen.classification.incident_id, subject_key=f"[external] {KEY}")  # the old rule's key
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0006_subject_keys'")
    from agent.adapters.schema import migrations

    migrations.apply(store.db)
    assert incident_row(store, seen.classification.incident_id)["subject_key"] == KEY
    store.close()


def test_a_vendor_mail_teaches_the_case_id_and_later_mail_carrying_it_belongs_to_the_incident(tmp_path):
    cfg = config(tmp_path)
    store = Store(cfg.agent.database)
    t1 = mail("alice@partner.test", "urgent@vendor.test", "<t1@partner.test>", T1_SUBJECT)
    incident = ingest(store, fetched(t1, 1), cfg, NOW).classification.incident_id
    ack = mail(  # ServiceNow's acknowledgement, threaded by its headers, automatic
        "support@vendor.test",
        "alice@partner.test",
        "<123456.789.1764069360000@vendor.service-now.test>",
        f"INC0012345 has been opened on your behalf: {T1_SUBJECT}",
        body="We have received your incident.\n\nRef:MSG0012345",
        extra="In-Reply-To: <t1@partner.test>\r\nAuto-Submitted: auto-generated\r\n",
    )
    # The case system's acknowledgement (agent.core.reading.receipts): no response, and it teaches the case id.
    assert ingest(store, fetched(ack, 2), cfg, NOW).classification.kind == "receipt"
    assert store.case_ids(incident) == ["INC0012345", "MSG0012345"]
    answer = mail(  # a person's answer, no thread headers, another subject; the watermark in the body alone
        "jane@vendor.test",
        "alice@partner.test",
        "<123457.790.1764069420000@vendor.service-now.test>",
        "Your request: mitigation in progress",
        body="Hi Alice,\n\nwe rolled back the deployment.\n\nRef:MSG0012345",
    )
    seen = ingest(store, fetched(answer, 3), cfg, NOW)
    assert (seen.classification.kind, seen.classification.incident_id) == ("response", incident)
    assert incident_row(store, incident)["state"] == "responded"
    other = mail(
        "jane@vendor.test",
        "alice@partner.test",
        "<123458.791.1764069480000@vendor.service-now.test>",
        "INC0099999 opened",
        body="Ref:MSG0099999",
    )
    assert ingest(store, fetched(other, 4), cfg, NOW).classification.incident_id is None
    kinds = [e["kind"] for e in events(store, incident)]
    assert kinds.count("case_id") == 2
    store.close()


def test_a_case_id_belongs_to_the_first_incident_and_a_fresh_t1_is_never_captured_by_its_body(tmp_path):
    cfg = config(tmp_path)
    store = Store(cfg.agent.database)
    first = ingest(store, fetched(mail("alice@partner.test", "urgent@vendor.test", "<a@p>", "API down"), 1), cfg, NOW)
    reply = mail("support@vendor.test", "alice@partner.test", "<r1@v>", "[Case 17239946151] RE: API down")
    ingest(store, fetched(reply, 2), cfg, NOW)
    assert store.case_ids(first.classification.incident_id) == ["17239946151"]
    fresh = mail(
        "bob@partner.test",
        "urgent@vendor.test",
        "<b@p>",
        "Card activation fails",
        body="Like case #17239946151 yesterday, every activation fails.",
    )
    second = ingest(store, fetched(fresh, 3), cfg, NOW)
    assert second.classification.kind == "t1" and second.classification.incident_id != first.classification.incident_id
    stray = mail(
        "support@vendor.test",
        "bob@partner.test",
        "<r2@v>",
        "[Case 17239946151] RE: Card activation fails",
        extra="In-Reply-To: <b@p>\r\n",
    )
    ingest(store, fetched(stray, 4), cfg, NOW)  # by its headers the second's; the case id stays the first's
    assert store.case_ids(second.classification.incident_id) == []
    assert [e["kind"] for e in events(store, second.classification.incident_id)][-1] == "case_id_elsewhere"
    store.close()
