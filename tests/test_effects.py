"""effects(): what one mail does to an incident, as values. Literal mails and incidents; no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.core.deciding.classify import Classification, Kind, Via
from agent.core.deciding.consequences import effects, resolution
from agent.core.deciding.effect import (
    Arrival,
    CancelPending,
    Confirm,
    DeliveryFailed,
    Event,
    Notify,
    Open,
    RecordTier,
    SetState,
)
from agent.core.procedure.policy import Escalation, Incident, State, Status
from agent.core.reading.bounce import Bounce
from agent.core.reading.mail import parse
from agent.core.settings import AgentConfig, Config, ImapConfig, SmtpConfig
from agent.core.sop import Tier
from support import RULES as SHARED_RULES

T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
RULES = replace(SHARED_RULES, operations=(("US", "ops-us@vendor.test"), ("DE", "ops-de@vendor.test")))
SETTINGS = Config(
    path=Path("config.ini"),
    imap=ImapConfig("127.0.0.1", 143, "none", "watch", "pw", ("INBOX",), "watch@partner.test", 10.0, None),
    smtp=SmtpConfig("127.0.0.1", 25, "none", None, None, "agent@partner.test", 10.0, None),
    escalation=RULES,
    agent=AgentConfig(
        Path("state.db"), 60, False, timedelta(hours=24), 25 << 20, "info", timedelta(minutes=2), timedelta(minutes=2)
    ),
)
COMPLETE = """Contact phone number: +49 30 1234567
Contact email: alice@partner.test
Contact name: Alice Example
Brief problem description: since 11:10 GMT every request fails with F500
Partner ID: Acme
Example request ID: Acme3324500H2
Example API error response: 'F500' GeneralError
Marketplace: US
Timestamp of example request: 11:12:06 GMT
Time of first failing request: 11:10:02 GMT
Is the behavior consistent? Yes
Recent changes: none in two months
"""


def mail(
    sender="support@vendor.test",
    subject="Re: API down",
    date="Wed, 25 Nov 2026 11:20:00 +0000",
    body="We are on it.",
    to="alice@partner.test",
    message_id="<m1@vendor.test>",
):
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nCc: watch@partner.test\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: {message_id}\r\nIn-Reply-To: <t1@partner.test>\r\n\r\n{body}\r\n"
    ).encode()
    return parse(raw), raw


def incident(state=State.AWAITING_RESPONSE, escalations=()):
    return Incident(7, state, T0, tuple(escalations), frozenset(), "<t1@partner.test>")


def arrival(kind, m, reason="why", tier=None, **kw):
    return Arrival(m, Classification(kind, reason, 7, tier, Via.HEADERS), **kw)


def test_a_response_to_an_open_incident_stops_it_and_cancels_what_is_pending():
    m, _ = mail()
    out = effects(arrival(Kind.RESPONSE, m, "reply from support@vendor.test"), incident(), SETTINGS, T0)
    assert out == [
        SetState(State.RESPONDED, response_message_id="<m1@vendor.test>"),
        CancelPending(),
        Event(
            "responded",
            "response <m1@vendor.test> from support@vendor.test (thread by in-reply-to/references)",
            "reply from support@vendor.test",
        ),
    ]


def test_a_late_response_to_a_closed_incident_is_only_recorded():
    m, _ = mail()
    out = effects(arrival(Kind.RESPONSE, m), incident(State.RESOLVED), SETTINGS, T0)
    assert [type(e) for e in out] == [Event] and out[0].kind == "mail"


def test_an_auto_reply_and_a_follow_up_change_nothing():
    m, _ = mail()
    for kind in (Kind.AUTO_REPLY, Kind.FOLLOW_UP, Kind.IN_THREAD):
        out = effects(arrival(kind, m), incident(), SETTINGS, T0)
        assert [type(e) for e in out] == [Event], kind


def test_an_unrelated_mail_does_nothing():
    m, _ = mail()
    assert effects(Arrival(m, Classification(Kind.UNRELATED, "not for us")), None, SETTINGS, T0) == []


def test_a_tier_sent_by_hand_counts_as_sent_from_its_date():
    m, _ = mail(sender="bob@partner.test", to="t2@vendor.test", message_id="<by-hand@partner.test>")
    out = effects(arrival(Kind.MANUAL_ESCALATION, m, tier=Tier.T2), incident(), SETTINGS, T0 + timedelta(hours=1))
    assert out[0] == RecordTier(Tier.T2, "<by-hand@partner.test>", datetime(2026, 11, 25, 11, 20, tzinfo=UTC))
    assert out[1].kind == "escalation_manual"


def test_a_tier_sent_by_hand_while_ours_is_pending_counts_as_sent_in_its_place():
    m, _ = mail(sender="bob@partner.test", to="t2@vendor.test", message_id="<by-hand@partner.test>")
    pending = Escalation(Tier.T2, Status.PENDING, None, "<ours@partner.test>")
    out = effects(arrival(Kind.MANUAL_ESCALATION, m, tier=Tier.T2), incident(escalations=[pending]), SETTINGS, T0)
    assert out[0] == RecordTier(Tier.T2, "<by-hand@partner.test>", datetime(2026, 11, 25, 11, 20, tzinfo=UTC))
    assert "our pending T2 is not sent: the one sent by hand counts" in out[1].detail
    sent = Escalation(Tier.T2, Status.SENT, T0, "<ours@partner.test>")
    out = effects(arrival(Kind.MANUAL_ESCALATION, m, tier=Tier.T2), incident(escalations=[sent]), SETTINGS, T0)
    assert [type(e) for e in out] == [Event] and "T2 was already sent" in out[0].detail


def test_our_own_cc_copy_confirms_the_send():
    m, _ = mail(sender="agent@partner.test", message_id="<esc@partner.test>")
    out = effects(arrival(Kind.OWN, m), incident(), SETTINGS, T0)
    assert out == [Confirm("<esc@partner.test>", datetime(2026, 11, 25, 11, 20, tzinfo=UTC))]


def test_a_bounced_t1_is_told_to_its_sender_and_is_no_response():
    m, _ = mail(sender="mailer-daemon@vendor.test")
    b = Bounce("<t1@partner.test>", ("urgent@vendor.test",), "550 5.1.1 no such user")
    out = effects(arrival(Kind.BOUNCE, m, bounce=b), incident(), SETTINGS, T0)
    assert isinstance(out[0], DeliveryFailed) and "550 5.1.1" in out[0].detail
    assert out[1].kind == "t1_bounced"
    assert isinstance(out[2], Notify) and out[2].kind == "t1_bounced" and "NOT delivered" in out[2].subject
    assert not any(isinstance(e, SetState) for e in out)


def test_a_bounced_escalation_names_its_tier_and_an_unknown_bounce_is_only_recorded():
    m, _ = mail(sender="mailer-daemon@vendor.test")
    sent = Escalation(Tier.T3, Status.SENT, T0, "<esc-t3@partner.test>")
    b = Bounce("<esc-t3@partner.test>", ("t3@vendor.test",), "550 mailbox full")
    out = effects(arrival(Kind.BOUNCE, m, bounce=b), incident(escalations=[sent]), SETTINGS, T0)
    assert [e.kind for e in out] == ["escalation_bounced", "t3_bounced"]
    assert "t3@vendor.test" in out[1].body
    other = Bounce("<someone-else@partner.test>", (), "550")
    out = effects(arrival(Kind.BOUNCE, m, bounce=other), incident(escalations=[sent]), SETTINGS, T0)
    assert [type(e) for e in out] == [Event] and out[0].kind == "bounce"


def t1_arrival(body, internaldate=None, date="Wed, 25 Nov 2026 11:15:00 +0000"):
    m, raw = mail(
        sender="alice@partner.test",
        to="urgent@vendor.test",
        subject="API down",
        date=date,
        body=body,
        message_id="<t1@partner.test>",
    )
    return Arrival(m, Classification(Kind.T1, "alice@partner.test wrote to the T1 address"), raw, internaldate)


def test_a_complete_t1_opens_an_incident_with_only_the_watching_notice():
    out = effects(t1_arrival(COMPLETE), None, SETTINGS, T0 + timedelta(minutes=1))
    assert isinstance(out[0], Open)
    new = out[0].incident
    assert (new.state, new.t1_sent_at, new.t1_sent_at_source, new.marketplace) == (
        State.AWAITING_RESPONSE,
        T0,
        "date",
        "US",
    )
    assert new.subject_key == "api down" and new.missing_items == ()
    assert [type(e) for e in out[1:]] == [Event, Notify]
    watching = out[2]
    assert watching.kind == "watching" and watching.to == ()  # to the incident's own people
    assert "11:45:00 GMT on Wed 25 Nov 2026" in watching.body and "#hold 30m" in watching.body
    quiet = SETTINGS.__class__(**{**SETTINGS.__dict__, "agent": replace(SETTINGS.agent, opened_notice=False)})
    assert [type(e) for e in effects(t1_arrival(COMPLETE), None, quiet, T0)[1:]] == [Event]


def test_the_watching_notice_gives_the_t2_time_in_the_senders_own_zone_too():
    arrival = t1_arrival(COMPLETE, date="Wed, 25 Nov 2026 20:15:00 +0900")  # 11:15 GMT, written in Tokyo
    [watching] = [e for e in effects(arrival, None, SETTINGS, T0) if isinstance(e, Notify)]
    assert "11:45:00 GMT on Wed 25 Nov 2026 (20:45 at UTC+09:00 your time)" in watching.body


def test_a_t1_lacking_items_still_opens_and_its_sender_is_told_once():
    out = effects(t1_arrival("API is down, please help"), None, SETTINGS, T0)
    assert out[0].incident.state == State.AWAITING_RESPONSE
    [notice] = [e for e in out if isinstance(e, Notify) and e.kind != "watching"]
    assert notice.kind == "missing_items" and "Contact phone number" in notice.body


def test_a_misrouted_t1_is_not_escalated_and_names_the_operations_team():
    out = effects(t1_arrival(COMPLETE.replace("F500", "Insufficient Funds")), None, SETTINGS, T0)
    assert out[0].incident.state == State.MISROUTED
    [notice] = [e for e in out if isinstance(e, Notify)]
    assert notice.kind == "misrouted" and "ops-us@vendor.test" in notice.body


def test_a_t1_older_than_max_incident_age_is_stale():
    arrived = T0 + timedelta(minutes=1)  # the server had it then; the agent first reads it a day later
    out = effects(t1_arrival(COMPLETE, internaldate=arrived), None, SETTINGS, T0 + timedelta(hours=25))
    assert (out[0].incident.state, out[0].incident.t1_sent_at_source) == (State.STALE, "date")
    assert [e.kind for e in out[1:]] == ["incident_opened", "not_escalated"]


def test_a_t1_read_from_its_header_alone_is_said_unread_not_lacking_items():
    """Old mail is fetched without its body, and so is mail over max_message_bytes: nobody read its SOP items, so
    none is said missing, and no "your T1 lacks items" notice goes to its sender."""
    m, raw = mail(sender="alice@partner.test", to="urgent@vendor.test", subject="API down", body="")
    c = Classification(Kind.T1, "alice@partner.test wrote to the T1 address")
    out = effects(Arrival(m, c, raw, T0, unread="over max_message_bytes"), None, SETTINGS, T0)
    assert out[0].incident.state == State.AWAITING_RESPONSE and out[0].incident.missing_items == ()
    assert [e.kind for e in out[1:]] == ["incident_opened", "watching"]
    assert "SOP items not read (only its header was fetched: over max_message_bytes)" in out[1].detail
    read = effects(Arrival(m, c, raw, T0), None, SETTINGS, T0)  # the same mail read whole: its items are missing
    assert "missing_items" in [e.kind for e in read[1:]]


def test_resolving_by_hand_cancels_what_is_pending_with_the_reason():
    out = resolution(incident(), "fixed on our side", SETTINGS, T0)
    assert out == [
        SetState(State.RESOLVED, note="fixed on our side", by="hand"),
        CancelPending("resolved by hand"),
        Event("resolved", "resolved by hand: fixed on our side; was awaiting_response", "escalation-agent resolve"),
    ]


def test_a_stranger_from_a_look_alike_of_the_vendors_domain_is_said_once():
    m, _ = mail(sender="kenji@support.vendor.co.jp")
    rules = RULES.__class__(**{**RULES.__dict__, "responder_domains": ("vendor.com", "vendor.test")})
    settings = SETTINGS.__class__(**{**SETTINGS.__dict__, "escalation": rules})
    out = effects(arrival(Kind.IN_THREAD, m), incident(), settings, T0)
    assert [e.kind for e in out] == ["mail", "vendor_lookalike"]
    assert out[1].once and "vendor.co.jp looks like the vendor's vendor.com" in out[1].detail
    other, _ = mail(sender="someone@elsewhere.test")
    assert [e.kind for e in effects(arrival(Kind.IN_THREAD, other), incident(), settings, T0)] == ["mail"]


def test_the_registrable_name_ignores_subdomains_and_public_suffixes():
    from agent.core.reading.domains import looks_like, registrable_name

    assert registrable_name("mail.amazon.co.jp") == registrable_name("amazon.com") == "amazon"
    assert registrable_name("co.jp") is None
    assert looks_like("amazon.com.au", ("amazon.com",)) == "amazon.com"
    assert looks_like("amaz0n.com", ("amazon.com",)) is None and looks_like("amazon.com", ("amazon.com",)) is None


def test_a_first_t2_by_hand_that_starts_with_a_hash_word_is_that_t2_not_a_command():
    from agent.core.deciding.mail_commands import Malformed

    m, _ = mail(sender="bob@partner.test", to="t2@vendor.test", message_id="<urgent@partner.test>")
    c = Classification(Kind.COMMAND, "command", 7, Tier.T2, Via.HEADERS, Malformed("#URGENT: T2", "not a command"))
    out = effects(Arrival(m, c), incident(), SETTINGS, T0)
    assert isinstance(out[0], RecordTier) and out[0].tier == Tier.T2
    assert out[-1].kind == "command_refused" and not any(isinstance(e, Notify) for e in out)


def test_case_ids_are_learned_from_the_vendors_own_mail_only():
    m, _ = mail(sender="alice@partner.test", subject="Fwd: RE: API down [Case 4711]")
    c = Classification(
        Kind.RESPONSE, "response forwarded by alice@partner.test (from s@vendor.test)", 7, via=Via.HEADERS
    )
    assert not [e for e in effects(Arrival(m, c), incident(), SETTINGS, T0) if type(e).__name__ == "CaseId"]
