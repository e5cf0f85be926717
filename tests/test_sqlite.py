"""Every connection to the database uses a SQLite without the WAL-reset bug (3.7.0-3.51.2, fixed in 3.51.3):
the daemon's, the CLI's and Datasette's; `check` and `status --agent` say which one."""

import json

import pytest
import sqlite_utils.utils

from agent.adapters import sqlite
from agent.adapters.store import Store
from support import OFFLINE_CONFIG, agent_command


@pytest.mark.parametrize(
    "version, fixed",
    [
        ("3.40.1", False),  # Debian 12's, which Python's own sqlite3 links here
        ("3.51.2", False),
        ("3.51.3", True),
        ("3.53.4", True),
        ("3.44.5", False),
        ("3.44.6", True),  # the backports
        ("3.50.6", False),
        ("3.50.7", True),
        ("3.7.0", False),
    ],
)
def test_which_versions_have_the_fix(version, fixed):
    assert sqlite.has_wal_reset_fix(version) is fixed


def test_the_store_opens_the_database_with_a_fixed_sqlite(tmp_path):
    store = Store(tmp_path / "state.db")
    try:
        [(version,)] = store.db.execute("select sqlite_version()").fetchall()
    finally:
        store.close()
    assert sqlite.has_wal_reset_fix(version), version


def test_sqlite_utils_and_datasette_use_the_same_fixed_sqlite():
    from datasette.utils import sqlite as datasette_sqlite

    assert sqlite.has_wal_reset_fix(sqlite_utils.utils.sqlite3.sqlite_version)
    assert datasette_sqlite.sqlite_version() >= sqlite.FIXED
    assert sqlite_utils.utils.OperationalError is sqlite.OperationalError  # one family of errors to catch


def test_check_and_status_agent_name_the_sqlite_in_use(tmp_path):
    config = tmp_path / "config.ini"
    config.write_text(OFFLINE_CONFIG + f"\n[agent]\ndatabase = {tmp_path / 'state.db'}\n")
    Store(tmp_path / "state.db").close()  # as the agent leaves it (check and status create no database)
    checked = agent_command(config, "check")  # no IMAP server here: the database line comes first all the same
    assert f"SQLite {sqlite.version} (pysqlite3)" in checked.stdout, checked.stdout + checked.stderr
    health = json.loads(agent_command(config, "status", "--agent", "--json").stdout)
    assert health["sqlite"] == dict(version=sqlite.version, library="pysqlite3", wal_reset_fix=True)
    assert f"database: SQLite {sqlite.version}" in agent_command(config, "status", "--agent").stdout
