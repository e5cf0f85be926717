"""The stand-down (issue 21.5), end to end through `escalation-agent run` against the real servers: after the T2, an
engineer's #stop (the vendor phoned) tells the tiers contacted, once; not after the vendor's own answer, and not with
`stand_down = false`."""

import time

import pytest

from support import (
    AGENT,
    BOB,
    T1_ADDR,
    T2_ADDR,
    T3_ADDR,
    WATCHED,
    AgentProcess,
    agent_command,
    query,
    reply,
    send,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

SUBJECT_MARK = "[No further action needed]"


def stand_downs(relay):
    return [a for a in list(relay.accepted) if a.mail_from == AGENT and SUBJECT_MARK in str(a.message()["Subject"])]


def state(db):
    return query(db, "SELECT state FROM incidents")


def t2_sent(relay, db):
    """A T1, and the agent's T2 for it once its window passed."""
    incident = t1()
    send(relay, incident)
    [esc] = [a for a in relay.wait_for(to(T2_ADDR), 20) if T2_ADDR in a.rcpt_tos]
    return incident, esc.message()


def stop(to_mail, line="#stop the vendor phoned, they fixed it"):
    """Bob's reply to all on the agent's T2, from his phone."""
    return reply(to_mail, sender=BOB, body=f"{line}\n\nSent from my iPhone\n", recipients=(T2_ADDR, WATCHED))


def test_a_stop_after_the_t2_sends_one_stand_down_in_the_thread_even_across_a_restart(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s", escalation_t3_after="1h")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident, t2 = t2_sent(relay, db)
        send(relay, stop(t2))
        wait_until(lambda: state(db) == [("resolved",)], 15, "resolved by the #stop")
        [told] = wait_until(lambda: stand_downs(relay), 15, "the stand-down")
        wait_until(lambda: query(db, "SELECT confirmed_at FROM notices WHERE kind = 'stand_down_t2'")[0][0], 15, "CC")
    with AgentProcess(config):  # a restart reads the mailbox again: nothing is sent twice
        time.sleep(4)
    assert len(stand_downs(relay)) == 1
    assert told.rcpt_tos[:2] == [T2_ADDR, T1_ADDR] and WATCHED in told.rcpt_tos and T3_ADDR not in told.rcpt_tos
    msg = told.message()
    assert msg["In-Reply-To"] == t2["Message-ID"]
    assert incident["Message-ID"] in msg["References"] and t2["Message-ID"] in msg["References"]
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    assert "answered at " in text and "no further action is needed" in text
    assert "the vendor phoned" not in text  # the engineer's own note stays with our people
    assert msg.get_body(("html",)) is not None
    [(kind, detail)] = query(db, "SELECT kind, detail FROM events WHERE detail LIKE 'stand-down%'")
    assert kind == "notice_decided" and detail.startswith("stand-down 'stand_down_t2' to t2@vendor.test, urgent@")


def test_no_stand_down_after_the_vendors_own_answer(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s", escalation_t3_after="1h")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        _, t2 = t2_sent(relay, db)
        send(relay, reply(t2, sender="manager@vendor.test"))  # the vendor answered in the thread
        wait_until(lambda: state(db) == [("responded",)], 15, "responded")
        send(relay, stop(t2, "#stop fixed, thanks"))
        wait_until(lambda: state(db) == [("resolved",)], 15, "resolved")
        wait_until(
            lambda: query(db, "SELECT 1 FROM events WHERE kind = 'stand_down_skipped'"), 15, "the reason why not"
        )
        time.sleep(3)  # a cycle or two more: had one been decided, it would have gone
    assert stand_downs(relay) == []
    [(reason,)] = query(db, "SELECT reason FROM events WHERE kind = 'stand_down_skipped'")
    assert reason == "the vendor answered in the thread: they see it there"


def test_stand_down_false_sends_none(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s", escalation_t3_after="1h")
    config.write_text(config.read_text().replace("[agent]", "stand_down = false\n[agent]"))
    db = tmp_path / "state.db"
    with AgentProcess(config):
        _, t2 = t2_sent(relay, db)
        send(relay, stop(t2))
        wait_until(lambda: state(db) == [("resolved",)], 15, "resolved")
        time.sleep(3)
    assert stand_downs(relay) == []
    [(reason,)] = query(db, "SELECT reason FROM events WHERE kind = 'stand_down_skipped'")
    assert reason == "[escalation] stand_down = false"


def test_resolve_by_hand_after_the_t2_tells_the_tiers_through_the_running_agent(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s", escalation_t3_after="1h")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        t2_sent(relay, db)
        done = agent_command(config, "resolve", "1", "--note", "the vendor phoned")
        assert done.returncode == 0, done.stderr
        [told] = wait_until(lambda: stand_downs(relay), 15, "the stand-down")
    assert done.stdout.strip() == "incident 1 resolved; T2, T1 will be told: answered, no further action needed"
    assert told.rcpt_tos[:2] == [T2_ADDR, T1_ADDR]
