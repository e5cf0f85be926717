"""The stand-down (issue 21.5): when it is owed, what it says, and that it is decided once (unit: literal values,
and ingest into a real SQLite file; no servers)."""

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.deciding import stand_down
from agent.core.deciding.classify import Classification, Kind, Via
from agent.core.deciding.consequences import effects
from agent.core.deciding.effect import Arrival, Event, StandDown
from agent.core.deciding.mail_commands import Command, Verb
from agent.core.deciding.stand_down import Why, decide
from agent.core.deciding.ties import Tie, Tied
from agent.core.procedure.policy import Escalation, Incident, Outgoing, State, Status
from agent.core.reading.folder import Fetched
from agent.core.reading.mail import parse
from agent.core.settings import AgentConfig, Config, EscalationConfig, ImapConfig, SmtpConfig
from agent.core.sop import Tier
from agent.core.times import iso
from agent.core.writing.compose import Original, Step
from agent.engine import enqueue, ladder
from agent.engine.ingest import ingest
from support import OFFLINE_CONFIG, escalation_rows, events, notice_rows

T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
SETTINGS = Config(
    path=Path("config.ini"),
    imap=ImapConfig("127.0.0.1", 143, "none", "watch", "pw", ("INBOX",), "watch@partner.test", 10.0, None),
    smtp=SmtpConfig("127.0.0.1", 25, "none", None, None, "agent@partner.test", 10.0, None),
    escalation=EscalationConfig(
        "urgent@vendor.test",
        "t2@vendor.test",
        "t3@vendor.test",
        timedelta(minutes=30),
        timedelta(minutes=30),
        ("vendor.test",),
        ("partner.test",),
    ),
    agent=AgentConfig(
        Path("state.db"), 60, False, timedelta(hours=24), 25 << 20, "info", timedelta(minutes=2), timedelta(minutes=2)
    ),
)
T2_SENT = Escalation(Tier.T2, Status.SENT, T0 + timedelta(minutes=30), "<esc-t2@partner.test>")
T3_SENT = Escalation(Tier.T3, Status.SENT, T0 + timedelta(minutes=60), "<esc-t3@partner.test>")


def incident(state=State.AWAITING_RESPONSE, *escalations, notices=frozenset(), drill=False):
    return Incident(7, state, T0, tuple(escalations), frozenset(notices), "<t1@partner.test>", drill=drill)


@pytest.mark.parametrize(
    "case, expected",
    [
        (incident(State.AWAITING_RESPONSE, T2_SENT), stand_down.Decision(Why.SEND, (Tier.T2, Tier.T1))),
        (
            incident(State.AWAITING_RESPONSE, T2_SENT, T3_SENT),
            stand_down.Decision(Why.SEND, (Tier.T3, Tier.T2, Tier.T1)),
        ),
        (
            incident(State.AWAITING_RESPONSE, replace(T2_SENT, status=Status.MANUAL)),
            stand_down.Decision(Why.SEND, (Tier.T2, Tier.T1)),
        ),
        (incident(), stand_down.Decision(Why.T1_ONLY)),
        (incident(State.AWAITING_RESPONSE, replace(T2_SENT, status=Status.PENDING)), stand_down.Decision(Why.T1_ONLY)),
        (incident(State.AWAITING_RESPONSE, replace(T2_SENT, status=Status.DRY_RUN)), stand_down.Decision(Why.T1_ONLY)),
        (incident(State.RESPONDED, T2_SENT), stand_down.Decision(Why.ANSWERED, (Tier.T2, Tier.T1))),
        (incident(State.AWAITING_RESPONSE, T2_SENT, drill=True), stand_down.Decision(Why.DRILL)),
        (
            incident(State.AWAITING_RESPONSE, T2_SENT, notices={"stand_down_t2"}),
            stand_down.Decision(Why.DONE, (Tier.T2, Tier.T1)),
        ),
    ],
    ids=[
        "after-t2",
        "after-t3",
        "t2-by-hand",
        "t1-only",
        "t2-pending",
        "dry-run-t2",
        "vendor-answered",
        "drill",
        "told",
    ],
)
def test_a_stop_after_the_t2_tells_every_tier_contacted_unless_the_vendor_answered(case, expected):
    assert decide(case, enabled=True, dry_run=False) == expected


