"""`report` and `export --format csv|json` over a database written with literal rows (no servers): the period and
what is left out, the read-only open, the audit state on the page and in the export, escaping, no external resource.
tests/test_report_real.py builds them from a database a real agent wrote, and checks the page in Chromium."""

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.adapters.records import Records
from agent.adapters.sqlite import sqlite3
from agent.adapters.store import Store
from agent.cli import audit_export, charts, cli, review
from agent.core.errors import StoreError
from agent.core.story.timeline import Windows
from agent.core.times import iso

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
WINDOWS = Windows(timedelta(minutes=30), timedelta(minutes=30))


def _incident(store: Store, subject: str, t1: datetime, state: str = "awaiting_response", drill: int = 0) -> int:
    n = store.db.execute("SELECT count(*) FROM incidents").fetchone()[0] + 1
    store.db.execute(
        "INSERT INTO incidents (state, subject, subject_key, t1_message_id, t1_sender, t1_recipients, participants, "
        "t1_sent_at, t1_sent_at_source, t1_references, t1_text, t1_raw, opened_at, state_changed_at, drill) "
        "VALUES (?, ?, ?, ?, 'alice@partner.test', '[]', '[]', ?, 'date', '', 'the T1', x'00', ?, ?, ?)",
        [
            state,
            subject,
            subject.lower(),
            f"<t1-{n}@partner.test>",
            iso(t1),
            iso(t1),
            iso(t1 + timedelta(hours=1)),
            drill,
        ],
    )
    store.event(
        t1 + timedelta(seconds=1), "incident_opened", f"T1 {n}", n, "alice@partner.test wrote to the T1 address"
    )
    return n


def seeded(path) -> None:
    """1: answered after its T2 (a hostile subject); 2: a drill; 3: stale; 4: older than the period; 5: open."""
    store = Store(path)
    t1 = NOW - timedelta(days=3)
    one = _incident(store, 'F500 <script>alert(1)</script> see <a href="https://evil.test">', t1, "responded")
    store.db.execute(
        "INSERT INTO escalations (incident_id, tier, message_id, status, decided_at, due_at, sent_at, recipients) "
        "VALUES (?, 2, '<t2@partner.test>', 'sent', ?, ?, ?, '[\"t2@vendor.test\"]')",
        [
            one,
            iso(t1 + timedelta(minutes=30)),
            iso(t1 + timedelta(minutes=30)),
            iso(t1 + timedelta(minutes=30, seconds=2)),
        ],
    )
    store.db.execute(
        "INSERT INTO messages (message_id, folder, uid, uidvalidity, sender, recipients, subject, date, internaldate, "
        "in_reply_to, refs, size, kind, reason, incident_id, seen_at) VALUES ('<a@vendor.test>', 'INBOX', 9, 1, "
        "'jane@vendor.test', '[]', 'RE: F500', ?, ?, '', '', 100, 'response', 'reply from jane@vendor.test', ?, ?)",
        [iso(t1 + timedelta(minutes=41)), iso(t1 + timedelta(minutes=41)), one, iso(t1 + timedelta(minutes=42))],
    )
    store.event(t1 + timedelta(minutes=42), "responded", "response <a@vendor.test>", one, "reply")
    _incident(store, "drill", t1, drill=1)
    _incident(store, "old news", t1, "stale")
    _incident(store, "last year", NOW - timedelta(days=400), "responded")
    _incident(store, "Payouts: 503", NOW - timedelta(hours=2))
    store.event(NOW - timedelta(hours=1), "blind", "the mailbox could not be read", None, "alarm")
    store.close()


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "escalation-agent.db"
    seeded(path)
    return path


def _review(path, **kwargs):
    records = Records.open(path)
    try:
        return review.gather(records, lambda drill: WINDOWS, NOW - timedelta(days=90), NOW, **kwargs)
    finally:
        records.close()


