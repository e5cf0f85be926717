"""A database that cannot be written (issue 21.6): the error line names the database's path and every deadline
that is overdue now, read from what is still readable; once it can be written again the T2 goes out.

A real Dovecot and SMTP relay, the agent in this process. The full disk is SQLite's own SQLITE_FULL, made with
`PRAGMA max_page_count` on the agent's connection: the same OperationalError ("database or disk is full", code 13)
that a full file system raises, without filling one."""

import logging
import sqlite3
import time

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.times import from_iso, gmt
from agent.engine import unwritable
from agent.engine.service import Agent
from support import T2_ADDR, incident_row, send, sent_to, t1, wait_until, write_config


def full(store: Store) -> None:
    """No page more for this connection: every write that needs one fails with SQLITE_FULL."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_names_the_database_and_the_overdue_t2_then_the_t2_goes_once_space_is_back(
    servers, tmp_path, caplog
):
    dovecot, relay = servers
    cfg = load(write_config(tmp_path, dovecot, relay, escalation_t2_after="2s", escalation_t3_after="1h"))
    store = Store(cfg.agent.database)
    agent = Agent(cfg, store)
    try:
        send(relay, t1())
        wait_until(lambda: agent.cycle() and store.open_incidents(), 20, "the incident opened")
        [(incident, _)] = store.open_incidents()
        due = from_iso(incident_row(store, incident.id)["t1_sent_at"]) + cfg.escalation.t2_after
        full(store)
        wait_until(lambda: agent.clock() > due, 10, "past the T2's deadline")
        with caplog.at_level(logging.ERROR, logger="agent.service"):
            assert agent.safe_cycle() is None
        path = tmp_path / "state.db"
        expected = (
            f"the database {path.resolve()} cannot be written (database or disk is full): nothing is recorded or "
            f"sent until it can; overdue now: incident {incident.id} T2 due {gmt(due)}; free space on its file "
            "system, or make it writable"
        )
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [expected]
        assert sent_to(relay, T2_ADDR) == []
        store.db.execute("PRAGMA max_page_count = 1073741823")  # space is back
        with caplog.at_level(logging.INFO, logger="agent.service"):
            assert agent.safe_cycle() is not None
        relay.wait_for(lambda accepted: any(T2_ADDR in a.rcpt_tos for a in accepted), 15)
        assert any(r.getMessage() == f"cycle: working again after: {expected}" for r in caplog.records)
        time.sleep(0.5)
        assert len(sent_to(relay, T2_ADDR)) == 1
    finally:
        agent.close()
        store.close()


def test_only_a_write_the_file_system_refused_counts(tmp_path):
    db = sqlite3.connect(tmp_path / "x.db")
    db.execute("CREATE TABLE t (x)")
    db.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as refused:
        db.executemany("INSERT INTO t VALUES (?)", [(b"x" * 5000,)] * 4)
    assert unwritable.cannot_write(refused.value) == "database or disk is full"
    with pytest.raises(sqlite3.OperationalError) as other:
        db.execute("SELECT * FROM nowhere")
    assert unwritable.cannot_write(other.value) is None
    assert unwritable.cannot_write(OSError("disk is full")) is None
    db.commit()
    read_only = sqlite3.connect(f"file:{tmp_path / 'x.db'}?mode=ro", uri=True)  # as on a read-only file system
    with pytest.raises(sqlite3.OperationalError) as refused:
        read_only.execute("INSERT INTO t VALUES (1)")
    assert unwritable.cannot_write(refused.value) == "attempt to write a readonly database"


def test_pysqlite3_s_errors_count_too(tmp_path):
    # The newer SQLite comes as pysqlite3, whose error classes are not the standard library's.
    pysqlite3 = pytest.importorskip("pysqlite3")
    db = pysqlite3.connect(str(tmp_path / "y.db"))
    db.execute("CREATE TABLE t (x)")
    db.execute("PRAGMA max_page_count = 2")
    with pytest.raises(pysqlite3.OperationalError) as refused:
        db.executemany("INSERT INTO t VALUES (?)", [(b"x" * 5000,)] * 4)
    assert unwritable.cannot_write(refused.value) == "database or disk is full"
