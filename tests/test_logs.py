"""Log lines under journald carry their syslog priority (`journalctl -p err` finds the errors); key=value fields
whose value holds a blank are quoted."""

import logging
import os
import subprocess
import sys

from agent.cli import logs
from support import OFFLINE_CONFIG, REPO


def record(level: int, msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("agent.outbox", level, __file__, 1, msg, args, None)


def test_journal_lines_start_with_the_syslog_priority_of_their_level():
    f = logs.Formatter(journal=True)
    assert f.format(record(logging.ERROR, "send rejected incident=%s: %s", 3, "552 too big")) == (
        "<3>ERROR agent.outbox: send rejected incident=3: 552 too big"
    )
    assert f.format(record(logging.WARNING, "w")).startswith("<4>WARNING ")
    assert f.format(record(logging.INFO, "i")).startswith("<6>INFO ")
    assert f.format(record(logging.DEBUG, "d")).startswith("<7>DEBUG ")
    assert f.format(record(logging.CRITICAL, "c")).startswith("<2>CRITICAL ")


def test_every_line_of_a_traceback_keeps_the_priority():
    try:
        raise ValueError("boom")
    except ValueError:
        rec = logging.LogRecord("agent", logging.ERROR, __file__, 1, "cycle failed", (), sys.exc_info())
    lines = logs.Formatter(journal=True).format(rec).splitlines()
    assert len(lines) > 2 and all(line.startswith("<3>") for line in lines)


def test_a_terminal_gets_the_time_and_no_prefix():
    line = logs.Formatter(journal=False).format(record(logging.ERROR, "x"))
    assert not line.startswith("<") and line.endswith("ERROR agent.outbox: x") and line[:4].isdigit()


def test_values_with_blanks_are_quoted_and_plain_ones_are_not():
    f = logs.Formatter(journal=False)
    line = f.format(record(logging.INFO, "sent incident=%s what=%s message_id=%s", 2, "notice 'watching'", "<a@b>"))
    assert line.endswith("""sent incident=2 what="notice 'watching'" message_id=<a@b>""")
    line = f.format(record(logging.INFO, "decided kind=%s to=%s: %s", 'say "hi"', "", "free text stays as it is"))
    assert line.endswith('decided kind="say \\"hi\\"" to="": free text stays as it is')


def test_a_stream_that_is_not_stderr_is_not_the_journal(monkeypatch, tmp_path):
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")  # inherited from a parent whose stderr was the journal
    assert logs.under_journal() is False
    monkeypatch.setenv("JOURNAL_STREAM", "garbage")
    assert logs.under_journal() is False


def test_the_daemon_under_journald_writes_errors_that_journalctl_p_err_would_show(tmp_path):
    config = tmp_path / "config.ini"
    imap_down = OFFLINE_CONFIG.replace(
        "host = 127.0.0.1\nusername", "host = 127.0.0.1\nport = 1\nsecurity = none\nusername"
    )
    config.write_text(imap_down + f"\n[agent]\ndatabase = {tmp_path / 'state.db'}\n")
    err = tmp_path / "journal-stream"
    err.touch()
    st = os.stat(err)
    with err.open("w") as stream:
        subprocess.run(
            [sys.executable, "-m", "agent", "-c", str(config), "poll"],
            stdout=subprocess.DEVNULL,
            stderr=stream,
            env=dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}"),
            cwd=REPO,
            timeout=60,
        )
    lines = err.read_text().splitlines()
    errors = [line for line in lines if line.startswith("<3>")]
    assert errors and "IMAP server 127.0.0.1:1" in errors[0], lines
    assert all(line[:3] in ("<2>", "<3>", "<4>", "<6>", "<7>") for line in lines), lines
