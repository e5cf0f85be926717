"""The agent watching itself, without servers: the blind alarm's words and mail, its once-per-outage bookkeeping
(engine/blind.py over a real SQLite file), what `status --agent` reads, the drill's T1, its config checks, and
drill incidents climbing the drill's ladder, out of the metrics."""

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters import selfwatch
from agent.adapters.config import load
from agent.adapters.sqlite import sqlite3
from agent.adapters.store import Store
from agent.cli.health import agent_health, health_lines
from agent.core.deciding import drill as drill_words
from agent.core.deciding.classify import Kind, classify
from agent.core.deciding.effect import NewIncident
from agent.core.errors import ConfigError
from agent.core.procedure import items
from agent.core.procedure.policy import Outgoing, State, Status
from agent.core.reading.folder import FolderState
from agent.core.reading.mail import parse
from agent.core.sop import Tier
from agent.core.writing import compose, notices
from agent.engine import enqueue, ladder, metrics, originals, outbox
from agent.engine.blind import Watchman
from agent.engine.health import Troubles
from support import OFFLINE_CONFIG

NOW = datetime(2025, 11, 25, 11, 30, tzinfo=UTC)
BASE = (
    OFFLINE_CONFIG
    + """[agent]
database = state.db
ops_address = ops@partner.test
blind_alert_after = 5m
"""
)
DRILL = """
[drill]
t1_address = drill-urgent@partner.test
t2_address = drill-t2@partner.test
t3_address = drill-t3@partner.test
t2_after = 10s
t3_after = 20s
"""


def config(tmp_path: Path, text: str = BASE + DRILL):
    path = tmp_path / "config.ini"
    path.write_text(text)
    path.chmod(0o600)
    return load(path)


# -- the words and the mail ------------------------------------------------------------------------------------------
def test_the_blind_alarm_says_since_when_why_what_is_open_and_that_replies_are_unseen():
    since = NOW - timedelta(minutes=10, seconds=3)
    waiting = [(3, "API down", "T2", NOW + timedelta(minutes=5)), (4, "x\tforged\n\n- list", "T3", None)]
    subject, body = notices.blind("watch@partner.test", since, NOW, "refused the login\n> for watch", waiting, "2m")
    assert subject == "cannot read the watched mailbox"
    assert "since 11:19:57 GMT on Tue 25 Nov 2025 (10 minutes 3 seconds ago)" in body
    assert "> refused the login > for watch" in body  # the server's words on one line: no block of their own
    assert '- Incident 3 ("API down"): T2 due 11:35:00 GMT on Tue 25 Nov 2025' in body
    assert '- Incident 4 ("x forged - list"): no deadline' in body
    assert "cannot see replies" in body and "2m after their deadline" in body
    _, clear = notices.sight("watch@partner.test", since, NOW, [])
    assert (
        "again since 11:30:00 GMT" in clear and "for 10 minutes 3 seconds" in clear and "No incident is open." in clear
    )


