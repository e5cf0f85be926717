"""The agent says when it is blind (issue 14, item 1): the mailbox unreadable for blind_alert_after earns ONE mail to
ops_address (since when, why, what is open), and one more when it can read again; across restarts, against a real
Dovecot that is stopped and started again, with `escalation-agent run` as a process."""

import json
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from support import LOCAL, USERS, AgentProcess, agent_command, query, send, sent_to, t1, wait_until, write_config
from tools.localmail import Dovecot, SmtpRelay

pytestmark = pytest.mark.e2e

OPS = "ops@partner.test"


def alarms_to(relay, subject_word: str) -> list:
    return [a for a in sent_to(relay, OPS) if subject_word in a.message()["Subject"]]


def body(accepted) -> str:
    return accepted.message().get_body(("plain",)).get_content()


def since_in(text: str) -> datetime:
    """The "since HH:MM:SS GMT on Tue 25 Nov 2025" of an alarm, as a time."""
    found = re.search(r"since (\d\d:\d\d:\d\d) GMT on \w+ (\d\d \w+ \d{4})", text)
    assert found, text
    return datetime.strptime(f"{found[2]} {found[1]}", "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)


@pytest.fixture
def outage(tmp_path):
    """Dovecot with a root of its own (its Maildir survives a stop), the people's relay that delivers into it, and
    the agent's relay, which does not: while the mailbox is down the agent's mail still goes out (as a real
    SMTP server would queue the watched mailbox's copy), so its copies never come back."""
    root = Path(tempfile.mkdtemp(prefix="ea-bl-", dir="/tmp"))
    try:
        with Dovecot(USERS, root=root) as dovecot, SmtpRelay(dovecot, LOCAL) as people, SmtpRelay(None, {}) as relay:
            yield dovecot, people, relay
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_one_alarm_when_the_mailbox_cannot_be_read_and_one_when_it_can_again(outage, tmp_path):
    dovecot, people, relay = outage
    config = write_config(
        tmp_path, dovecot, relay, agent_ops_address=OPS, agent_blind_alert_after="5s", escalation_t2_after="1h"
    )
    db = tmp_path / "state.db"
    incident = t1()
    with AgentProcess(config):
        send(people, incident)
        wait_until(lambda: query(db, "SELECT id FROM incidents"), 10, "incident opened")
        time.sleep(1.5)  # a few good reads
        healthy = json.loads(agent_command(config, "status", "--agent", "--json").stdout)
        assert healthy["reading"] and healthy["ok"] and healthy["blind_since"] is None
        stopped = time.time()
        dovecot.stop()
        [alarm] = wait_until(lambda: alarms_to(relay, "cannot read"), 30, "the blind alarm")
        latency = alarm.accepted_at - stopped
        text = body(alarm)
        blind = json.loads(agent_command(config, "status", "--agent", "--json").stdout)
        table = agent_command(config, "status").stdout
        time.sleep(4)  # the outage goes on: no second alarm
        assert len(alarms_to(relay, "cannot read")) == 1
    print(f"blind alarm {latency:.2f} s after the IMAP server stopped (blind_alert_after = 5s)")
    assert 4 <= latency < 9, latency
    # since when (GMT), why, what is open with its next deadline, and that replies cannot be seen
    assert abs(since_in(text).timestamp() - stopped) < 2.5, text
    assert "cannot reach IMAP server" in text or "IMAP server" in text, text
    assert f'Incident 1 ("{incident["Subject"]}"): T2 due ' in text, text
    assert "cannot see replies" in text
    msg = alarm.message()
    assert msg["To"] == OPS and msg["Auto-Submitted"] == "auto-generated" and msg["In-Reply-To"] is None
    assert {p.get_content_type() for p in msg.walk()} >= {"text/plain", "text/html"}
    # status says so: in the agent's own JSON object, and in a line below the table
    assert blind["blind_since"] and blind["alarm"]["status"] == "sent" and not blind["ok"]
    assert "IMAP server" in blind["blind_reason"]
    assert "Agent: BLIND since " in table, table

    with AgentProcess(config) as again:  # a restart while blind: no second alarm for the same outage
        time.sleep(7)
        assert len(alarms_to(relay, "cannot read")) == 1, again.output()
        dovecot.start()
        [sight] = wait_until(lambda: alarms_to(relay, "again"), 20, "the all-clear")
        time.sleep(2)
    assert "can read the watched mailbox" in body(sight) and "Incident 1 (" in body(sight)
    assert [a.message()["Subject"] for a in sent_to(relay, OPS)] == [
        "[escalation-agent] cannot read the watched mailbox",
        "[escalation-agent] can read the watched mailbox again",
    ]
    rows = query(db, "SELECT kind, outage, status FROM alarms ORDER BY id")
    assert [(k, s) for k, _, s in rows] == [("blind", "sent"), ("sight", "sent")] and rows[0][1] == rows[1][1]
    events = query(db, "SELECT kind, incident_id FROM events WHERE kind IN ('blind', 'sight') ORDER BY id")
    assert events == [("blind", None), ("sight", None)]
    well = json.loads(agent_command(config, "status", "--agent", "--json").stdout)
    assert well["blind_since"] is None and well["alarm"] is None
    assert isinstance(json.loads(agent_command(config, "status", "--json").stdout), list)  # the contract stands


def test_since_when_outlives_a_restart_before_the_alarm(outage, tmp_path):
    dovecot, people, relay = outage
    config = write_config(tmp_path, dovecot, relay, agent_ops_address=OPS, agent_blind_alert_after="6s")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        wait_until(lambda: query(db, "SELECT synced_at FROM mailbox_state"), 10, "the first read")
        time.sleep(2)
        stopped = time.time()
        dovecot.stop()
        time.sleep(2)
    with AgentProcess(config):  # started while blind: the outage began before it, at the last good read on record
        [alarm] = wait_until(lambda: alarms_to(relay, "cannot read"), 30, "the blind alarm")
        time.sleep(2)
    since = since_in(body(alarm)).timestamp()
    assert stopped - 3 <= since <= stopped + 1, (since, stopped)
    assert alarm.accepted_at - stopped < 10
    assert "No incident is open." in body(alarm)
    assert len(sent_to(relay, OPS)) == 1


def test_ops_address_must_be_internal(tmp_path, servers):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, agent_ops_address="noc@vendor.test")
    result = agent_command(config, "check")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: [agent] ops_address noc@vendor.test is in [escalation] responder_domains: it must be one of yours"
    )
