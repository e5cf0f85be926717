"""Every role works after install: the commands that only read need no password and never write the database."""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.adapters.store import Store, database_status
from agent.cli import cli
from agent.core.deciding.effect import NewIncident
from agent.core.procedure.policy import State

NOW = datetime(2026, 12, 1, 11, 15, tzinfo=UTC)

# As installed: the passwords are systemd credentials or root-only files an auditor cannot read.
CONFIG = """
[imap]
host = imap.partner.test
username = watch@partner.test
password_credential = imap-password
[smtp]
host = smtp.partner.test
username = watch@partner.test
password_file = {secrets}/smtp-password
from_address = watch@partner.test
[escalation]
internal_domains = partner.test
[agent]
database = {state}/escalation-agent.db
"""

# Every command that only reads, as an auditor types it.
READS = [
    ["status"],
    ["status", "--json", "--all"],
    ["status", "--agent", "--json"],
    ["show", "1"],
    ["show", "1", "--json"],
    ["export", "1"],
    ["audit", "verify"],
]


def _snapshot(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A state directory with one incident, written by the agent; secrets nowhere an auditor could read them."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    state = tmp_path / "state"
    secrets = tmp_path / "secrets"  # never created: as unreadable to an auditor as a root-only file
    config = tmp_path / "config.ini"
    config.write_text(CONFIG.format(state=state, secrets=secrets))
    config.chmod(0o640)
    store = Store(state / "escalation-agent.db")
    incident = NewIncident(
        State.AWAITING_RESPONSE,
        "Incentives API: all requests fail with F500",
        "<t1@partner.test>",
        "alice@partner.test",
        ("urgent@vendor.test", "watch@partner.test"),
        ("alice@partner.test",),
        NOW,
        "date",
        (),
        "Brief problem description: every request fails with F500.",
        b"",
    )
    with store.transaction():
        incident_id = store.add_incident(incident, NOW)
        store.event(NOW, "incident_opened", "T1 from alice@partner.test", incident_id)
    store.close()
    return dict(config=config, state=state, tmp_path=tmp_path)


def _run(installed, *args):
    return CliRunner().invoke(cli, ["-c", str(installed["config"]), *args])


def test_the_read_only_commands_need_no_secret_and_leave_the_database_as_it_was(installed):
    before = _snapshot(installed["state"])
    assert list(before) == ["escalation-agent.db"]  # the agent closed it: no -wal, no -shm
    for args in READS:
        result = _run(installed, *args)
        assert result.exit_code == 0, (args, result.output)
    assert json.loads(_run(installed, "status", "--json", "--all").output)[0]["t1_message_id"] == "<t1@partner.test>"
    assert "Incentives API" in _run(installed, "show", "1").output
    backup = installed["tmp_path"] / "copy.db"
    assert _run(installed, "backup", str(backup)).exit_code == 0 and backup.stat().st_size > 0
    assert _snapshot(installed["state"]) == before  # nothing written, nothing created beside it


def test_a_reader_shares_a_running_agents_wal_and_sees_its_latest_commit(installed):
    agent = Store(installed["state"] / "escalation-agent.db")  # the running agent: -wal and -shm exist
    try:
        agent.event(NOW, "incident_note", "written while an auditor reads", 1)
        assert (installed["state"] / "escalation-agent.db-wal").exists()
        db_before = (installed["state"] / "escalation-agent.db").read_bytes()
        result = _run(installed, "show", "1")
        assert result.exit_code == 0 and "written while an auditor reads" in result.output
        assert (installed["state"] / "escalation-agent.db").read_bytes() == db_before
    finally:
        agent.close()


def test_a_writing_command_still_reads_its_secrets(installed):
    result = _run(installed, "resolve", "1", "--note", "fixed")
    assert result.exit_code == 1
    secrets = installed["tmp_path"] / "secrets"
    assert result.output == (
        f"Error: [smtp] password_file: cannot read {secrets}/smtp-password (No such file or directory)\n"
    )


def test_a_database_not_created_yet_is_one_sentence_and_stays_uncreated(installed):
    for name in list(_snapshot(installed["state"])):
        (installed["state"] / name).unlink()
    result = _run(installed, "status")
    assert result.exit_code == 1
    database = installed["state"] / "escalation-agent.db"
    assert result.output == (
        f"Error: the state database {database} does not exist yet: the agent creates it when it first starts "
        "(systemctl start escalation-agent)\n"
    )
    assert not database.exists()


def test_check_looks_at_the_database_without_creating_or_writing_it(installed):
    database = installed["state"] / "escalation-agent.db"
    before = _snapshot(installed["state"])
    assert database_status(database) == "ok"
    assert _snapshot(installed["state"]) == before
    fresh = installed["tmp_path"] / "new" / "escalation-agent.db"
    assert database_status(fresh) == "not created yet: the agent creates it when it first starts"
    assert not fresh.parent.exists()


def test_a_database_of_an_older_version_or_none_at_all_is_one_sentence(installed):
    import sqlite3

    database = installed["state"] / "escalation-agent.db"
    conn = sqlite3.connect(database, isolation_level=None)
    last = conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid DESC LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", [last])
    conn.close()
    result = _run(installed, "status")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: the state database {database} is from an older version (1 schema change(s) to apply): "
        "start the agent, which upgrades it\n"
    )
    assert database_status(database) == "ok (1 schema change(s) to apply when the agent starts)"
    database.write_bytes(b"this is not a database" * 100)
    result = _run(installed, "show", "1")
    assert result.exit_code == 1 and result.output.startswith(f"Error: cannot open the state database {database}: ")
