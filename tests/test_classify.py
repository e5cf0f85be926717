from datetime import UTC, datetime, timedelta

from agent.core.classify import Candidate, Kind, Thread, Via, classify, find_thread
from agent.core.mail import parse
from agent.core.settings import EscalationConfig
from agent.core.sop import Tier

RULES = EscalationConfig(
    t1_address="urgent@vendor.test",
    t2_address="t2@vendor.test",
    t3_address="t3@vendor.test",
    t2_after=timedelta(minutes=30),
    t3_after=timedelta(minutes=30),
    responder_domains=("vendor.test",),
    internal_domains=("partner.test",),
)
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
    from agent.core.trust import Verdict

    no = Verdict(False, "no Authentication-Results from mx.partner.test")
    reply = mail("support@vendor.test", to="alice@partner.test")
    c = classify(reply, Thread(7, Via.HEADERS), RULES, AGENT, trust=no)
    assert (c.kind, c.reason, c.incident_id) == (Kind.UNTRUSTED, no.reason, 7)
    assert classify(mail("alice@partner.test"), None, RULES, AGENT, trust=no).kind == Kind.UNTRUSTED
    stranger = mail("eve@else.test", to="alice@partner.test")
    assert classify(stranger, None, RULES, AGENT, trust=no).kind == Kind.UNRELATED
    yes = Verdict(True, "dmarc=pass")
    assert classify(reply, Thread(7, Via.HEADERS), RULES, AGENT, trust=yes).kind == Kind.RESPONSE