def test_the_key_and_a_dry_run_turn_it_off():
    assert decide(incident(State.AWAITING_RESPONSE, T2_SENT), enabled=False, dry_run=False).why == Why.OFF
    assert decide(incident(State.AWAITING_RESPONSE, T2_SENT), enabled=True, dry_run=True).why == Why.DRY_RUN
    assert decide(incident(State.AWAITING_RESPONSE, T2_SENT, T3_SENT), True, False).kind == "stand_down_t3"


def stop_arrival(line="#stop vendor phoned"):
    m = parse(
        b"From: bob@partner.test\r\nTo: watch@partner.test\r\nSubject: RE: API down\r\n"
        b"Message-ID: <c1@partner.test>\r\n"
        b"In-Reply-To: <esc-t2@partner.test>\r\nDate: Wed, 25 Nov 2026 11:52:00 +0000\r\n\r\n" + line.encode() + b"\r\n"
    )
    c = Classification(Kind.COMMAND, "command from bob@partner.test", 7, None, Via.HEADERS, Command(Verb.STOP))
    tied = Tied(Tie.REFERENCES, "it replies in the thread (<esc-t2@partner.test>)")
    return Arrival(m, c, internaldate=T0 + timedelta(minutes=37), tie=tied)


def test_a_tied_stop_after_the_t2_earns_the_stand_down_and_one_after_the_vendors_answer_says_why_not():
    now = T0 + timedelta(minutes=38)
    out = effects(stop_arrival(), incident(State.AWAITING_RESPONSE, T2_SENT), SETTINGS, now)
    [told] = [e for e in out if isinstance(e, StandDown)]
    assert told == StandDown(
        "stand_down_t2",
        (Tier.T2, Tier.T1),
        T0 + timedelta(minutes=37),
        "stopped by #stop from bob@partner.test after the T2",
    )
    off = replace(SETTINGS, escalation=replace(SETTINGS.escalation, stand_down=False))
    assert not [
        e
        for e in effects(stop_arrival(), incident(State.AWAITING_RESPONSE, T2_SENT), off, now)
        if isinstance(e, StandDown)
    ]
    answered = effects(stop_arrival(), incident(State.RESPONDED, T2_SENT), SETTINGS, now)
    assert not [e for e in answered if isinstance(e, StandDown)]
    [skipped] = [e for e in answered if isinstance(e, Event) and e.kind == "stand_down_skipped"]
    assert skipped.reason == "the vendor answered in the thread: they see it there"
    assert not [
        e
        for e in effects(stop_arrival(), incident(), SETTINGS, now)
        if isinstance(e, (StandDown, Event)) and "stand_down" in str(e)
    ]


ORIGINAL = Original(
    "<t1@partner.test>",
    "API down",
    "alice@partner.test",
    ("urgent@vendor.test", "watch@partner.test", "bob@partner.test"),
    (),
    T0,
    "All requests fail with F500.\n",
    b"Subject: API down\r\n\r\nAll requests fail with F500.\r\n",
)


def test_the_stand_down_is_threaded_automatic_short_and_in_both_parts():
    steps = (
        Step(Tier.T1, "urgent@vendor.test", T0, "<t1@partner.test>"),
        Step(Tier.T2, "t2@vendor.test", T0 + timedelta(minutes=30), "<esc-t2@partner.test>", Status.SENT),
    )
    msg = stand_down.mail(
        ORIGINAL,
        steps,
        T0 + timedelta(minutes=37, seconds=12),
        to=("t2@vendor.test", "urgent@vendor.test"),
        cc=("alice@partner.test", "bob@partner.test", "watch@partner.test"),
        from_address="agent@partner.test",
        message_id="<sd@partner.test>",
        now=T0 + timedelta(minutes=38),
    )
    got = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert got["To"] == "t2@vendor.test, urgent@vendor.test" and "watch@partner.test" in got["Cc"]
    assert got["In-Reply-To"] == "<esc-t2@partner.test>"
    assert got["References"].split() == ["<t1@partner.test>", "<esc-t2@partner.test>"]
    assert got["Auto-Submitted"] == "auto-generated" and got["Subject"] == "[No further action needed] API down"
    text = got.get_body(("plain",)).get_content()
    html = got.get_body(("html",)).get_content()
    assert "answered at 11:52 GMT on Wed 25 Nov 2026: no further action is needed" in text
    assert "answered at 11:52 GMT" in html
    assert "- T2 sent 11:45:00 GMT on Wed 25 Nov 2026 to t2@vendor.test" in text
    assert not got.is_attachment() and not list(got.iter_attachments())  # short: no T1 attached again


