"""The agent watching itself: trouble said once per outage, and a mute IDLE noticed (unit)."""

import logging

from agent.adapters.config import load
from agent.adapters.rows import EventRow
from agent.cli.health import idle_line
from agent.engine.health import SILENT_AFTER, IdleWitness, Troubles
from support import OFFLINE_CONFIG


def test_an_outage_is_one_error_line_however_its_symptoms_change(caplog):
    troubles = Troubles()
    with caplog.at_level(logging.DEBUG, logger="agent.service"):
        troubles.problem("imap", "IMAP server x:143: waiting in IDLE failed (socket error: EOF)")
        troubles.problem("imap", "IMAP server x:143: reading folder INBOX failed (Connection refused)")
        troubles.problem("imap", "IMAP server x:143: reading folder INBOX failed (Connection refused)")
        assert troubles.now("imap") == "IMAP server x:143: reading folder INBOX failed (Connection refused)"
        troubles.fine("imap")
        troubles.fine("imap")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["IMAP server x:143: waiting in IDLE failed (socket error: EOF)"]
    back = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert back == ["imap: working again after: IMAP server x:143: waiting in IDLE failed (socket error: EOF)"]
    assert troubles.summary() == ""


def test_a_mute_idle_is_noticed_once_and_a_working_one_never():
    mute = IdleWitness()
    said = [mute.after_cycle(False, 1) for _ in range(SILENT_AFTER + 2)]
    assert said == [False] * (SILENT_AFTER - 1) + [True, False, False]
    working = IdleWitness()
    working.after_cycle(True, 1)
    assert not any(working.after_cycle(False, 1) for _ in range(10))
    no_idle = IdleWitness()  # the loop did not wait in IDLE: polls finding mail prove nothing about IDLE
    assert not any(no_idle.after_cycle(None, 3) for _ in range(10))


def test_one_process_at_a_time_takes_the_databases_lock(tmp_path):
    import pytest

    from agent.core.errors import AgentError
    from agent.engine.lock import DatabaseLock

    first, second = DatabaseLock(tmp_path / "state.db"), DatabaseLock(tmp_path / "state.db")
    first.take()
    with pytest.raises(AgentError, match="is held by process"):
        second.take()
    first.release()
    second.take()
    second.release()


def test_check_promises_push_only_when_the_agent_saw_idle_announce_mail(tmp_path):
    d = tmp_path
    (d / "config.ini").write_text(OFFLINE_CONFIG + f"\n[agent]\ndatabase = {d / 'state.db'}\npoll_interval = 60\n")
    cfg = load(d / "config.ini")
    silent = EventRow(
        7, "2026-12-06T03:00:00.000Z", None, "idle_silent", "INBOX: IDLE has announced nothing", None, "", ""
    )
    pushed = EventRow(
        8, "2026-12-06T03:00:00.000Z", None, "idle_announced", "INBOX: IDLE announced new mail", None, "", ""
    )
    assert (
        idle_line("IDLE not offered", None, cfg)
        == "IDLE not offered: replies are seen at the next poll, within poll_interval = 60s"
    )
    assert idle_line("IDLE offered", None, cfg).startswith("IDLE offered, not yet seen announcing new mail")
    assert idle_line("IDLE offered", silent, cfg) == (
        "IDLE offered, but it never announced new mail (seen 2026-12-06T03:00:00.000Z): replies are seen within "
        "poll_interval = 60s"
    )
    assert idle_line("IDLE offered", pushed, cfg).endswith("replies are seen as they arrive")
