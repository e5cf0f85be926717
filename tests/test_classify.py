from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agent.core.deciding.classify import Candidate, Kind, Thread, Via, classify, find_thread
from agent.core.reading.mail import parse
from agent.core.sop import Tier
from support import RULES

WATCHED = "watch@partner.test"
AGENT = "agent@partner.test"
T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)


def mail(sender, to="urgent@vendor.test", subject="API down", extra=""):
    head = (
        f"From: {sender}\r\nTo: {to}\r\nCc: {WATCHED}\r\nSubject: {subject}\r\n"
        f"Date: Wed, 25 Nov 2026 11:20:00 +0000\r\nMessage-ID: <m{abs(hash(sender + extra))}@x>\r\n{extra}"
    )
    return parse((head + "\r\nbody\r\n").encode())


class FakeLookup:
    def __init__(self, ids=None, thread_index=None, subjects=()):
        self.ids, self.thread_index, self.subjects = ids or {}, thread_index or {}, list(subjects)

    def incident_for_message_ids(self, ids):
        return next((self.ids[i] for i in ids if i in self.ids), None)

    def incident_for_thread_index(self, key):
        return self.thread_index.get(key)

    def incidents_with_subject(self, key):
        return [c for k, c in self.subjects if k == key]


def test_an_internal_mail_to_the_t1_address_is_a_t1():
    c = classify(mail("alice@partner.test"), None, RULES, AGENT)
    assert c.kind == Kind.T1


def test_not_t1_when_external_automatic_or_not_to_the_t1_address():
    assert classify(mail("eve@evil.test"), None, RULES, AGENT).kind == Kind.UNRELATED
    assert classify(mail("alice@partner.test", to="other@vendor.test"), None, RULES, AGENT).kind == Kind.UNRELATED
    auto = mail("alice@partner.test", extra="Auto-Submitted: auto-replied\r\n")
    assert classify(auto, None, RULES, AGENT).kind == Kind.UNRELATED


def test_in_a_thread_a_vendor_person_is_a_response_and_its_machine_is_not():
    thread = Thread(7, Via.HEADERS)
    reply = mail("support@vendor.test", to="alice@partner.test")
    assert classify(reply, thread, RULES, AGENT).kind == Kind.RESPONSE
    assert classify(reply, thread, RULES, AGENT).incident_id == 7
    ack = mail("support@vendor.test", to="alice@partner.test", extra="X-Autoreply: yes\r\n")
    assert classify(ack, thread, RULES, AGENT).kind == Kind.AUTO_REPLY
    sub = mail("oncall@eu.vendor.test", to="alice@partner.test")
    assert classify(sub, thread, RULES, AGENT).kind == Kind.RESPONSE


def test_internal_any_update_is_a_follow_up_and_a_hand_t2_is_a_manual_escalation():
    thread = Thread(7, Via.HEADERS)
    assert classify(mail("bob@partner.test", subject="Re: API down"), thread, RULES, AGENT).kind == Kind.FOLLOW_UP
    manual = classify(mail("bob@partner.test", to="t2@vendor.test"), thread, RULES, AGENT)
    assert (manual.kind, manual.tier) == (Kind.MANUAL_ESCALATION, Tier.T2)


def test_our_own_mails_are_recognised_by_message_id_or_sender():
    own = mail(AGENT, to="t2@vendor.test")
    assert classify(own, Thread(7, Via.HEADERS), RULES, AGENT).kind == Kind.OWN
    other = mail("bob@partner.test", to="t2@vendor.test")
    assert classify(other, None, RULES, AGENT, frozenset({other.message_id})).kind == Kind.OWN


def test_threading_prefers_headers_then_thread_index_then_subject():
    reply = mail("support@vendor.test", extra="In-Reply-To: <t1@x>\r\n")
    assert find_thread(reply, FakeLookup(ids={"<t1@x>": 3}), RULES, WATCHED) == Thread(3, Via.HEADERS)
    outlook = mail("support@vendor.test", extra="Thread-Index: AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob\r\n")
    key = outlook.thread_index
    assert find_thread(outlook, FakeLookup(thread_index={key: 4}), RULES, WATCHED) == Thread(4, Via.THREAD_INDEX)


def test_subject_fallback_needs_overlapping_people_within_a_day():
    reply = mail("support@vendor.test", to="alice@partner.test", subject="RE: API down")
    cand = Candidate(5, T0, frozenset({"alice@partner.test", "urgent@vendor.test", WATCHED}))
    assert find_thread(reply, FakeLookup(subjects=[("api down", cand)]), RULES, WATCHED) == Thread(5, Via.SUBJECT)
    stranger = mail("support@vendor.test", to="zed@partner.test", subject="RE: API down")
    only_watched = Candidate(5, T0, frozenset({"x@partner.test", WATCHED}))
    assert find_thread(stranger, FakeLookup(subjects=[("api down", only_watched)]), RULES, WATCHED) is None
    old = Candidate(5, T0 - timedelta(days=2), cand.participants)
    assert find_thread(reply, FakeLookup(subjects=[("api down", old)]), RULES, WATCHED) is None