# -- through ingest and the CLI's resolve, into a real SQLite file ----------------------------------------------
NOW = T0 + timedelta(minutes=40)


@pytest.fixture
def env(tmp_path: Path):
    def make(extra: str = ""):
        home = tmp_path / str(len(list(tmp_path.iterdir())))  # each its own config and database
        home.mkdir()
        (home / "config.ini").write_text(OFFLINE_CONFIG + extra + "[agent]\nopened_notice = false\n")
        cfg = load(home / "config.ini")
        store = Store(cfg.agent.database)
        data = (
            b"From: alice@partner.test\r\nTo: urgent@vendor.test\r\nCc: watch@partner.test, bob@partner.test\r\n"
            b"Subject: API down\r\nDate: Wed, 25 Nov 2026 11:15:00 +0000\r\nMessage-ID: <t1@partner.test>\r\n"
            b"\r\nF500\r\n"
        )
        ingest(store, Fetched("INBOX", 1, 1, data, T0, len(data)), cfg, T0)
        decision = ladder.decisions(store, cfg, T0 + timedelta(minutes=31))[1]
        row_id = enqueue.escalate(store, cfg, 1, Tier.T2, decision, T0 + timedelta(minutes=31))
        store.update_outbox(Outgoing.ESCALATION, row_id, status="sent", sent_at=iso(T0 + timedelta(minutes=31)))
        return cfg, store, escalation_rows(store, 1)[0]["message_id"]

    return make


def stop(t2_id: str, uid: int = 2) -> Fetched:
    data = (
        f"From: bob@partner.test\r\nTo: watch@partner.test\r\nSubject: RE: [T2 escalation] API down\r\n"
        f"Message-ID: <stop@partner.test>\r\nIn-Reply-To: {t2_id}\r\nReferences: <t1@partner.test> {t2_id}\r\n"
        "Date: Wed, 25 Nov 2026 11:52:00 +0000\r\n\r\n#stop the vendor phoned\r\n"
    ).encode()
    return Fetched("INBOX", uid, 1, data, T0 + timedelta(minutes=37), len(data))


def test_a_stop_after_the_t2_writes_one_stand_down_to_the_contacted_tiers_even_when_read_twice(env):
    cfg, store, t2_id = env()
    ingest(store, stop(t2_id), cfg, NOW)
    assert ingest(store, stop(t2_id, uid=3), cfg, NOW) is None  # the same mail again (another folder, a resync)
    [row] = [r for r in notice_rows(store, 1) if r["kind"].startswith("stand_down")]
    assert row["kind"] == "stand_down_t2" and row["status"] == "pending"
    assert row["recipients"].startswith('["t2@vendor.test", "urgent@vendor.test", "alice@partner.test"')
    [event] = [e for e in events(store, 1) if e["detail"].startswith("stand-down")]
    assert event["detail"].endswith("answered at 11:52:00 GMT on Wed 25 Nov 2026")
    store.close()


def test_resolve_by_hand_after_the_t2_says_whom_it_tells_and_stand_down_false_tells_nobody(env):
    cfg, store, _ = env()
    assert (
        ladder.resolve(store, cfg, 1, "vendor phoned", NOW) == "T2, T1 will be told: answered, no further action needed"
    )
    assert [r["kind"] for r in notice_rows(store, 1)] == ["missing_items", "stand_down_t2"]
    store.close()
    cfg, store, _ = env("stand_down = false\n")
    assert ladder.resolve(store, cfg, 1, "vendor phoned", NOW) is None
    assert [r["kind"] for r in notice_rows(store, 1)] == ["missing_items"]
    [skipped] = [e for e in events(store, 1) if e["kind"] == "stand_down_skipped"]
    assert skipped["reason"] == "[escalation] stand_down = false"
    store.close()
