"""The API check over a real SQLite file, without servers: [probe] read from config.ini (errors naming their key), the
probes table, the evidence an escalation is composed with, the recovery notice once per recovery, the hold as
decide() and `status` see it, the watching notice's eligibility line, the Datasette timeline and the metrics."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters import probes
from agent.adapters.config import load
from agent.adapters.store import Store
from agent.cli.report import status_row
from agent.core.deciding.effect import NewIncident, Notify
from agent.core.errors import ConfigError
from agent.core.procedure.policy import Outgoing, Reason, State
from agent.core.procedure.probe import Run
from agent.core.sop import Tier
from agent.engine import enqueue, evidence, ladder, metrics
from agent.engine.apply import apply
from support import OFFLINE_CONFIG, events, notice_rows

T0 = datetime(2026, 12, 6, 11, 15, 6, tzinfo=UTC)
S = timedelta(seconds=1)
PROBE = "[probe]\ncommand = /usr/local/bin/agcod-probe --region NA\ninterval = 10s\ntimeout = 5s\n"


def config(tmp_path: Path, probe: str = PROBE):
    path = tmp_path / "config.ini"
    path.write_text(OFFLINE_CONFIG + f"[agent]\ndatabase = {tmp_path / 'state.db'}\n" + probe)
    path.chmod(0o600)
    return load(path)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state.db")
    yield s
    s.close()


def open_incident(store: Store, at: datetime = T0, message_id: str = "<t1@partner.test>") -> int:
    new = NewIncident(
        State.AWAITING_RESPONSE,
        "F500 since 11:15",
        message_id,
        "alice@partner.test",
        ("urgent@vendor.test", "watch@partner.test"),
        (),
        at,
        "date",
        (),
        "every call fails with F500",
        b"From: alice@partner.test\r\nSubject: F500 since 11:15\r\n\r\nevery call fails with F500\r\n",
    )
    return store.add_incident(new, at)


def record(store: Store, marks: str, start: datetime, incident_id=None, every=10 * S) -> None:
    for i, m in enumerate(marks):
        probes.record(
            store.db, Run(start + i * every, m == "+", "200 SUCCESS" if m == "+" else "F500 GeneralError"), incident_id
        )


# -- config ----------------------------------------------------------------------------------------------------------
def test_probe_keys_and_their_defaults(tmp_path):
    cfg = config(tmp_path)
    assert cfg.probe is not None and cfg.probe.command == ("/usr/local/bin/agcod-probe", "--region", "NA")
    assert cfg.probe.interval == 10 * S and cfg.probe.timeout == 5 * S and cfg.probe.url is None
    assert (cfg.probe.always, cfg.probe.recovered_after, cfg.probe.hold_on_recovery, cfg.probe.url_status) == (
        False,
        3,
        False,
        200,
    )
    url = config(tmp_path, "[probe]\nurl = https://api.partner.test/health\nurl_status = 204\n").probe
    assert url is not None and url.url_status == 204 and url.interval == 60 * S and url.timeout == 10 * S
    assert config(tmp_path, "").probe is None
    assert config(tmp_path, "[probe]\nalways = true\n").probe is None  # nothing to run: no probe


@pytest.mark.parametrize(
    "text, message",
    [
        ("url = ftp://x.test/\n", "[probe] url: 'ftp://x.test/' is not an http:// or https:// URL"),
        ("command = x\ninterval = soon\n", "[probe] interval: 'soon' is not a duration"),
        ("command = x\ninterval = 10s\ntimeout = 20s\n", "[probe] timeout must be more than 0s and at most"),
        ("command = x\nrecovered_after = 0\n", "[probe] recovered_after: 0 is outside 1..100"),
        ("command = x\nhold_on_recovery = maybe\n", "[probe] hold_on_recovery: 'maybe' is not true or false"),
        ("url = https://x.test/\nurl_status = 42\n", "[probe] url_status: 42 is outside 100..599"),
    ],
)
def test_a_wrong_probe_value_names_its_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("?", r"\?")):
        config(tmp_path, "[probe]\n" + text)


def test_the_shipped_config_documents_every_probe_key():
    shipped = (Path(__file__).parent.parent / "config.ini").read_text()
    section = shipped.split("[probe]", 1)[1]
    for key in ("command", "url", "url_status", "interval", "timeout", "always", "recovered_after", "hold_on_recovery"):
        assert f"# {key} = " in section, key


# -- the table, the evidence, the recovery, the hold -----------------------------------------------------------------
def test_the_t2_is_composed_with_the_runs_since_the_t1(tmp_path, store):
    cfg = config(tmp_path)
    incident_id = open_incident(store)
    record(store, "+", T0 - 60 * S)  # before the T1: not this incident's evidence
    record(store, "xxx", T0 + S, incident_id)
    decided = ladder.decisions(store, cfg, T0 + 30 * 60 * S)
    row_id = enqueue.escalate(store, cfg, incident_id, Tier.T2, decided[incident_id], T0 + 30 * 60 * S)
    raw = store.outbox_row(Outgoing.ESCALATION, row_id).raw.decode()
    assert "API check: failing =E2=80=94 3 of 3 probes since 11:15:07 GMT" in raw.replace("=\r\n", "").replace(
        "=\n", ""
    )


def test_without_a_probe_the_t2_is_as_it_always_was(tmp_path, store):
    cfg = config(tmp_path, "")
    incident_id = open_incident(store)
    record(store, "xxx", T0 + S, incident_id)  # a table left from an earlier [probe]
    decided = ladder.decisions(store, cfg, T0 + 30 * 60 * S)
    row_id = enqueue.escalate(store, cfg, incident_id, Tier.T2, decided[incident_id], T0 + 30 * 60 * S)
    assert "API check" not in store.outbox_row(Outgoing.ESCALATION, row_id).raw.decode()


def test_one_recovery_notice_per_recovery(tmp_path, store):
    cfg = config(tmp_path)
    incident_id = open_incident(store)
    record(store, "xx+++", T0 + S, incident_id)
    for _ in range(2):
        evidence.tell_recoveries(store, cfg, [store.incident(incident_id)], T0 + 60 * S)
    [notice] = notice_rows(store, incident_id)
    assert notice["kind"] == "api_recovered 2026-12-06T11:15:27.000Z"
    assert "The API answers again since 11:15:27 GMT" in notice["raw"].decode()
    record(store, "x+++", T0 + 100 * S, incident_id)  # fails again, answers again: a second mail
    evidence.tell_recoveries(store, cfg, [store.incident(incident_id)], T0 + 200 * S)
    assert len(notice_rows(store, incident_id)) == 2


def test_the_hold_of_hold_on_recovery_in_decide_and_status(tmp_path, store):
    cfg = config(tmp_path, PROBE + "hold_on_recovery = true\n")
    incident_id = open_incident(store)
    record(store, "xx+++", T0 + 1790 * S, incident_id, every=S)
    due = T0 + 30 * 60 * S
    [d] = ladder.decisions(store, cfg, due).values()
    assert d.reason == Reason.API_ANSWERS and d.tier is None
    assert d.due_at == T0 + 1794 * S + 10 * S + 5 * S  # the last run, an interval and a timeout later
    row = status_row(store, cfg, store.incident_record(incident_id), due)
    assert row["api_hold"] is True and row["next_tier"] == "T2"
    record(store, "x", T0 + 1795 * S, incident_id)  # fails again: the ladder goes on
    [d] = ladder.decisions(store, cfg, due).values()
    assert d.tier == Tier.T2
    no_hold = config(tmp_path, PROBE)
    assert evidence.hold(store, no_hold, store.incident(incident_id)) is None


def test_the_watching_notice_says_what_a_fresh_check_found(tmp_path, store):
    cfg = config(tmp_path)
    incident_id = open_incident(store)
    record(store, "+", T0)
    watching = Notify("watching", "watching your T1", "The agent saw your T1.\n\nIt escalates on time.", "opened")
    apply(store, cfg, incident_id, [watching], T0 + 5 * S)
    [notice] = notice_rows(store, incident_id)
    text = notice["raw"].decode().replace("=\r\n", "").replace("=\n", "")
    assert "our check of the API succeeds right now" in text
    assert text.index("saw your T1") < text.index("our check of the API") < text.index("escalates on time")
    other = open_incident(store, T0 + S, "<t1b@partner.test>")  # long after the last run: nothing fresh to say
    apply(store, cfg, other, [watching], T0 + 300 * S)
    assert "our check" not in notice_rows(store, other)[0]["raw"].decode()


def test_the_datasette_timeline_and_the_metrics_show_the_runs(tmp_path, store):
    incident_id = open_incident(store)
    record(store, "x+", T0 + S, incident_id)
    queries = json.loads((Path(__file__).parent.parent / "datasette/metadata.json").read_text())
    sql = queries["databases"]["escalation-agent"]["queries"]["incident_timeline"]["sql"]
    rows = store.db.execute(sql, {"id": incident_id}).fetchall()
    assert [(r[1], r[2], r[4]) for r in rows if r[4] == "probe"] == [
        ("api_check fail", "F500 GeneralError", "probe"),
        ("api_check pass", "200 SUCCESS", "probe"),
    ]
    text = metrics.render(store, T0, T0 + 5 * S)
    assert "escalation_agent_probe_up 1" in text
    assert "escalation_agent_probe_failing_since_timestamp_seconds 0.0" in text
    assert "escalation_agent_probe_up" not in metrics.render(Store(tmp_path / "empty.db"), T0, T0)


def test_a_hold_is_one_decision_event_however_many_probes_pass(tmp_path, store):
    cfg = config(tmp_path, PROBE + "hold_on_recovery = true\n")
    incident_id = open_incident(store)
    record(store, "xx+++", T0 + 1790 * S, incident_id, every=S)
    ladder.decisions(store, cfg, T0 + 1800 * S)
    record(store, "+++", T0 + 1800 * S, incident_id, every=S)
    ladder.decisions(store, cfg, T0 + 1803 * S)
    held = [e for e in events(store, incident_id) if e["reason"] == Reason.API_ANSWERS.value]
    assert [e["detail"] for e in held] == ["hold the next tier while the API answers again"]