def test_the_alarm_mail_has_both_parts_no_thread_and_is_marked_automatic():
    subject, body = notices.blind("watch@partner.test", NOW - timedelta(minutes=10), NOW, "down", [], "2 minutes")
    msg = compose.alarm(
        subject, body, to=("ops@p.test",), cc=("watch@p.test",), from_address="a@p.test", message_id="<m@p>", now=NOW
    )
    assert msg["Subject"] == "[escalation-agent] cannot read the watched mailbox"
    assert (msg["To"], msg["Cc"], msg["Message-ID"], msg["Auto-Submitted"]) == (
        "ops@p.test",
        "watch@p.test",
        "<m@p>",
        "auto-generated",
    )
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert [p.get_content_type() for p in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    assert "> down" in msg.get_body(("plain",)).get_content()
    assert "<blockquote" in msg.get_body(("html",)).get_content()


# -- once per outage, across restarts --------------------------------------------------------------------------------
@pytest.fixture
def world(tmp_path):
    cfg = config(tmp_path)
    store = Store(tmp_path / "state.db")
    store.set_folder_state("INBOX", FolderState(1, 10), NOW - timedelta(minutes=20))
    yield cfg, store
    store.close()


def test_one_blind_alarm_per_outage_even_across_restarts_then_one_all_clear(world):
    cfg, store = world
    troubles = Troubles()
    troubles.problem("imap", "IMAP server x:993 refused the login for watch")
    w = Watchman(cfg, store, troubles, NOW - timedelta(hours=1))
    w.read(NOW - timedelta(minutes=6))  # the last good read
    w.unreadable(NOW - timedelta(minutes=5), NOW - timedelta(minutes=6))
    assert w.due_at() == NOW - timedelta(minutes=1)
    assert w.check(NOW - timedelta(minutes=2)) is None  # not yet blind_alert_after
    row_id = w.check(NOW)
    assert row_id is not None and w.check(NOW + timedelta(minutes=1)) is None
    row = store.outbox_row(Outgoing.ALARM, row_id)
    assert (row.kind, row.outage, row.status) == ("blind", "2025-11-25T11:24:00.000Z", "pending")
    assert json.loads(row.recipients) == ["ops@partner.test", "watch@partner.test"]
    assert "refused the login for watch" in row.raw.decode() and row.reason.endswith("for watch")
    with pytest.raises(sqlite3.IntegrityError):  # the database holds it, whatever the code does
        store.add_outbox(
            Outgoing.ALARM, {**{k: v for k, v in asdict(row).items() if k != "id"}, "message_id": "<other@p>"}
        )

    again = Watchman(cfg, store, Troubles(), NOW)  # a restart while blind
    again.unreadable(NOW + timedelta(minutes=2), None)
    assert again.since == NOW - timedelta(minutes=6) and again.check(NOW + timedelta(minutes=20)) is None
    store.update_outbox(Outgoing.ALARM, row_id, status=str(Status.SENT), sent_at="2025-11-25T11:30:01.000Z")
    again.read(NOW + timedelta(minutes=21))
    kinds = [(r["kind"], r["status"]) for r in store._rows("SELECT kind, status FROM alarms ORDER BY id")]
    assert kinds == [("blind", "sent"), ("sight", "pending")]
    assert selfwatch.open_blind(store) is None
    events = store._rows("SELECT kind, incident_id FROM events WHERE kind IN ('blind', 'sight')")
    assert [(e["kind"], e["incident_id"]) for e in events] == [("blind", None), ("sight", None)]
    again.read(NOW + timedelta(minutes=22))
    assert len(store._rows("SELECT id FROM alarms")) == 2


def test_an_alarm_that_never_went_out_is_cancelled_when_the_mailbox_is_back(world):
    cfg, store = world
    w = Watchman(cfg, store, Troubles(), NOW)
    w.unreadable(NOW, None)  # this process never read: the last good read on record
    assert w.since == NOW - timedelta(minutes=20)
    row_id = w.check(NOW)
    w.read(NOW + timedelta(seconds=1))
    assert store.outbox_row(Outgoing.ALARM, row_id).status == "cancelled"
    assert selfwatch.open_blind(store) is None and [r["kind"] for r in store._rows("SELECT kind FROM alarms")] == [
        "blind"
    ]


def test_no_ops_address_no_alarm(tmp_path):
    cfg = config(tmp_path, BASE.replace("ops_address = ops@partner.test\n", ""))
    store = Store(tmp_path / "state.db")
    w = Watchman(cfg, store, Troubles(), NOW - timedelta(hours=1))
    w.unreadable(NOW - timedelta(hours=1), None)
    assert w.due_at() is None and w.check(NOW) is None
    store.close()


def test_the_alarm_goes_through_the_one_outbox(world):
    cfg, store = world

    class Server:
        where = "SMTP server test"

        def __init__(self):
            self.sent = []

        def send(self, msg, recipients):
            self.sent.append((msg, recipients))
            return {}

    row_id = enqueue.alarm(store, cfg, "blind", NOW - timedelta(minutes=10), "s", "b", "detail", NOW)
    assert enqueue.alarm(store, cfg, "blind", NOW - timedelta(minutes=10), "s", "b", "detail", NOW) is None
    server = Server()
    assert outbox.deliver(store, server, Outgoing.ALARM, row_id, False, lambda: NOW) == Status.SENT
    assert server.sent[0][1] == ["ops@partner.test", "watch@partner.test"]
    outbox.confirm(store, store.outbox_row(Outgoing.ALARM, row_id).message_id, NOW, NOW)
    row = store.outbox_row(Outgoing.ALARM, row_id)
    assert row.status == "sent" and row.confirmed_at
    sent = store._rows("SELECT kind, detail, incident_id FROM events WHERE kind IN ('sent', 'confirmed')")
    assert [(e["kind"], e["incident_id"]) for e in sent] == [("sent", None), ("confirmed", None)]
    assert sent[0]["detail"].startswith("alarm 'blind' ")


# -- what `status --agent` reads ----------------------------------------------------------------------------------
def test_the_agents_health_as_status_says_it(world):
    cfg, store = world
    assert agent_health(store, cfg, NOW)["reading"] is False  # read 20 minutes ago: not at work
    w = Watchman(cfg, store, Troubles(), NOW)
    w.read(NOW)
    well = agent_health(store, cfg, NOW + timedelta(seconds=5))
    assert well["ok"] and well["reading"] and well["blind_since"] is None and well["heartbeat"]["state"] == "off"
    assert health_lines(well, NOW + timedelta(seconds=5))[0] == "Agent: mailbox read 5s ago; heartbeat off"
    w.unreadable(NOW + timedelta(seconds=1), NOW)
    w.troubles.problem("imap", "the IMAP server is down")
    w.check(NOW + timedelta(minutes=6))
    blind = agent_health(store, cfg, NOW + timedelta(minutes=6))
    assert blind["blind_since"] == "2025-11-25T11:30:00.000Z" and blind["blind_reason"] == "the IMAP server is down"
    assert health_lines(blind, NOW + timedelta(minutes=6))[0].startswith(
        "Agent: BLIND since 11:30:00 GMT on Tue 25 Nov 2025 (6m 0s ago): the IMAP server is down"
    )
    stopped = agent_health(store, cfg, NOW + timedelta(hours=2))
    assert not stopped["ok"]


def test_status_says_how_far_a_long_first_sync_is(world):
    cfg, store = world
    Watchman(cfg, store, Troubles(), NOW).read(NOW)
    store.set_reading("INBOX", "first sync INBOX 34,000 / 50,000")
    well = agent_health(store, cfg, NOW + timedelta(seconds=5))
    assert well["syncing"] == {"INBOX": "first sync INBOX 34,000 / 50,000"}
    assert health_lines(well, NOW + timedelta(seconds=5))[0] == (
        "Agent: mailbox read 5s ago; first sync INBOX 34,000 / 50,000; heartbeat off"
    )
    store.set_reading("INBOX", None)
    assert agent_health(store, cfg, NOW)["syncing"] == {}


def test_the_heartbeats_outcome_is_recorded_on_each_change(world, tmp_path):
    cfg, store = world
    cfg = config(tmp_path, BASE.replace("[agent]\n", "[agent]\nheartbeat_url = http://127.0.0.1:9/ping\n"))

    class Beat:
        state = "ok"

        class courier:
            delivered = 0

    troubles = Troubles()
    w = Watchman(cfg, store, troubles, NOW)
    w.heartbeat(Beat, NOW)
    assert agent_health(store, cfg, NOW)["heartbeat"]["state"] == "unknown"
    Beat.courier.delivered = 1
    w.heartbeat(Beat, NOW)
    w.heartbeat(Beat, NOW)
    troubles.problem("heartbeat", "heartbeat: heartbeat failed after 3 tries (refused)")
    w.heartbeat(Beat, NOW + timedelta(seconds=1))
    kinds = [e["kind"] for e in store._rows("SELECT kind FROM events WHERE kind LIKE 'heartbeat%' ORDER BY id")]
    assert kinds == ["heartbeat_ok", "heartbeat_failing"]
    beat = agent_health(store, cfg, NOW)["heartbeat"]
    assert beat["state"] == "failing" and "3 tries" in beat["detail"]
    assert Watchman(cfg, store, troubles, NOW)._beat == "heartbeat_failing"  # a restart remembers it


# -- drills ------------------------------------------------------------------------------------------------------
def test_the_drill_t1_is_a_complete_t1_to_the_drill_address(tmp_path):
    cfg = config(tmp_path)
    raw = drill_words.t1(cfg.escalation.drill, "watch@partner.test", "<d@partner.test>", NOW).as_bytes()
    mail = parse(raw)
    assert mail.sender == "ops@partner.test" and mail.automatic is None  # from_address defaults to ops_address
    assert set(mail.recipients) == {"drill-urgent@partner.test", "watch@partner.test"}
    found = items.extract(mail.text, mail.html)
    assert items.missing(found, items.is_physical(mail.text)) == []
    c = classify(mail, None, cfg.escalation, cfg.smtp.from_address)
    assert c.kind == Kind.T1
    plain = config(tmp_path, BASE)
    assert plain.escalation.drill is None
    assert classify(mail, None, plain.escalation, plain.smtp.from_address).kind == Kind.UNRELATED


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("ops_address = ops@partner.test", "ops_address = noc@elsewhere.test"),
            "[agent] ops_address noc@elsewhere.test is not in [escalation] internal_domains: it must be one of yours",
        ),
        (
            ("t2_address = drill-t2@partner.test", "t2_address = t2@vendor.test"),
            "[drill] t2_address t2@vendor.test is in [escalation] responder_domains: it must be one of yours",
        ),
        (
            ("t1_address = drill-urgent@partner.test", "t1_address = watch@partner.test"),
            "[drill] t1_address watch@partner.test is also [imap] address (the watched mailbox): a drill needs its "
            "own address",
        ),
        (
            ("t3_address = drill-t3@partner.test", "t3_address = drill-t2@partner.test"),
            "[drill] t1_address, t2_address, t3_address and from_address must be four addresses",
        ),
        (("ops_address = ops@partner.test\n", ""), "[drill] from_address is required"),
        (
            ("t3_after = 20s", "t3_after = soon"),
            "[drill] t3_after: 'soon' is not a duration (use e.g. 90, 90s, 30m, 1h)",
        ),
    ],
)
def test_a_drill_or_an_alarm_that_could_reach_the_vendor_is_refused(tmp_path, change, message):
    with pytest.raises(ConfigError) as e:
        config(tmp_path, (BASE + DRILL).replace(*change))
    assert str(e.value) == message