def test_the_period_leaves_out_drills_stale_and_older_incidents_unless_asked(database):
    assert [t.subject[:4] for t in _review(database).timelines] == ["F500", "Payo"]
    asked = _review(database, drills=True, stale=True)
    assert sorted(t.id for t in asked.timelines) == [1, 2, 3, 5]
    [answered] = [t for t in asked.timelines if t.id == 1]
    assert answered.to_answer == timedelta(minutes=41) and answered.tier_at_answer == 2


def test_the_records_are_read_only_and_a_missing_file_is_one_sentence(database, tmp_path):
    records = Records.open(database)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        records.db.execute("INSERT INTO events (at, kind, detail) VALUES ('x', 'forged', 'x')")
    records.close()
    with pytest.raises(StoreError, match=r"does not exist yet: the agent creates it when it first starts"):
        Records.open(tmp_path / "nothing.db")


def test_a_report_leaves_no_wal_or_shm_behind_when_no_agent_runs(database, tmp_path):
    """A reader's -wal/-shm made as root would lock the service out; one without write access could not read."""
    for extra in ("-wal", "-shm"):
        Path(f"{database}{extra}").unlink(missing_ok=True)
    Records.open(database).close()
    assert not Path(f"{database}-wal").exists() and not Path(f"{database}-shm").exists()


def test_probe_results_are_read_from_a_probe_table_when_there_is_one(database):
    assert Records.open(database).probes(None) == []
    conn = sqlite3.connect(database)
    conn.execute("CREATE TABLE probe_results (id INTEGER PRIMARY KEY, at TEXT, ok INTEGER, evidence TEXT)")
    conn.executemany(
        "INSERT INTO probe_results (at, ok, evidence) VALUES (?, ?, ?)",
        [(iso(NOW - timedelta(hours=2)), 0, "F500 GeneralError"), (iso(NOW - timedelta(minutes=5)), 1, "200")],
    )
    conn.commit()
    conn.close()
    assert [(p["ok"], p["evidence"]) for p in Records.open(database).probes(NOW - timedelta(hours=3))] == [
        (False, "F500 GeneralError"),
        (True, "200"),
    ]
    [_, open_one] = _review(database).timelines
    assert [m.tone.value for m in open_one.marks if m.lane.value == "API check"] == ["probe_fail", "probe_ok"]


def test_the_page_carries_the_audit_state_escapes_mail_text_and_loads_nothing(database):
    found = _review(database)
    html = review.page(found, charts)
    assert found.verdict.ok and found.head and len(found.head) == 64
    assert f'Chain head: <span class="hash">{found.head}</span>' in html and "PASSED" in html
    assert "<script" not in html.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert 'href="https://evil.test"' not in html
    images = re.findall(r'<img class="chart" alt="[^"]*" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+">', html)
    assert len(images) == 2 + 2  # the two charts over time, one picture per incident
    assert 'id="incident-1"' in html and 'href="#incident-1"' in html
    assert "drills and stale incidents left out" in html


def test_only_the_latest_incidents_get_a_picture_when_asked_for_fewer(database):
    html = review.page(_review(database), charts, pictures=1)
    assert 'id="incident-5"' in html and 'id="incident-1"' not in html
    assert "The latest 1 of 2 incidents are drawn" in html


def test_a_broken_chain_shows_on_the_page(database):
    conn = sqlite3.connect(database)
    conn.execute("DROP TRIGGER events_no_update")  # what someone with the file, not SQL through the agent, could do
    conn.execute("UPDATE events SET detail = 'nothing happened' WHERE id = 2")
    conn.commit()
    conn.close()
    found = _review(database)
    html = review.page(found, charts, pictures=0)
    assert not found.verdict.ok and "FAILED" in html and "event 2 does not match the hash chain" in html


