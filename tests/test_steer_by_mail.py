"""Engineers steer the escalation by mail (issue 12): each command, the forwarded answer, and each refusal,
end to end through `escalation-agent run` against the real servers."""

import email
import email.policy
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from support import (
    AGENT,
    ALICE,
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
    sent_to,
    status_json,
    t1,
    to,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e


def state(db):
    rows = query(db, "SELECT state FROM incidents WHERE id = 1")
    return rows[0][0] if rows else None


def answers(relay, who=BOB) -> list[EmailMessage]:
    """The agent's answers to `who`'s commands (not the notices to the incident's people)."""
    got = [a.message() for a in list(relay.accepted) if a.mail_from == AGENT and a.rcpt_tos[0] == who]
    return [
        m
        for m in got
        if m["Subject"].startswith("[escalation-agent] #") or "command" in m["Subject"] or "status" in m["Subject"]
    ]


def text(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def command(incident, line, sender=BOB, recipients=(WATCHED,)):
    return reply(incident, sender=sender, body=f"{line}\n\nSent from my iPhone\n", recipients=recipients)


def opened(relay, db, **overrides):
    incident = t1()
    send(relay, incident)
    wait_until(lambda: state(db) == "awaiting_response", 10, "incident opened")
    return incident


def test_hold_waits_then_escalates_and_is_confirmed_with_what_happens_next(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        sent = time.time()
        send(relay, command(incident, "#hold 8s vendor phoned, they are on it", recipients=(T1_ADDR, WATCHED)))
        [answer] = [m for m in wait_answers(relay)]
        assert "on hold until" in text(answer) and answer["In-Reply-To"]
        [row] = status_json(config)
        assert row["hold_until"] and row["decision"] == "on hold by an engineer's command"
        time.sleep(max(0, sent + 5 - time.time()))
        assert sent_to(relay, T2_ADDR) == []  # the 3 s window passed: held
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
    assert esc.accepted_at - sent >= 7.5  # when the hold ended, not before
    events = query(db, "SELECT detail FROM events WHERE kind = 'command'")
    assert events == [("#hold 8s (vendor phoned, they are on it) from bob@partner.test",)]


def wait_answers(relay, who=BOB, count=1, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = answers(relay, who)
        if len(got) >= count:
            return got
        time.sleep(0.1)
    raise AssertionError(f"no answer to {who}'s command within {timeout}s")


def test_stop_resolves_and_nothing_is_sent(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        send(relay, command(incident, "#STOP support called back, fixed by their rollback"))
        wait_until(lambda: state(db) == "resolved", 10, "resolved by #stop")
        [answer] = wait_answers(relay)
        time.sleep(5)
    assert sent_to(relay, T2_ADDR) == []
    said = text(answer)
    assert (
        "Done: #stop (support called back, fixed by their rollback). The incident is resolved: no tier is sent." in said
    )
    assert said.count("The incident is resolved") == 1  # said once, not twice
    assert query(db, "SELECT note FROM incidents") == [
        ("#stop (support called back, fixed by their rollback) by bob@partner.test",)
    ]


def test_escalate_sends_the_next_tier_now(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1h")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        asked = time.time()
        send(relay, command(incident, "#escalate the outage is spreading"))
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
        [answer] = wait_answers(relay)
    assert esc.accepted_at - asked < 6
    assert "T2 goes now" in text(answer)


def test_resume_opens_a_responded_incident_with_a_fresh_window(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        send(relay, reply(incident))  # the vendor answered ...
        wait_until(lambda: state(db) == "responded", 10, "responded")
        time.sleep(5)  # ... so the T2 window passed with nothing sent
        assert sent_to(relay, T2_ADDR) == []
        resumed = time.time()
        send(relay, command(incident, "#resume it is failing again"))
        wait_until(lambda: state(db) == "awaiting_response", 10, "open again")
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
    assert esc.accepted_at - resumed >= 3.5  # its own window from the resume, not at once


def test_status_tells_state_tier_next_deadline_and_last_events(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1h")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        send(relay, command(incident, "#status"))
        [answer] = wait_answers(relay)
    body = text(answer)
    assert "awaiting the vendor's response; the highest tier contacted is T1. T2 due" in body
    assert "What happened last:" in body and "T1 seen from alice@partner.test" in body
    assert "Your mail:" in body and "#status" in body.split("Your mail:")[1].split("The incident's T1:")[0]
    assert answer["In-Reply-To"] != incident["Message-ID"]  # the answer replies to the command, not to the T1
    assert state(db) == "awaiting_response"


def test_refusals_change_nothing_and_say_why(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s", escalation_t3_after="2s")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        send(relay, command(incident, "#stopp please"))  # a typo: not a command
        [typo] = wait_answers(relay)
        outsider = "someone@elsewhere.test"
        send(relay, command(incident, "#stop", sender=outsider))  # not from internal_domains
        relay.wait_for(to(T3_ADDR), 20)  # the ladder went on to the T3
        send(relay, command(incident, "#escalate", sender=ALICE))  # after the T3: nothing left
        [late] = wait_answers(relay, who=ALICE)
    assert "#stopp is not a command" in text(typo)
    assert "T3 is the last" in text(late)
    assert state(db) == "awaiting_response"
    [(kind, reason)] = query(db, "SELECT kind, reason FROM messages WHERE sender = ?", outsider)
    assert kind == "in_thread" and "its command line changes nothing" in reason
    assert [a for a in list(relay.accepted) if a.mail_from == AGENT and a.rcpt_tos[0] == outsider] == []


def forward_attached(answer: EmailMessage, by=ALICE) -> EmailMessage:
    """Outlook's 'forward as attachment' of the vendor's answer, to the watched mailbox."""
    fwd = EmailMessage()
    fwd["From"] = by
    fwd["To"] = WATCHED
    fwd["Subject"] = "FW: " + answer["Subject"]
    fwd["Date"] = format_datetime(datetime.now(UTC))
    fwd["Message-ID"] = make_msgid(domain="partner.test")
    fwd.set_content("The vendor answered only me, see attached.\n")
    fwd.add_attachment(email.message_from_bytes(answer.as_bytes(), policy=email.policy.default))
    return fwd


def forward_inline(answer: EmailMessage, by=ALICE) -> EmailMessage:
    """Gmail's inline forward of the vendor's answer."""
    fwd = EmailMessage()
    fwd["From"] = by
    fwd["To"] = WATCHED
    fwd["Subject"] = "Fwd: " + answer["Subject"]
    fwd["Date"] = format_datetime(datetime.now(UTC))
    fwd["Message-ID"] = make_msgid(domain="partner.test")
    fwd.set_content(
        "They answered me directly.\n\n---------- Forwarded message ---------\n"
        f"From: Kenji Support <{answer['From']}>\nDate: {answer['Date']}\nSubject: {answer['Subject']}\n"
        f"To: Alice Engineer <{ALICE}>\n\nWe found it and are rolling back.\n"
    )
    return fwd


@pytest.mark.parametrize("forward", [forward_attached, forward_inline], ids=["attached", "inline"])
def test_a_forwarded_vendor_answer_is_the_response(servers, tmp_path, forward):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        answered_alice_only = reply(incident, recipients=(ALICE,))  # the vendor left the mailbox out
        send(relay, forward(answered_alice_only))
        wait_until(lambda: state(db) == "responded", 10, "responded by the forward")
        time.sleep(5)
    assert sent_to(relay, T2_ADDR) == []
    [(reason,)] = query(db, "SELECT reason FROM messages WHERE sender = ? AND kind = 'response'", ALICE)
    assert reason == "response forwarded by alice@partner.test (from support@vendor.test)"


def test_a_forwarded_automatic_acknowledgement_is_no_response(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="3s")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = opened(relay, db)
        ack = reply(
            incident, body="Your case was received.", headers={"Auto-Submitted": "auto-replied"}, recipients=(ALICE,)
        )
        send(relay, forward_attached(ack))
        relay.wait_for(to(T2_ADDR), 15)
    assert state(db) == "awaiting_response"


def test_the_watching_notice_tells_the_people_when_the_t2_is_due_and_the_commands(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1h", agent_opened_notice="true")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        opened(relay, db)
        [notice] = [a for a in relay.wait_for(to(ALICE), 15) if a.mail_from == AGENT]
    msg = notice.message()
    assert "watching your T1" in msg["Subject"] and set(notice.rcpt_tos) == {ALICE, BOB, WATCHED}
    assert "#hold 30m" in text(msg) and "GMT" in text(msg)
    assert T2_ADDR not in notice.rcpt_tos and T1_ADDR not in notice.rcpt_tos  # never the vendor


def test_the_cli_twins_hold_escalate_and_resume(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1h")
    db = tmp_path / "state.db"
    with AgentProcess(config):
        opened(relay, db)
        held = agent_command(config, "hold", "1", "2h", "--note", "waiting for a callback")
        assert held.returncode == 0 and "T2 on hold until" in held.stdout, held.stderr
        wrong = agent_command(config, "hold", "1", "2d")
        assert wrong.returncode == 1 and "at most 24h" in wrong.stderr
        now = agent_command(config, "escalate", "1")
        assert now.returncode == 0 and "T2 goes now" in now.stdout
        relay.wait_for(to(T2_ADDR), 15)
        again = agent_command(config, "resume", "1")
        assert again.returncode == 1 and "#resume opens a resolved or responded one" in again.stderr
    kinds = [k for (k,) in query(db, "SELECT kind FROM events WHERE kind LIKE 'command%'")]
    assert kinds == ["command", "command"]
