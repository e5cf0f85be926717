"""The store's typed rows (agent/adapters/rows.py) name every column of their table, in the table's order: the dict
forms cli/report.py reads keep the keys they had, and a column a migration adds cannot be forgotten here."""

from dataclasses import fields

import pytest

from agent.adapters import rows
from agent.adapters.store import Store
from agent.core.errors import StoreError


@pytest.mark.parametrize(
    "table, row",
    [
        ("incidents", rows.IncidentRow),
        ("escalations", rows.EscalationRow),
        ("notices", rows.NoticeRow),
        ("alarms", rows.AlarmRow),
        ("messages", rows.MessageRow),
        ("events", rows.EventRow),
        ("joined_t1s", rows.JoinedRow),
    ],
)
def test_a_row_names_every_column_of_its_table_in_order(tmp_path, table, row):
    store = Store(tmp_path / "state.db")
    columns = [c[1] for c in store.db.execute(f"PRAGMA table_info({table})")]
    store.close()
    assert [f.name for f in fields(row)] == columns


def test_a_column_the_row_does_not_name_is_refused_in_one_sentence(tmp_path):
    store = Store(tmp_path / "state.db")
    with pytest.raises(StoreError, match=r"columns this version does not know \(unknown_column\)"):
        rows.typed(rows.JoinedRow, store.db.execute("SELECT 1 AS id, 2 AS unknown_column"))
    store.close()
