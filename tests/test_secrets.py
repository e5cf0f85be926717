"""Passwords never reach the log, the database or an error message."""

import sqlite3  # iterdump, which pysqlite3 lacks: read after the agent stopped

import pytest

from support import LOCAL, T2_ADDR, AgentProcess, agent_command, send, t1, to, write_config
from tools.localmail import SmtpRelay

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

IMAP_SECRET = "watch-pw"  # the test Dovecot's password for the watched mailbox
SMTP_SECRET = "Sm7p-s3cret-Zq"


def test_no_secret_in_logs_database_or_errors(servers, tmp_path):
    dovecot, _ = servers
    with SmtpRelay(dovecot, {}, auth=("agent", SMTP_SECRET)) as relay:
        config = write_config(
            tmp_path,
            dovecot,
            relay,
            smtp_username="agent",
            smtp_password=SMTP_SECRET,
            escalation_t2_after="1s",
            agent_log_level="debug",
        )
        with SmtpRelay(dovecot, LOCAL) as people:
            send(people, t1())
        with AgentProcess(config) as agent:
            relay.wait_for(to(T2_ADDR), 15)
        wrong_smtp = write_config(tmp_path, dovecot, relay, smtp_username="agent", smtp_password="Wr0ng-" + SMTP_SECRET)
        outputs = [agent_command(wrong_smtp, "check")]
    outputs.append(agent_command(write_config(tmp_path, dovecot, relay, imap_password="Wr0ng-" + IMAP_SECRET), "check"))
    dump = "\n".join(sqlite3.connect(tmp_path / "state.db").iterdump())
    texts = [agent.output(), dump] + [o.stdout + o.stderr for o in outputs]
    assert "refused the login" in outputs[0].stderr and "refused the login" in outputs[1].stderr
    for text in texts:
        assert SMTP_SECRET not in text and IMAP_SECRET not in text
