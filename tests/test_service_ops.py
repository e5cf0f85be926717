"""`run` under a service manager: readiness, watchdog, status, metrics; and `export` for reviews."""

import os
import socket
import time
import urllib.request

import pytest

from support import T2_ADDR, AgentProcess, agent_command, send, t1, to, write_config
from tools.localmail import free_port

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers


def test_run_tells_systemd_ready_after_the_first_sync_feeds_the_watchdog_and_says_stopping(servers, tmp_path):
    dovecot, relay = servers
    path = f"/tmp/ea-notify-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    port = free_port()
    config = write_config(tmp_path, dovecot, relay, agent_metrics_port=port, escalation_t2_after="1s")
    messages = []
    try:
        send(relay, t1())
        agent = AgentProcess(config, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}).start()
        try:
            relay.wait_for(to(T2_ADDR), 15)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                try:
                    messages.append(sock.recv(4096).decode())
                except TimeoutError:
                    pass
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                exposition = response.read().decode()
        finally:
            assert agent.stop() == 0
        while True:
            try:
                messages.append(sock.recv(4096).decode())
            except TimeoutError:
                break
    finally:
        sock.close()
        os.unlink(path)
    states = [line for m in messages for line in m.splitlines()]
    assert "READY=1" in states and states.count("WATCHDOG=1") >= 4  # every 0.5 s for 3 s
    assert any(s.startswith("STATUS=watching INBOX") for s in states)
    assert states[-1] == "STOPPING=1"
    assert 'escalation_agent_escalations_total{tier="2",status="sent"} 1' in exposition
    assert 'escalation_agent_incidents{state="awaiting_response"} 1' in exposition


def test_export_writes_the_incident_as_markdown(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1s")
    incident = t1()
    send(relay, incident)
    with AgentProcess(config):
        relay.wait_for(to(T2_ADDR), 15)
    result = agent_command(config, "export", "1", "-o", str(tmp_path / "review.md"))
    assert result.returncode == 0 and result.stdout.strip() == f"incident 1 written to {tmp_path / 'review.md'}"
    markdown = (tmp_path / "review.md").read_text()
    assert markdown.startswith("# ") and incident["Subject"] in markdown
    assert "| " in markdown and "T2" in markdown
    assert agent_command(config, "export", "1").stdout == markdown
