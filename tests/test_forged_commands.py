"""A command needs a tie (issue 21.2), end to end through `escalation-agent run` against the real servers: a #stop
forged in an engineer's name (the subject, no Message-ID of the thread) changes nothing, and the genuine one does."""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from support import (
    AGENT,
    BOB,
    T2_ADDR,
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

# An Outlook T1: its conversation's Thread-Index, as Exchange writes it.
THREAD_INDEX = "AdxfKos8nksfIMfYSmuPDjpdLHsekA=="


def forged_stop(subject: str) -> EmailMessage:
    """What an outsider can write: the engineer's From, the T1's subject, a #stop; no In-Reply-To or References."""
    msg = EmailMessage()
    msg["From"] = f"Bob Example <{BOB}>"
    msg["To"] = WATCHED
    msg["Subject"] = f"Re: {subject}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = "<5f3c9a1e8b7d2c4a@mail.attacker.test>"
    msg["X-Mailer"] = "PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)"
    msg.set_content("#stop\n")
    return msg


def answers_to(relay, who):
    return [
        a.message()
        for a in list(relay.accepted)
        if a.mail_from == AGENT and a.rcpt_tos[0] == who and "[escalation-agent]" in str(a.message()["Subject"])
    ]


def test_a_forged_stop_changes_nothing_and_the_genuine_one_still_stops(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="6s", escalation_t3_after="1h")
    db = tmp_path / "state.db"
    incident = t1()
    incident["Thread-Index"] = THREAD_INDEX
    with AgentProcess(config) as agent:
        send(relay, incident)
        wait_until(lambda: query(db, "SELECT state FROM incidents"), 15, "the incident opened")
        relay.send(forged_stop(incident["Subject"]), "bounce@attacker.test", [WATCHED])
        [answer] = wait_until(lambda: answers_to(relay, BOB), 15, "the one-line answer to the claimed sender")
        assert query(db, "SELECT state FROM incidents") == [("awaiting_response",)]
        [esc] = [a for a in relay.wait_for(to(T2_ADDR), 25) if T2_ADDR in a.rcpt_tos]
        t2_late = esc.accepted_at - parsedate_to_datetime(incident["Date"]).timestamp()
        send(relay, reply(incident, sender=BOB, body="#stop the vendor phoned, fixed\n\nSent from my iPhone\n"))
        wait_until(lambda: query(db, "SELECT state FROM incidents") == [("resolved",)], 15, "resolved by the reply")
        log = agent.output()
    assert 5 <= t2_late < 20, t2_late  # on time (6 s): the forged #stop held nothing up
    assert str(answer["Subject"]).startswith("[escalation-agent] #stop not applied")
    body = answer.get_body(("plain",)).get_content()
    assert body.splitlines()[0] == "#stop not applied: reply to the T1 or to one of the agent's mails."
    [(detail, reason)] = query(db, "SELECT detail, reason FROM events WHERE kind = 'command_not_tied'")
    assert detail.startswith("#stop from bob@partner.test (<5f3c9a1e8b7d2c4a@mail.attacker.test>) not applied")
    assert reason == "a command must reply to the T1 or to one of the agent's mails"
    [(resolved, why)] = query(db, "SELECT detail, reason FROM events WHERE kind = 'resolved'")
    assert resolved.startswith("resolved by #stop (the vendor phoned, fixed) from bob@partner.test")
    assert why == f"tied: it replies in the thread ({incident['Message-ID']})"
    assert "incident resolved by #stop from bob@partner.test incident=1" in log and "resolved by hand" not in log
    shown = agent_command(config, "show", "1").stdout
    assert "command_not_tied" in shown


def test_check_says_what_protects_commands_without_a_dmarc_check(servers, tmp_path):
    dovecot, relay = servers
    result = agent_command(write_config(tmp_path, dovecot, relay), "check")
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stderr.splitlines() if "trusted_authserv_id" in x]
    assert line.startswith("Warning: [escalation] trusted_authserv_id is not set")
    assert "counts only in reply to the T1 or to one of the agent's mails" in line
    checked = agent_command(
        write_config(tmp_path, dovecot, relay, escalation_trusted_authserv_id="mx.partner.test"), "check"
    )
    assert checked.returncode == 0 and "trusted_authserv_id" not in checked.stderr
