"""The mailbox rebuilds the record (issue 22): an agent on an empty database, started on the same mailbox at each
point of an incident after the first agent was killed -9, sends exactly what the first would have sent from then
on: none twice, none missing. Also a restore from a backup taken before the T2."""

import signal
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from agent.core.reading import provenance
from support import (
    AGENT,
    ALICE,
    BOB,
    T2_ADDR,
    T3_ADDR,
    WATCHED,
    AgentProcess,
    agent_command,
    query,
    reply,
    send,
    t1,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e

WINDOW = 6  # seconds: T2 after the T1, T3 after the T2, the every-tier-tried notice after the T3


def config_in(directory: Path, dovecot, relay) -> Path:
    directory.mkdir()
    window = f"{WINDOW}s"
    return write_config(
        directory,
        dovecot,
        relay,
        escalation_t2_after=window,
        escalation_t3_after=window,
        escalation_exhausted_after=window,
        agent_opened_notice="true",
    )


def kinds(relay) -> Counter:
    """What the agent sent, by its provenance: {"t2": 1, "notice-watching": 1, ...}."""
    out: Counter = Counter()
    for accepted in list(relay.accepted):
        if accepted.mail_from == AGENT:
            found = provenance.read(str(accepted.message()[provenance.HEADER] or ""))
            out[found.kind if found else "unstamped"] += 1
    return out


def accepted_at(relay, kind: str) -> list[float]:
    return [
        a.accepted_at
        for a in list(relay.accepted)
        if a.mail_from == AGENT and (provenance.read(str(a.message()[provenance.HEADER] or "")) or object).kind == kind
    ]


def sent(relay, kind: str, timeout: float = 30) -> float:
    """Wait until the agent sent a mail of this kind; when the server accepted it (its copy is in the mailbox then:
    the relay answers 250 once it delivered)."""
    wait_until(lambda: kinds(relay)[kind], timeout, f"the agent's {kind}")
    return accepted_at(relay, kind)[0]


def killed(agent: AgentProcess) -> None:
    agent.proc.send_signal(signal.SIGKILL)
    agent.proc.wait()


def to_vendor(relay) -> Counter:
    return Counter(
        address
        for a in list(relay.accepted)
        if a.mail_from == AGENT
        for address in a.rcpt_tos
        if address in (T2_ADDR, T3_ADDR)
    )


def settle(relay, expected: Counter, timeout: float = 40) -> None:
    """Wait for every expected mail, then a little more: a late duplicate would show."""
    wait_until(lambda: all(kinds(relay)[k] >= n for k, n in expected.items()), timeout, f"the mails {dict(expected)}")
    time.sleep(3)


FULL_LADDER = Counter({"notice-watching": 1, "t2": 1, "t3": 1, "notice-exhausted": 1})


def test_an_empty_database_before_the_t2_sends_the_t2_on_time_and_no_second_notice(servers, tmp_path):
    dovecot, relay = servers
    first = AgentProcess(config_in(tmp_path / "a", dovecot, relay)).start()
    incident = t1()
    send(relay, incident)
    sent(relay, "notice-watching")
    killed(first)
    with AgentProcess(config_in(tmp_path / "b", dovecot, relay)) as second:
        settle(relay, FULL_LADDER)
    assert kinds(relay) == FULL_LADDER, second.output()
    t2_at = accepted_at(relay, "t2")[0]
    assert t2_at >= parsedate_to_datetime(incident["Date"]).timestamp() + WINDOW - 1  # on time, not early
    db = tmp_path / "b" / "state.db"
    assert query(db, "SELECT kind, status FROM notices") == [("watching", "sent"), ("exhausted", "sent")]
    [adopted] = query(db, "SELECT detail FROM events WHERE kind = 'adopted'")
    assert "notice 'watching'" in adopted[0] and "sent by" in adopted[0]


def test_an_empty_database_between_t2_and_t3_sends_no_second_t2_and_the_t3_from_the_first_t2(servers, tmp_path):
    dovecot, relay = servers
    first = AgentProcess(config_in(tmp_path / "a", dovecot, relay)).start()
    send(relay, t1())
    t2_at = sent(relay, "t2")
    killed(first)
    with AgentProcess(config_in(tmp_path / "b", dovecot, relay)) as second:
        settle(relay, FULL_LADDER)
    assert kinds(relay) == FULL_LADDER, second.output()
    assert to_vendor(relay) == Counter({T2_ADDR: 1, T3_ADDR: 1})
    t3_at = accepted_at(relay, "t3")[0]
    assert t2_at + WINDOW - 1.5 <= t3_at <= t2_at + WINDOW + 8  # its window runs from the first agent's T2
    db = tmp_path / "b" / "state.db"
    assert query(db, "SELECT tier, status FROM escalations ORDER BY tier") == [(2, "sent"), (3, "sent")]
    shown = agent_command(tmp_path / "b" / "config.ini", "show", "1")  # what auditors read of the rebuilt record
    assert shown.returncode == 0 and "adopted" in shown.stdout and "T2 " in shown.stdout, shown.stderr


def test_an_empty_database_after_the_t3_sends_only_the_every_tier_tried_notice(servers, tmp_path):
    dovecot, relay = servers
    first = AgentProcess(config_in(tmp_path / "a", dovecot, relay)).start()
    send(relay, t1())
    t3_at = sent(relay, "t3", timeout=40)
    killed(first)
    with AgentProcess(config_in(tmp_path / "b", dovecot, relay)) as second:
        settle(relay, FULL_LADDER)
    assert kinds(relay) == FULL_LADDER, second.output()
    assert accepted_at(relay, "notice-exhausted")[0] >= t3_at + WINDOW - 1.5


def test_an_empty_database_while_held_holds_until_the_hold_ends_measured_from_the_command(servers, tmp_path):
    dovecot, relay = servers
    first = AgentProcess(config_in(tmp_path / "a", dovecot, relay)).start()
    incident = t1()
    send(relay, incident)
    sent(relay, "notice-watching")
    asked = time.time()
    send(relay, reply(incident, sender=BOB, body="#hold 14s waiting for the vendor's call\n", recipients=(WATCHED,)))
    sent(relay, "answer-hold")
    killed(first)
    time.sleep(2)  # the second agent starts well after the command: its hold still ends 14 s after the command
    with AgentProcess(config_in(tmp_path / "b", dovecot, relay)) as second:
        settle(relay, FULL_LADDER + Counter({"answer-hold": 1}), timeout=60)
    assert kinds(relay) == FULL_LADDER + Counter({"answer-hold": 1}), second.output()
    t2_at = accepted_at(relay, "t2")[0]
    assert asked + 14 - 1.5 <= t2_at <= asked + 14 + 8, t2_at - asked


def test_an_empty_database_after_a_stop_sends_nothing(servers, tmp_path):
    dovecot, relay = servers
    first = AgentProcess(config_in(tmp_path / "a", dovecot, relay)).start()
    incident = t1()
    send(relay, incident)
    sent(relay, "notice-watching")
    send(relay, reply(incident, sender=BOB, body="#stop the vendor called us\n", recipients=(WATCHED,)))
    sent(relay, "answer-stop")
    killed(first)
    with AgentProcess(config_in(tmp_path / "b", dovecot, relay)) as second:
        db = tmp_path / "b" / "state.db"
        wait_until(lambda: query(db, "SELECT state FROM incidents") == [("resolved",)], 20, "the #stop read again")
        time.sleep(WINDOW + 3)  # past the T2's deadline
    assert kinds(relay) == Counter({"notice-watching": 1, "answer-stop": 1}), second.output()


def test_an_empty_database_after_a_vendor_reply_sends_nothing(servers, tmp_path):
    dovecot, relay = servers
    first = AgentProcess(config_in(tmp_path / "a", dovecot, relay)).start()
    incident = t1()
    send(relay, incident)
    sent(relay, "notice-watching")
    send(relay, reply(incident))
    wait_until(lambda: query(tmp_path / "a" / "state.db", "SELECT state FROM incidents") == [("responded",)], 20, "")
    killed(first)
    with AgentProcess(config_in(tmp_path / "b", dovecot, relay)) as second:
        db = tmp_path / "b" / "state.db"
        wait_until(lambda: query(db, "SELECT state FROM incidents") == [("responded",)], 20, "the reply read again")
        time.sleep(WINDOW + 3)
    assert kinds(relay) == Counter({"notice-watching": 1}), second.output()


def test_a_restore_from_a_backup_taken_before_the_t2_sends_no_second_t2(servers, tmp_path):
    dovecot, relay = servers
    config = config_in(tmp_path / "a", dovecot, relay)
    db = tmp_path / "a" / "state.db"
    with AgentProcess(config):
        send(relay, t1())
        sent(relay, "notice-watching")
        backup = tmp_path / "before-t2.db"
        made = agent_command(config, "backup", str(backup))  # safe while the agent runs
        assert made.returncode == 0, made.stderr
        assert query(backup, "SELECT count(*) FROM escalations") == [(0,)]
        sent(relay, "t2")
    for suffix in ("", "-wal", "-shm"):  # the restore: the backup's file in place of the database
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(backup.read_bytes())
    with AgentProcess(config) as again:
        settle(relay, FULL_LADDER)
    assert kinds(relay) == FULL_LADDER, again.output()
    assert to_vendor(relay) == Counter({T2_ADDR: 1, T3_ADDR: 1})
    assert query(db, "SELECT tier, status FROM escalations ORDER BY tier") == [(2, "sent"), (3, "sent")]
    assert ALICE in str(query(db, "SELECT recipients FROM notices WHERE kind = 'watching'"))