def test_a_drill_incident_climbs_the_drill_ladder_and_stays_out_of_the_metrics(tmp_path):
    cfg = config(tmp_path)
    store = Store(tmp_path / "state.db")
    raw = drill_words.t1(cfg.escalation.drill, "watch@partner.test", "<d@partner.test>", NOW).as_bytes()
    new = NewIncident(
        State.AWAITING_RESPONSE,
        "[DRILL] x",
        "<d@partner.test>",
        "ops@partner.test",
        ("drill-urgent@partner.test", "watch@partner.test"),
        ("ops@partner.test",),
        NOW,
        "date",
        (),
        "text",
        raw,
    )
    real = NewIncident(
        State.AWAITING_RESPONSE,
        "real",
        "<r@p>",
        "a@partner.test",
        ("urgent@vendor.test",),
        (),
        NOW,
        "date",
        (),
        "",
        b"",
    )
    drill_id, real_id = store.add_incident(new, NOW), store.add_incident(real, NOW)
    assert selfwatch.mark_drills(store, "drill-urgent@partner.test", 0) == [drill_id]
    assert selfwatch.mark_drills(store, "drill-urgent@partner.test", 0) == []  # once
    assert store.incident(drill_id).drill and not store.incident(real_id).drill
    decided = ladder.decisions(store, cfg, NOW + timedelta(seconds=10))
    assert decided[drill_id].tier == Tier.T2 and decided[drill_id].due_at == NOW + timedelta(seconds=10)
    assert decided[real_id].tier is None  # the real one waits its 30 minutes
    row_id = enqueue.escalate(store, cfg, drill_id, Tier.T2, decided[drill_id], NOW + timedelta(seconds=10))
    row = store.outbox_row(Outgoing.ESCALATION, row_id)
    assert json.loads(row.recipients)[0] == "drill-t2@partner.test"
    assert "vendor.test" not in row.recipients and "No response in 10 seconds" in row.raw.decode()
    assert [s.address for s in originals.steps(store, cfg, drill_id)] == ["drill-urgent@partner.test"]
    assert [r.id for r in store.incident_rows(everything=True, now=NOW)] == [real_id]
    assert len(store.incident_rows(everything=True, now=NOW, drills=True)) == 2
    text = metrics.render(store, None, NOW)
    assert 'escalation_agent_incidents{state="awaiting_response"} 1\n' in text
    assert 'escalation_agent_escalations_total{tier="2",status="pending"} 0\n' in text
    assert "escalation_agent_drills_total 1\n" in text and "escalation_agent_blind 0\n" in text
    store.close()
