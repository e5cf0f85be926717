"""The auditors' Datasette: canned queries that read as sentences, on a database the agent's own code wrote."""

import asyncio
import json
import re
from datetime import UTC, datetime

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.deciding.effect import NewIncident
from agent.core.procedure.policy import State
from agent.engine import ladder
from support import REPO

NOW = datetime(2026, 12, 1, 11, 15, tzinfo=UTC)
METADATA = json.loads((REPO / "datasette" / "metadata.json").read_text())
QUERIES = METADATA["databases"]["escalation-agent"]["queries"]

CONFIG = """
[imap]
host = imap.partner.test
username = watch@partner.test
password = unused
[smtp]
host = smtp.partner.test
from_address = watch@partner.test
[escalation]
internal_domains = partner.test
[agent]
database = escalation-agent.db
"""


def test_no_description_shows_a_parameter_or_the_agents_internals():
    for name, query in QUERIES.items():
        text = query["description"]
        assert not re.search(r":[a-z_]+\b", text), (name, text)  # a literal :id means nothing to a reader
        assert not re.search(r"\b(tier|due)=|\bNone\b|<=", text), (name, text)


def test_open_incidents_says_the_latest_decision_as_a_sentence(tmp_path):
    path = tmp_path / "config.ini"
    path.write_text(CONFIG)
    path.chmod(0o600)
    cfg = load(path)
    store = Store(cfg.agent.database)
    incident = NewIncident(
        State.AWAITING_RESPONSE,
        "Incentives API: all requests fail with F500",
        "<t1@partner.test>",
        "alice@partner.test",
        ("amazon-agcod-partner-urgent@amazon.com", "watch@partner.test"),
        ("alice@partner.test",),
        NOW,
        "date",
        (),
        "",
        b"",
    )
    with store.transaction():
        store.add_incident(incident, NOW)
    ladder.decisions(store, cfg, NOW)  # the window is open: wait
    ladder.decisions(store, cfg, NOW.replace(minute=46))  # past it: the T2 is due
    store.close()

    async def fetch():
        from datasette.app import Datasette

        ds = Datasette([str(cfg.agent.database)], metadata=METADATA)
        await ds.invoke_startup()
        response = await ds.client.get("/escalation-agent/open_incidents.json?_shape=array")
        assert response.status_code == 200, response.text[:300]
        return response.json()

    [row] = asyncio.run(fetch())
    assert row["decision"] == "no response within the T2 window: send T2 (due 11:45:00 GMT on Tue 01 Dec 2026)"
    assert "last_decision" not in row and "tier=" not in json.dumps(row)