def test_export_json_and_csv_agree_and_carry_the_head_hash(database):
    found = _review(database)
    document = json.loads(audit_export.as_json(found))
    assert document["audit"]["head_hash"] == found.head and document["audit"]["audit_verify"] == "passed"
    assert [i["id"] for i in document["incidents"]] == [1, 5]
    assert document["incidents"][0]["seconds_to_first_human_answer"] == 41 * 60
    assert {e["kind"] for e in document["events"]} >= {"incident_opened", "responded", "blind"}  # blind: the agent's
    assert all(e["incident_id"] in (1, 5, None) for e in document["events"])
    assert [m["sender"] for m in document["mails"]] == ["jane@vendor.test"]

    archive = zipfile.ZipFile(io.BytesIO(audit_export.as_zip(found)))
    assert sorted(archive.namelist()) == ["audit.csv", "escalations.csv", "events.csv", "incidents.csv", "mails.csv"]
    audit = {r["key"]: r["value"] for r in csv.DictReader(io.StringIO(archive.read("audit.csv").decode("utf-8-sig")))}
    assert audit["head_hash"] == found.head and audit["audit_verify"] == "passed"
    for name in ("incidents.csv", "escalations.csv", "mails.csv", "events.csv"):
        assert audit[f"sha256 {name}"] == hashlib.sha256(archive.read(name)).hexdigest()
    incidents = list(csv.DictReader(io.StringIO(archive.read("incidents.csv").decode("utf-8-sig"))))
    assert [(r["id"], r["subject"][:4]) for r in incidents] == [("1", "F500"), ("5", "Payo")]


def test_the_commands_read_no_secret_and_write_nothing(database, tmp_path):
    config = tmp_path / "config.ini"
    config.write_text(
        "[imap]\nhost = imap.partner.test\nusername = watch@partner.test\npassword_file = /nonexistent/imap\n"
        "[smtp]\nhost = smtp.partner.test\nfrom_address = agent@partner.test\nusername = agent\n"
        "password_file = /nonexistent/smtp\n[escalation]\nresponder_domains = vendor.test\n"
        f"internal_domains = partner.test\n[agent]\ndatabase = {database}\n"
    )
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    runner = CliRunner()
    out = tmp_path / "report.html"
    done = runner.invoke(cli, ["-c", str(config), "report", "--since", "all", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "report of 3 incident(s)" in done.output and "audit verify passed" in done.output
    assert "last year" in out.read_text()
    exported = runner.invoke(cli, ["-c", str(config), "export", "--format", "json", "--drills"])
    assert exported.exit_code == 0, exported.output
    assert [i["id"] for i in json.loads(exported.output)["incidents"]] == [1, 2, 5]
    refused = runner.invoke(cli, ["-c", str(config), "export", "--format", "csv"])
    assert refused.exit_code == 1 and "give --out FILE.zip" in refused.output
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_an_empty_period_still_has_its_charts_headers_and_audit_state(tmp_path):
    path = tmp_path / "empty.db"
    Store(path).close()
    found = _review(path)
    html = review.page(found, charts)
    assert "none (no event yet)" in html and "None in this period." in html
    assert html.count('<img class="chart"') == 2
    archive = zipfile.ZipFile(io.BytesIO(audit_export.as_zip(found)))
    header = archive.read("incidents.csv").decode("utf-8-sig").splitlines()
    assert header[0].startswith("id,state,subject,") and header[0].endswith(",outcome") and len(header) == 1


def test_an_unwritable_out_is_one_sentence(database, tmp_path):
    config = tmp_path / "config.ini"
    config.write_text(
        "[imap]\nhost = imap.partner.test\nusername = watch@partner.test\npassword = x\n"
        "[smtp]\nhost = smtp.partner.test\nfrom_address = agent@partner.test\n"
        "[escalation]\nresponder_domains = vendor.test\ninternal_domains = partner.test\n"
        f"[agent]\ndatabase = {database}\n"
    )
    done = CliRunner().invoke(cli, ["-c", str(config), "report", "--out", str(tmp_path / "no" / "such" / "r.html")])
    assert done.exit_code == 1 and "cannot write" in done.output and "No such file or directory" in done.output
    assert "Traceback" not in done.output
