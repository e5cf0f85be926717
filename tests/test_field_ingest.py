"""The field corpus through ingest, against a real SQLite file (no servers): an out-of-office never stops the ladder,
a person's reply through an Exchange list does, and a bounce in any format is told and never a response."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.reading.folder import Fetched
from agent.engine.ingest import ingest
from support import OFFLINE_CONFIG, incident_row, notice_rows

CORPUS = Path(__file__).parent / "corpus" / "field"
NOW = datetime(2026, 11, 25, 11, 50, tzinfo=UTC)
CONFIG = OFFLINE_CONFIG
T1 = (
    b"From: Alice Engineer <alice@partner.test>\r\nTo: urgent@vendor.test\r\n"
    b"Cc: watch@partner.test, bob@partner.test\r\n"
    b"Subject: Incentives API: all requests fail with F500\r\nDate: Wed, 25 Nov 2026 11:15:38 +0000\r\n"
    b"Message-ID: <t1-field@partner.test>\r\nContent-Type: text/plain\r\n\r\nEvery request fails with F500.\r\n"
)
OUT_OF_OFFICE = [
    "oof_exchange_en.eml",
    "oof_exchange_de.eml",
    "oof_exchange_fr.eml",
    "oof_exchange_es.eml",
    "oof_exchange_it.eml",
    "oof_exchange_ja.eml",
    "auto_gmail_vacation.eml",
    "auto_icloud_vacation.eml",
]
BOUNCES = [
    "bounce_exchange_ndr.eml",
    "bounce_exchange_online.eml",
    "bounce_qmail.eml",
    "bounce_postfix.eml",
    "bounce_exim.eml",
    "bounce_gmail.eml",
    "bounce_yahoo.eml",
]


@pytest.fixture
def env(tmp_path: Path):
    (tmp_path / "config.ini").write_text(CONFIG)
    cfg = load(tmp_path / "config.ini")
    store = Store(cfg.agent.database)
    seen = ingest(store, fetched(T1, 1), cfg, NOW - timedelta(minutes=30))
    yield cfg, store, seen.classification.incident_id
    store.close()


def fetched(data: bytes, uid: int) -> Fetched:
    return Fetched("INBOX", uid, 1, data, NOW, len(data))


def test_no_out_of_office_in_any_language_stops_the_ladder(env):
    cfg, store, incident_id = env
    for uid, name in enumerate(OUT_OF_OFFICE, start=2):
        seen = ingest(store, fetched((CORPUS / name).read_bytes(), uid), cfg, NOW)
        assert (seen.classification.kind, seen.classification.incident_id) == ("auto_reply", incident_id), name
    assert incident_row(store, incident_id)["state"] == "awaiting_response"
    # A person's reply through an Exchange list (X-Auto-Response-Suppress alone) does stop it.
    seen = ingest(store, fetched((CORPUS / "person_via_list.eml").read_bytes(), 99), cfg, NOW)
    assert seen.classification.kind == "response"
    assert incident_row(store, incident_id)["state"] == "responded"


@pytest.mark.parametrize("name", BOUNCES)
def test_a_bounce_of_the_t1_in_any_format_is_told_and_is_no_response(env, name):
    cfg, store, incident_id = env
    seen = ingest(store, fetched((CORPUS / name).read_bytes(), 2), cfg, NOW)
    assert (seen.classification.kind, seen.classification.incident_id) == ("bounce", incident_id)
    assert seen.classification.reason == "delivery failure for <t1-field@partner.test>"
    row = incident_row(store, incident_id)
    assert row["state"] == "awaiting_response" and row["delivery_failure"]
    assert [n["kind"] for n in notice_rows(store, incident_id)].count("t1_bounced") == 1
