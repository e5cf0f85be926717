"""The audit trail: append-only, hash-chained, verifiable, backed up consistently."""

import pytest

from agent.adapters.sqlite import sqlite3
from support import T2_ADDR, AgentProcess, agent_command, query, send, t1, to, wait_until, write_config

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers


def incident_with_t2(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1s", escalation_t3_after="1h")
    send(relay, t1())
    with AgentProcess(config):
        relay.wait_for(to(T2_ADDR), 15)
    return config, tmp_path / "state.db"


def test_verify_passes_on_an_untouched_log_and_finds_an_edit_made_behind_sqlites_back(servers, tmp_path):
    config, db = incident_with_t2(servers, tmp_path)
    ok = agent_command(config, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("audit log intact: ") and "integrity_check ok" in ok.stdout
    events = query(db, "SELECT count(*) FROM events")[0][0]
    assert f"{events} events chained" in ok.stdout

    conn = sqlite3.connect(db, isolation_level=None)  # a tamperer who knows to drop the trigger first
    conn.execute("DROP TRIGGER events_no_update")
    victim = conn.execute("SELECT id FROM events WHERE kind = 'sent'").fetchone()[0]
    conn.execute("UPDATE events SET detail = 'nothing happened' WHERE id = ?", [victim])
    conn.close()
    bad = agent_command(config, "audit", "verify")
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"Error: the audit log was altered: event {victim} does not match the hash chain"


def test_a_deleted_event_breaks_the_chain_too(servers, tmp_path):
    config, db = incident_with_t2(servers, tmp_path)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE id = 2")
    conn.close()
    assert "event 3 does not match" in agent_command(config, "audit", "verify").stderr


def test_the_check_runs_at_start_and_a_broken_chain_is_reported_not_fatal(servers, tmp_path):
    config, db = incident_with_t2(servers, tmp_path)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET reason = 'edited' WHERE id = 1")
    conn.close()
    with AgentProcess(config) as agent:
        wait_until(lambda: "started" in agent.output(), 10, "agent started")
    assert "ERROR agent.service: the audit log was altered: event 1" in agent.output()
    assert query(db, "SELECT count(*) FROM events WHERE kind = 'audit_broken'") == [(1,)]


def test_backup_is_a_consistent_readable_copy_and_never_overwrites(servers, tmp_path):
    config, db = incident_with_t2(servers, tmp_path)
    target = tmp_path / "copy.db"
    result = agent_command(config, "backup", str(target))
    assert result.returncode == 0 and result.stdout.startswith(f"backup written to {target}")
    assert query(target, "SELECT count(*) FROM escalations") == [(1,)]
    assert query(target, "PRAGMA integrity_check") == [("ok",)]
    again = agent_command(config, "backup", str(target))
    assert (again.returncode, again.stderr.strip()) == (
        1,
        f"Error: {target} exists already; the backup never overwrites a file",
    )


def test_a_database_that_is_not_one_is_one_sentence(tmp_path, servers):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay)
    (tmp_path / "state.db").write_bytes(b"this is not a database" * 100)
    result = agent_command(config, "status")
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"Error: cannot open the state database {tmp_path / 'state.db'}: ")
    assert "Traceback" not in result.stderr
