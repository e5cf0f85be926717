"""The API check end to end (issue 24): `escalation-agent run` as a process against the real Dovecot and SMTP relay,
with a probe command that is a tiny script whose outcome a file controls. Windows of seconds."""

import json
import os
import time
from pathlib import Path

import pytest
from test_watching import Recorder

from support import (
    AGENT,
    ALICE,
    T2_ADDR,
    T3_ADDR,
    AgentProcess,
    agent_command,
    query,
    send,
    sent_to,
    status_json,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e
F500 = "F500 GeneralError requestId=Acmes3324500H2"


class Api:
    """The probe's script and the file that says what it answers: ok, fail or hang."""

    def __init__(self, directory: Path, state: str = "fail"):
        self.state_file = directory / "api-state"
        self.pids = directory / "probe-pids"
        self.script = directory / "probe.sh"
        self.script.write_text(
            "#!/bin/sh\n"
            f'echo $$ >> "{self.pids}"\n'
            f'case "$(cat "{self.state_file}")" in\n'
            '  ok) echo "200 SUCCESS requestId=Acmes0001"; exit 0 ;;\n'
            "  hang) sleep 60 ;;\n"  # no exec: the shell waits for its child, which the agent must kill too
            f'  *) echo "{F500}"; exit 1 ;;\n'
            "esac\n"
        )
        self.script.chmod(0o755)
        self.set(state)

    def set(self, state: str) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(state)
        os.replace(tmp, self.state_file)


def probe_config(tmp_path, dovecot, relay, api: Api, **overrides):
    """write_config's file and a [probe] section: `probe_<key>` overrides go there."""
    probe = dict(command=str(api.script), interval="1s", timeout="1s", recovered_after="3")
    probe.update({k.removeprefix("probe_"): v for k, v in overrides.items() if k.startswith("probe_")})
    path = write_config(tmp_path, dovecot, relay, **{k: v for k, v in overrides.items() if not k.startswith("probe_")})
    with path.open("a") as f:
        f.write("[probe]\n" + "".join(f"{k} = {v}\n" for k, v in probe.items()))
    return path


def runs(db: Path) -> list[tuple[int, str]]:
    return query(db, "SELECT ok, evidence FROM probes ORDER BY id")


def plain_and_html(accepted) -> tuple[str, str]:
    msg = accepted.message()
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def notices(relay, title: str) -> list:
    return [a for a in list(relay.accepted) if a.mail_from == AGENT and title in str(a.message()["Subject"])]


def test_the_t2_carries_the_evidence_of_a_failing_probe(servers, tmp_path):
    dovecot, relay = servers
    api = Api(tmp_path, "fail")
    config = probe_config(tmp_path, dovecot, relay, api, escalation_t2_after="4s", escalation_t3_after="1h")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        [t2] = [a for a in relay.wait_for(to(T2_ADDR), 30) if T2_ADDR in a.rcpt_tos]
        wait_until(lambda: len(runs(db)) >= 2, 10, "runs recorded")
    plain, html = plain_and_html(t2)
    assert "API check: failing — " in plain and f": {F500}" in plain
    n = int(plain.split("API check: failing — ", 1)[1].split(" ")[0])
    assert n >= 1 and f"{n} of {n} probes since" in plain
    assert "(+ passed, x failed): " + "x" * n in plain
    assert "&#10007;" in html and "&#10003;" not in html and "background" not in html
    assert all(ok == 0 and evidence == F500 for ok, evidence in runs(db))
    shown = agent_command(config, "show", "1").stdout
    assert "API check (" in shown and f"FAIL  {F500}" in shown
    detail = json.loads(agent_command(config, "show", "1", "--json").stdout)
    assert detail["probes"][0]["ok"] is False and detail["probes"][0]["evidence"] == F500
    exported = agent_command(config, "export", "1").stdout
    assert "## API check" in exported and "F500 GeneralError" in exported


def test_the_recovery_is_told_once_in_the_thread_and_to_the_chat(servers, tmp_path):
    dovecot, relay = servers
    api = Api(tmp_path, "fail")
    db = tmp_path / "state.db"
    with Recorder() as chat:
        config = probe_config(
            tmp_path, dovecot, relay, api, escalation_t2_after="1h", agent_webhook_url=f"{chat.url}/hooks/x"
        )
        with AgentProcess(config):
            incident = t1()
            send(relay, incident)
            wait_until(lambda: len(runs(db)) >= 2, 30, "two failing probes")
            api.set("ok")
            switched = time.monotonic()
            wait_until(lambda: notices(relay, "the API answers again"), 30, "the recovery mail")
            took = time.monotonic() - switched
            wait_until(lambda: any(b"answers again" in body for *_, body in chat.requests), 10, "the chat line")
            time.sleep(3)  # more passes: still one mail for this recovery
    # interval x recovered_after (3 s), plus a probe cycle and a poll cycle (1 s each), plus a margin for a busy host
    assert took < 3 + 1 + 1 + 5, took
    [mail] = notices(relay, "the API answers again")
    assert mail.message()["In-Reply-To"] == incident["Message-ID"]
    assert ALICE in mail.rcpt_tos and T2_ADDR not in mail.rcpt_tos
    text = mail.message().get_body(("plain",)).get_content()
    assert "The API answers again since " in text and "reply #stop" in text
    lines = [json.loads(body)["text"] for _, method, _, body in chat.requests if method == "POST"]
    assert any(line.startswith("[incident 1] the API answers again since ") for line in lines), lines
    print(f"recovery mail {took:.1f} s after the API answered again")


def test_a_probe_that_hangs_costs_no_deadline_anything(servers, tmp_path):
    dovecot, relay = servers
    api = Api(tmp_path, "hang")
    config = probe_config(
        tmp_path, dovecot, relay, api, probe_timeout="2s", probe_interval="2s", escalation_t2_after="3s"
    )
    db = tmp_path / "state.db"
    with AgentProcess(config):
        send(relay, t1())
        relay.wait_for(to(T2_ADDR), 30)
        wait_until(lambda: len(runs(db)) >= 2, 15, "two probes stopped at their timeout")
    [(due, sent)] = query(db, "SELECT due_at, sent_at FROM escalations WHERE tier = 2")
    from agent.core.times import from_iso

    late = (from_iso(sent) - from_iso(due)).total_seconds()
    assert late < 2.5, late  # lateness as without a probe: a poll cycle and the send
    assert runs(db)[0] == (0, "no answer within 2s (the probe was stopped)")
    time.sleep(0.5)
    for pid in {int(p) for p in api.pids.read_text().split()}:  # every probe's shell is gone (its sleep went with it)
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    print(f"T2 {late:.2f} s after its deadline with a hanging probe")


def test_with_hold_on_recovery_the_t3_waits_while_the_api_answers_and_goes_when_it_fails(servers, tmp_path):
    dovecot, relay = servers
    api = Api(tmp_path, "fail")
    config = probe_config(
        tmp_path,
        dovecot,
        relay,
        api,
        probe_recovered_after="2",
        probe_hold_on_recovery="true",
        escalation_t2_after="2s",
        escalation_t3_after="8s",
    )
    db = tmp_path / "state.db"
    with AgentProcess(config):
        send(relay, t1())
        relay.wait_for(to(T2_ADDR), 30)
        wait_until(lambda: runs(db), 15, "a failing probe")  # a recovery needs a failure seen since the T1
        api.set("ok")
        wait_until(lambda: notices(relay, "the API answers again"), 30, "the recovery mail")
        [(t2_sent,)] = query(db, "SELECT sent_at FROM escalations WHERE tier = 2")
        from agent.core.times import from_iso

        t3_due = from_iso(t2_sent).timestamp() + 8
        wait_until(lambda: time.time() > t3_due + 3, 30, "past the T3 deadline")
        assert not sent_to(relay, T3_ADDR), "the T3 went out while the API answered"
        [row] = status_json(config)
        assert row["decision"] == "held: the API answers again (hold_on_recovery)" and row["api_hold"] is True
        table = agent_command(config, "status").stdout
        assert "T3 on hold: the API answers again" in table and "API answering since" in table
        api.set("fail")
        failed = time.monotonic()
        relay.wait_for(to(T3_ADDR), 30)
        took = time.monotonic() - failed
    assert took < 1 + 1 + 1 + 5, took  # the next probe fails, the next cycle sends; a margin for a busy host


def test_with_always_the_watching_notice_says_the_api_answers_and_status_and_metrics_show_the_check(servers, tmp_path):
    dovecot, relay = servers
    api = Api(tmp_path, "ok")
    metrics = tmp_path / "agent.prom"
    config = probe_config(
        tmp_path,
        dovecot,
        relay,
        api,
        probe_always="true",
        agent_opened_notice="true",
        agent_metrics_textfile=str(metrics),
        escalation_t2_after="1h",
    )
    db = tmp_path / "state.db"
    with AgentProcess(config):
        wait_until(lambda: runs(db), 30, "a probe with no incident open")  # always: it runs before any T1
        assert query(db, "SELECT incident_id FROM probes")[0] == (None,)
        send(relay, t1())
        [watching] = wait_until(lambda: notices(relay, "watching your T1"), 30, "the watching notice")
        wait_until(lambda: "escalation_agent_probe_up 1" in (metrics.read_text() if metrics.exists() else ""), 10, "up")
        assert "API answering since" in agent_command(config, "status").stdout
        api.set("fail")
        wait_until(lambda: "escalation_agent_probe_up 0" in metrics.read_text(), 15, "probe_up 0")
        assert "API failing since" in agent_command(config, "status").stdout
        assert "API failing since" in agent_command(config, "status", "--agent").stdout
    text = watching.message().get_body(("plain",)).get_content()
    assert "our check of the API succeeds right now" in text and "the urgent line is for when no call succeeds" in text
    assert "escalation_agent_probe_failing_since_timestamp_seconds" in metrics.read_text()