def test_a_fresh_t1_with_a_known_subject_opens_a_new_incident():
    fresh = mail("alice@partner.test", subject="API down")
    cand = Candidate(5, T0, frozenset({"alice@partner.test"}))
    assert find_thread(fresh, FakeLookup(subjects=[("api down", cand)]), RULES, WATCHED) is None
    again = mail("alice@partner.test", subject="Re: API down")
    assert find_thread(again, FakeLookup(subjects=[("api down", cand)]), RULES, WATCHED) == Thread(5, Via.SUBJECT)


def test_an_unauthenticated_sender_changes_nothing():
    from agent.core.reading.trust import Verdict

    no = Verdict(False, "no Authentication-Results from mx.partner.test")
    reply = mail("support@vendor.test", to="alice@partner.test")
    c = classify(reply, Thread(7, Via.HEADERS), RULES, AGENT, trust=no)
    assert (c.kind, c.reason, c.incident_id) == (Kind.UNTRUSTED, no.reason, 7)
    assert classify(mail("alice@partner.test"), None, RULES, AGENT, trust=no).kind == Kind.UNTRUSTED
    stranger = mail("eve@else.test", to="alice@partner.test")
    assert classify(stranger, None, RULES, AGENT, trust=no).kind == Kind.UNRELATED
    yes = Verdict(True, "dmarc=pass")
    assert classify(reply, Thread(7, Via.HEADERS), RULES, AGENT, trust=yes).kind == Kind.RESPONSE


# -- case systems, the vendor's case id, rewritten Message-IDs ----------------------------------------
SF_REF = "ref:_00D5f2Hq1._5005f0A9xQ:ref"


class CaseLookup(FakeLookup):
    def __init__(self, case_ids=None, **kwargs):
        super().__init__(**kwargs)
        self.case_ids = case_ids or {}

    def incident_for_case_ids(self, ids):
        return next((self.case_ids[i] for i in ids if i in self.case_ids), None)


def salesforce_reply(subject, body=""):
    """An Email-to-Case answer: the case number and the Ref ID wrapped around the subject, no In-Reply-To."""
    head = (
        'From: "Vendor Support" <support@vendor.test>\r\nTo: alice@partner.test\r\nCc: watch@partner.test\r\n'
        f"Subject: {subject}\r\nDate: Wed, 25 Nov 2026 11:25:00 +0000\r\n"
        "Message-ID: <Qm9g7s0000000000000000000000000000000000000000@sfdc.vendor.test>\r\n"
        "X-SFDC-LK: 00D5f2Hq1\r\nX-SFDC-User: 0055f000007bQxY\r\nX-Sender: postmaster@sfdc.vendor.test\r\n"
        "X-SFDC-EntityId: 5005f0A9xQ\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
    )
    return parse((head + "\r\n" + (body or "Hello Alice, we are on it.") + "\r\n").encode())


def test_a_case_system_reply_without_references_finds_its_t1_by_subject():
    cand = Candidate(5, T0, frozenset({"alice@partner.test", "urgent@vendor.test", WATCHED}))
    lookup = CaseLookup(subjects=[("api down", cand)])
    reply = salesforce_reply(f"[Case 17239946151] RE: API down [ {SF_REF} ]")
    assert find_thread(reply, lookup, RULES, WATCHED) == Thread(5, Via.SUBJECT)
    other = salesforce_reply(f"[Case 17239946151] RE: Card activation fails [ {SF_REF} ]")
    assert find_thread(other, lookup, RULES, WATCHED) is None  # the same tags on another incident's subject
    fresh = mail("alice@partner.test", subject="[EXTERNAL] API down")  # a new T1: no reply prefix
    assert find_thread(fresh, lookup, RULES, WATCHED) is None


def test_a_known_case_id_ties_a_mail_right_after_its_headers():
    lookup = CaseLookup(case_ids={"17239946151": 8, SF_REF: 8}, ids={"<t1@x>": 3})
    tagged = salesforce_reply("[Case 17239946151] Root cause analysis")
    assert find_thread(tagged, lookup, RULES, WATCHED) == Thread(8, Via.CASE_ID)
    in_body = salesforce_reply("Root cause analysis", body=f"Dear partner,\n\nthe RCA is attached.\n\n{SF_REF}")
    assert find_thread(in_body, lookup, RULES, WATCHED) == Thread(8, Via.CASE_ID)
    headers_first = mail("support@vendor.test", subject="[Case 17239946151] RE: x", extra="In-Reply-To: <t1@x>\r\n")
    assert find_thread(headers_first, lookup, RULES, WATCHED) == Thread(3, Via.HEADERS)
    unknown = salesforce_reply("[Case 17239940000] Planned maintenance", body="ref:_00D5f2Hq1._5005f0B7zZ:ref")
    assert find_thread(unknown, lookup, RULES, WATCHED) is None


