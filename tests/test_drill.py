"""`escalation-agent drill` (issue 14, item 5): a synthetic incident end to end through the [drill] ladder, against
the real Dovecot and SMTP servers: by itself when no agent runs, and watching `escalation-agent run` when one does;
a drill whose T2 address is refused fails, naming the step; drill addresses outside our domains are refused."""

import re
from datetime import UTC, datetime

import pytest

from agent.adapters.store import Store
from agent.engine import metrics
from support import T2_ADDR, T3_ADDR, AgentProcess, agent_command, query, status_json, wait_until, write_config

pytestmark = pytest.mark.e2e

OPS = "ops@partner.test"
LADDER = dict(
    t1_address="drill-urgent@partner.test",
    t2_address="drill-t2@partner.test",
    t3_address="drill-t3@partner.test",
    t2_after="3s",
    t3_after="3s",
)
STEPS = ("T1 sent", "T1 seen", "T2 sent", "T2 CC copy back", "T3 sent", "T3 CC copy back", "internal only")


def drill_config(tmp_path, dovecot, relay, **drill):
    """support.write_config knows no [drill] section: it is appended."""
    config = write_config(tmp_path, dovecot, relay, agent_ops_address=OPS)
    with config.open("a") as f:
        f.write("[drill]\n" + "".join(f"{k} = {v}\n" for k, v in {**LADDER, **drill}.items()))
    return config


def drill(config):
    result = agent_command(config, "drill")
    print(result.stdout, result.stderr)
    return result


def steps(output: str) -> dict[str, tuple[str, float]]:
    """Each printed step: its name -> (ok or FAIL, seconds since the drill began)."""
    found = re.findall(r"^\[( ok |FAIL)\] (.+?)\s+\+\s*([\d.]+)s  ", output, re.M)
    return {name: (mark.strip(), float(at)) for mark, name, at in found}


def assert_nothing_reached_the_vendor(relay):
    for accepted in relay.accepted:
        assert not {T2_ADDR, T3_ADDR, "urgent@vendor.test"} & set(accepted.rcpt_tos), accepted.rcpt_tos


def test_a_drill_with_no_agent_running_runs_the_cycles_itself(servers, tmp_path):
    dovecot, relay = servers
    config = drill_config(tmp_path, dovecot, relay)
    result = drill(config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the drill runs the agent's cycles itself" in result.stdout
    done = steps(result.stdout)
    assert list(done) == list(STEPS) and all(mark == "ok" for mark, _ in done.values()), result.stdout
    # T2 after the drill's 3 s, T3 3 s after it, each within a couple of seconds of its deadline (the T1's Date
    # header, from which the window runs, has whole seconds: up to 1 s before the drill sent it)
    assert 2 <= done["T2 sent"][1] < 6 and 5 <= done["T3 sent"][1] < 10, done
    assert result.stdout.rstrip().endswith("drill passed: every step")
    db = tmp_path / "state.db"
    assert query(db, "SELECT id, drill, state FROM incidents") == [(1, 1, "resolved")]
    sent = query(db, "SELECT tier, json_extract(recipients, '$[0]'), status, confirmed_at IS NOT NULL FROM escalations")
    assert sent == [(2, "drill-t2@partner.test", "sent", 1), (3, "drill-t3@partner.test", "sent", 1)]
    assert_nothing_reached_the_vendor(relay)
    # out of status (unless --drills), and out of the metrics of real incidents
    assert status_json(config, "--all") == []
    [row] = status_json(config, "--all", "--drills")
    assert row["subject"].startswith("[DRILL] ")
    store = Store(db)
    try:
        text = metrics.render(store, None, datetime.now(UTC))
    finally:
        store.close()
    assert 'escalation_agent_incidents{state="resolved"} 0\n' in text
    assert 'escalation_agent_escalations_total{tier="2",status="sent"} 0\n' in text
    assert "escalation_agent_drills_total 1\n" in text


def test_a_drill_watches_a_running_agent_do_the_work(servers, tmp_path):
    dovecot, relay = servers
    config = drill_config(tmp_path, dovecot, relay)
    with AgentProcess(config) as agent:
        wait_until(lambda: query(tmp_path / "state.db", "SELECT 1 FROM mailbox_state"), 10, "the agent at work")
        result = drill(config)
    assert result.returncode == 0, result.stdout + result.stderr + agent.output()
    assert "an agent runs on this database" in result.stdout
    assert all(mark == "ok" for mark, _ in steps(result.stdout).values())
    assert "drill incident=1" in agent.output()  # the agent, not the drill, escalated it
    assert_nothing_reached_the_vendor(relay)


def test_a_drill_whose_t2_address_is_refused_fails_naming_the_step(servers, tmp_path):
    dovecot, relay = servers
    relay.refuse = {"drill-t2@partner.test"}
    config = drill_config(tmp_path, dovecot, relay)
    result = drill(config)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: drill failed at step 'T2 sent': rejected: T2: drill-t2@partner.test was refused")
    done = steps(result.stdout)
    assert done["T1 seen"][0] == "ok" and done["T2 sent"][0] == "FAIL" and "T3 sent" not in done
    assert "drill incident 1 resolved (drill over: failed at T2 sent)" in result.stdout
    assert query(tmp_path / "state.db", "SELECT state, drill FROM incidents") == [("resolved", 1)]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            dict(t2_address="t2@vendor.test"),
            "[drill] t2_address t2@vendor.test is in [escalation] responder_domains: it must be one of yours",
        ),
        (
            dict(t3_address="leadership@elsewhere.test"),
            "[drill] t3_address leadership@elsewhere.test is not in [escalation] internal_domains: it must be one of "
            "yours",
        ),
    ],
)
def test_a_drill_that_could_reach_the_vendor_is_refused(servers, tmp_path, change, message):
    dovecot, relay = servers
    result = drill(drill_config(tmp_path, dovecot, relay, **change))
    assert (result.returncode, result.stderr.strip()) == (1, f"Error: {message}")
    assert not relay.accepted
