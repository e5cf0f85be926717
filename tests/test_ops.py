"""Operations: sd_notify, the systemd unit's checks, the installer, Datasette's canned queries, the
post-incident Markdown export and the Prometheus metrics, each against real things (a real socket, real
systemd-analyze, a database the real agent wrote while talking to real Dovecot and SMTP servers)."""

import asyncio
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.cli import export
from agent.cli.report import incident_detail
from agent.engine import metrics, systemd
from agent.engine.service import Agent
from support import LOCAL, REPO, T2_ADDR, USERS, reply, send, t1, write_config
from tools.localmail import Dovecot, SmtpRelay

UNIT = REPO / "systemd" / "escalation-agent.service"
needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (Debian: the systemd package)"
)


# -- sd_notify ---------------------------------------------------------------------------------------
@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """A real AF_UNIX datagram socket where systemd's would be; yields a function reading one datagram."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield lambda: sock.recv(4096).decode()
    sock.close()


def test_notify_sends_every_state_in_one_datagram(notify_socket):
    assert systemd.notify("READY=1", "STATUS=watching INBOX\nsince 09:00")
    assert notify_socket() == "READY=1\nSTATUS=watching INBOX since 09:00"
    assert systemd.notify("WATCHDOG=1")
    assert notify_socket() == "WATCHDOG=1"


def test_notify_reaches_an_abstract_socket(monkeypatch):
    name = f"escalation-agent-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.notify("STOPPING=1")
        assert sock.recv(4096) == b"STOPPING=1"


def test_notify_from_another_process_as_the_service_would(notify_socket):
    code = "from agent.engine.systemd import notify; print(notify('READY=1', 'STATUS=first sync done'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "True", result.stderr
    assert notify_socket() == "READY=1\nSTATUS=first sync done"


def test_notify_outside_systemd_or_to_a_dead_socket_is_false_and_never_raises(tmp_path, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert systemd.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert systemd.notify("READY=1") is False


def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process_only(monkeypatch):
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert systemd.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "300000000")
    assert systemd.watchdog_interval() == 150.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval() == 150.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # a parent's watchdog, inherited
    assert systemd.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("0", "-5", "soon", ""):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert systemd.watchdog_interval() is None


# -- the unit and its checks -------------------------------------------------------------------------
def _check_systemd(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "scripts" / "check-systemd"), *args], capture_output=True, text=True, timeout=120)


@needs_systemd_analyze
def test_the_unit_verifies_cleanly_and_its_exposure_is_at_most_1_5():
    result = _check_systemd()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify: ok" in result.stdout
    exposure = float(re.search(r"^exposure: ([0-9.]+)", result.stdout, re.M).group(1))
    assert exposure <= 1.5, result.stdout


def test_the_unit_is_a_watched_notify_service_with_credentials():
    lines = set(UNIT.read_text().splitlines())
    assert {
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "StateDirectory=escalation-agent",
        "ExecStart=/opt/escalation-agent/venv/bin/escalation-agent -c /etc/escalation-agent/config.ini run",
        "LoadCredential=imap-password:/etc/escalation-agent/imap-password",
        "LoadCredential=smtp-password:/etc/escalation-agent/smtp-password",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    } <= lines
    assert any(line.startswith("WatchdogSec=") for line in lines)


@needs_systemd_analyze
def test_check_systemd_fails_on_a_verify_warning_and_on_a_weak_unit(tmp_path):
    text = UNIT.read_text()
    typo = tmp_path / "typo.service"
    typo.write_text(text.replace("Restart=on-failure", "Restart=on-failure\nRestartSecs=10"))
    result = _check_systemd(str(typo))
    assert result.returncode == 1 and "Unknown key 'RestartSecs'" in result.stderr
    weak = tmp_path / "weak.service"
    weak.write_text(
        "\n".join(
            line
            for line in text.splitlines()
            if not line.startswith(("SystemCallFilter=", "ProtectSystem=", "PrivateUsers="))
        )
    )
    result = _check_systemd(str(weak))
    assert result.returncode == 1 and "is above 1.5" in result.stderr


# -- the installer: tests/test_install.py -----------------------------------------------------------


# -- a real database: three incidents through the real agent, real Dovecot and SMTP ------------------
@pytest.fixture(scope="module")
def audit_db(tmp_path_factory):
    """1: no answer, T2 sent after a failed attempt. 2: answered at once. 3: answered after its T2."""
    directory = tmp_path_factory.mktemp("ops")
    started = datetime.now(UTC)
    with Dovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL) as relay:
        config = load(
            write_config(
                directory,
                dovecot,
                relay,
                escalation_t2_after="2s",
                escalation_t3_after="1h",
                agent_database=str(directory / "escalation-agent.db"),
            )
        )
        store = Store(config.agent.database)
        agent = Agent(config, store)
        past = started - timedelta(seconds=30)
        send(relay, t1("Incentives API: all requests fail with F500", when=past))
        answered = t1("Reporting API | timeouts since 09:00")
        send(relay, answered)
        send(relay, t1("Payouts API: 503 on every call", when=past))
        send(relay, reply(answered))
        relay.mode = "tempfail"
        agent.cycle()  # opens 1-3, records 2's response, tries T2 for 1 and 3: refused (451)
        relay.mode = "accept"
        assert [s for s in agent.cycle().sent if s.endswith("T2")] == ["incident 1 T2", "incident 3 T2"]
        [t2_of_3] = [
            a.message() for a in relay.accepted if T2_ADDR in a.rcpt_tos and "Payouts" in a.message()["Subject"]
        ]
        send(relay, reply(t2_of_3, sender="manager@vendor.test"))
        agent.cycle()  # reads the CC copies of the T2s and 3's response
        agent.close()
    states = dict(store.db.execute("SELECT id, state FROM incidents").fetchall())
    assert states == {1: "awaiting_response", 2: "responded", 3: "responded"}
    yield dict(
        path=Path(config.agent.database), store=store, config=config, started=started, last_sync_at=agent.last_sync_at
    )
    store.close()


def _datasette_get(db_path: Path, *paths: str) -> list:
    from datasette.app import Datasette

    metadata = json.loads((REPO / "datasette" / "metadata.json").read_text())

    async def fetch():
        ds = Datasette([str(db_path)], metadata=metadata)
        await ds.invoke_startup()
        out = []
        for path in paths:
            response = await ds.client.get(path)
            assert response.status_code == 200, (path, response.text[:500])
            out.append(response.json())
        return out

    return asyncio.run(fetch())


def test_datasette_canned_queries(audit_db):
    base = "/escalation-agent"
    since = (audit_db["started"] - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    open_rows, timeline, sent, sent_none, sent_unbounded, ttfr = _datasette_get(
        audit_db["path"],
        f"{base}/open_incidents.json?_shape=array",
        f"{base}/incident_timeline.json?_shape=array&id=1",
        f"{base}/escalations_sent.json?" + urllib.parse.urlencode(dict(_shape="array", since=since, until=later)),
        f"{base}/escalations_sent.json?" + urllib.parse.urlencode(dict(_shape="array", since=later, until="")),
        f"{base}/escalations_sent.json?_shape=array&since=&until=",
        f"{base}/time_to_first_response.json?_shape=array",
    )

    assert [(r["id"], r["tier"]) for r in open_rows] == [(1, 2)]
    assert open_rows[0]["subject"] == "Incentives API: all requests fail with F500"

    assert [r["at"] for r in timeline] == sorted(r["at"] for r in timeline)
    assert timeline[0]["source"] == "incident" and timeline[0]["kind"] == "t1"
    assert {r["source"] for r in timeline} == {"incident", "message", "escalation", "event"}
    kinds = [r["kind"] for r in timeline if r["source"] == "event"]
    assert kinds[0] == "incident_opened" and "send_failed" in kinds and "sent" in kinds
    assert kinds.index("send_failed") < kinds.index("sent")
    recorded = audit_db["store"].audit_events(1)
    assert len(kinds) == len(recorded)
    assert [r for r in timeline if r["source"] == "escalation"][0]["kind"] == "T2 sent"
    failed = next(r for r in timeline if r["kind"] == "send_failed")
    assert "451" in failed["detail"] and failed["reason"] == "transient: retried next cycle"

    assert [(r["incident_id"], r["tier"], r["status"], r["sent_to"]) for r in sent] == [
        (1, "T2", "sent", T2_ADDR),
        (3, "T2", "sent", T2_ADDR),
    ]
    assert all(since <= r["sent_at"] for r in sent)
    assert sent_none == [] and len(sent_unbounded) == 2

    assert [(r["highest_tier_at_response"], r["incidents"], r["incident_ids"]) for r in ttfr] == [
        (1, 1, "2"),
        (2, 1, "3"),
    ]
    assert 0 <= ttfr[0]["min_seconds"] < 20  # answered at once (plus the poll that saw it)
    assert 30 <= ttfr[1]["min_seconds"] < 120  # T1 sent 30 s before the start, answered after its T2


# -- the post-incident review ----------------------------------------------------------------------
def _cells(line: str) -> int:
    return len(re.split(r"(?<!\\)\|", line)) - 2  # a row starts and ends with a pipe


def _tables_are_whole(markdown: str) -> None:
    """Every row of every table has as many cells as its header: no pipe or newline broke one."""
    block = []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            assert {_cells(row) for row in block} == {_cells(block[0])}, block
        block = []


def test_incident_markdown_from_a_real_incident(audit_db):
    store, config = audit_db["store"], audit_db["config"]
    detail = incident_detail(store, config, 1, datetime.now(UTC))
    md = export.incident_markdown(detail)
    assert md.startswith("# Incident 1: Incentives API: all requests fail with F500\n")
    assert "| State | awaiting\\_response |" in md
    assert f"| T1 sender | `{detail['t1_sender']}` |" in md
    t2 = detail["escalations"][0]
    sent_at = datetime.fromisoformat(t2["sent_at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"T2 {sent_at} (sent)" in md
    assert f"`{t2['message_id']}`" in md and all(f"`{r}`" in md for r in t2["recipients"])
    assert "| Response | none |" in md
    timeline = md.split("## Timeline\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert timeline[0] == "| Time (UTC) | Event | Detail | Reason |"
    assert len(timeline) == 2 + len(detail["events"])
    assert timeline[2].endswith("|") and "`incident_opened`" in timeline[2]
    _tables_are_whole(md)

    answered = export.incident_markdown(incident_detail(store, config, 2, datetime.now(UTC)))
    assert answered.startswith("# Incident 2: Reporting API \\| timeouts since 09:00\n")
    assert re.search(r"\| Response time \| \d+ seconds? after the T1 \||\| Response time \| 0 seconds after", answered)
    _tables_are_whole(answered)


def test_incident_markdown_escapes_pipes_newlines_and_markup_in_cells(audit_db):
    detail = incident_detail(audit_db["store"], audit_db["config"], 3, datetime.now(UTC))
    detail["events"].append(
        dict(
            at=detail["events"][-1]["at"],
            kind="note",
            reason="two\nlines | and *stars*",
            detail="<script>alert(1)</script> [link](http://x)",
        )
    )
    md = export.incident_markdown(detail)
    row = [line for line in md.splitlines() if line.startswith("|") and "`note`" in line][0]
    assert "two<br>lines \\| and \\*stars\\*" in row
    assert "\\<script\\>" in row and "\\[link\\](http://x)" in row
    assert "| Highest tier | T2 |" in md and "after the T1" in md
    _tables_are_whole(md)


# -- Prometheus ------------------------------------------------------------------------------------
def test_metrics_render_from_a_real_database(audit_db):
    from prometheus_client.parser import text_string_to_metric_families

    store = audit_db["store"]
    now = datetime.now(UTC)
    last = now - timedelta(seconds=42)
    text = metrics.render(store, last, now)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    value = lambda name, **labels: next(  # noqa: E731
        s.value
        for s in families[name].samples  # noqa: E731
        if s.labels == labels
    )

    q = lambda sql: store.db.execute(sql).fetchone()[0]  # noqa: E731
    assert families["escalation_agent_mails_seen"].type == "counter"
    assert value("escalation_agent_mails_seen") == q("SELECT count(*) FROM messages") >= 6
    assert families["escalation_agent_incidents"].type == "gauge"
    assert {s.labels["state"]: s.value for s in families["escalation_agent_incidents"].samples} == {
        "awaiting_response": 1,
        "responded": 2,
        "resolved": 0,
        "misrouted": 0,
        "stale": 0,
    }
    escalations = {
        (s.labels["tier"], s.labels["status"]): s.value for s in families["escalation_agent_escalations_total"].samples
    }
    assert len(escalations) == 2 * 7 and escalations[("2", "sent")] == 2
    assert sum(escalations.values()) == 2
    failures = q("SELECT count(*) FROM events WHERE kind IN ('send_failed', 'send_rejected')")
    assert value("escalation_agent_send_failures") == failures >= 2
    assert value("escalation_agent_last_sync_success_timestamp_seconds") == pytest.approx(last.timestamp())
    assert value("escalation_agent_seconds_since_last_sync") == pytest.approx(42.0)
    for name in (
        "escalation_agent_mails_seen_total",
        "escalation_agent_incidents",
        "escalation_agent_send_failures_total",
        "escalation_agent_seconds_since_last_sync",
    ):
        assert f"\n# HELP {name} " in "\n" + text and f"\n# TYPE {name} " in "\n" + text
    assert text.endswith("\n") and 'escalation_agent_incidents{state="stale"} 0\n' in text

    never = metrics.render(store, None, now)
    assert "escalation_agent_seconds_since_last_sync +Inf\n" in never
    assert "escalation_agent_last_sync_success_timestamp_seconds 0.0\n" in never


def test_metrics_over_http_and_as_a_textfile(audit_db, tmp_path):
    now = datetime.now(UTC)
    server = metrics.serve(0, lambda: metrics.render_file(audit_db["path"], now, now))
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            body = response.read().decode()
        assert 'escalation_agent_incidents{state="responded"} 2\n' in body
        assert "escalation_agent_seconds_since_last_sync 0.0\n" in body
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert e.value.code == 404
    finally:
        server.shutdown()
        server.server_close()

    target = tmp_path / "escalation_agent.prom"
    target.write_text("old\n")
    metrics.write_textfile(target, body)
    assert target.read_text() == body
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["escalation_agent.prom"]  # no temporary file left