def test_a_fresh_t1_is_not_captured_by_a_case_id_in_its_body():
    lookup = CaseLookup(case_ids={"17239946151": 8})
    t1 = mail("alice@partner.test", subject="Card activation fails")
    t1 = replace(t1, text="Like case #17239946151 yesterday: every activation fails.")
    assert find_thread(t1, lookup, RULES, WATCHED) is None


def test_which_bodies_are_read_for_case_ids():
    from agent.core.deciding.classify import reads_body

    vendor, internal = mail("support@vendor.test", to=WATCHED), mail("bob@partner.test", to="support@vendor.test")
    in_thread = Thread(2, Via.HEADERS)
    assert reads_body(vendor, in_thread, RULES, case_ids_known=False)  # to learn the incident's case id
    assert not reads_body(internal, in_thread, RULES, case_ids_known=True)  # tied already by its headers
    assert reads_body(vendor, None, RULES, True) and reads_body(internal, None, RULES, True)
    assert not reads_body(vendor, None, RULES, False)  # no case id known: nothing a body could tie to
    assert not reads_body(mail("bob@partner.test", to="carol@partner.test"), None, RULES, True)  # chatter
    assert not reads_body(mail("news@else.test", to=WATCHED), None, RULES, True)
    assert not reads_body(mail("bob@partner.test", extra="Auto-Submitted: auto-generated\r\n"), None, RULES, True)
    assert not reads_body(mail("alice@partner.test"), None, RULES, True)  # a fresh T1
    assert reads_body(internal, Thread(2, Via.SUBJECT), RULES, True)  # a body's case id beats a subject


OUTLOOK_COPY = (  # our T2's CC copy, relayed by Outlook.com under a new Message-ID
    b"From: agent@partner.test\r\nTo: t2@vendor.test\r\nCc: alice@partner.test, watch@partner.test\r\n"
    b"Subject: [T2 escalation] API down\r\nDate: Wed, 25 Nov 2026 11:45:00 +0000\r\n"
    b"Message-ID: <AM9PR01MB7654C1D2E3F4A5B6@AM9PR01MB7654.eurprd01.prod.outlook.test>\r\n"
    b"X-Microsoft-Original-Message-ID: <esc-t2.1764071100@partner.test>\r\n"
    b"X-MS-Exchange-Organization-AuthSource: AM9PR01MB7654.eurprd01.prod.outlook.test\r\n"
    b"X-OriginatorOrg: outlook.test\r\nIn-Reply-To: <t1@x>\r\nReferences: <t1@x>\r\n"
    b"Auto-Submitted: auto-generated\r\n\r\nbody\r\n"
)


def test_relayed_mail_keeps_its_original_message_id_and_our_copy_is_still_ours():
    copy = parse(OUTLOOK_COPY)
    assert copy.message_id == "<AM9PR01MB7654C1D2E3F4A5B6@AM9PR01MB7654.eurprd01.prod.outlook.test>"
    assert copy.original_message_id == "<esc-t2.1764071100@partner.test>"
    ours = frozenset({"<esc-t2.1764071100@partner.test>"})
    c = classify(copy, Thread(3, Via.HEADERS), RULES, "someone-else@partner.test", ours)
    assert (c.kind, c.incident_id) == (Kind.OWN, 3)
    gmail = parse(
        b"From: alice@partner.test\r\nTo: urgent@vendor.test\r\nSubject: API down\r\n"
        b"Message-ID: <CAHx9kP2m1q8rT4vW0yZ3bN6cD7eF8gH9iJ0kL1mN2oP3qR4sT5@mail.gmail.test>\r\n"
        b"X-Google-Original-Message-ID: 20261125111500.GA4242@partner.test\r\n\r\nbody\r\n"
    )
    assert gmail.original_message_id == "<20261125111500.GA4242@partner.test>"  # a bare id is taken too
    assert parse(b"Message-ID: <a@x>\r\nX-Google-Original-Message-ID: <a@x>\r\n\r\n").original_message_id is None


def test_an_engineers_t1_relayed_by_procmail_still_opens_but_a_vendor_mail_with_x_loop_never_responds():
    relayed = mail("alice@partner.test", extra="X-Loop: alice@partner.test\r\nReturn-Path: <>\r\n")
    assert relayed.automatic and classify(relayed, None, RULES, AGENT).kind == Kind.T1
    vendor = mail("support@vendor.test", to="alice@partner.test", extra="X-Loop: support@vendor.test\r\n")
    assert classify(vendor, Thread(1, Via.HEADERS), RULES, AGENT).kind == Kind.AUTO_REPLY
    oof = mail("alice@partner.test", subject="Automatic reply: API down")
    assert classify(oof, None, RULES, AGENT).kind == Kind.UNRELATED
