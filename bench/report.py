"""How long `escalation-agent report` takes over N synthetic incidents (default 1,000 over 90 days, each with its T1,
a T2 and sometimes a T3, the vendor's answer, a command now and then, about ten chained audit events, and a probe
result every 10 minutes), and the export too. Prints each stage and one JSON line.

    .venv/bin/python bench/report.py [N] [--all]

The stages: reading the period in one snapshot with `audit verify` over the whole chain (`gather`), the page with
the default 50 incident pictures, the page with 200 pictures (`--all`: every incident drawn, as `--pictures N`
would), the JSON and CSV exports."""

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.adapters.records import Records  # noqa: E402
from agent.adapters.store import Store  # noqa: E402
from agent.cli import audit_export, charts, review  # noqa: E402
from agent.core.story.timeline import Windows
from agent.core.times import iso  # noqa: E402

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
WINDOWS = Windows(timedelta(minutes=30), timedelta(minutes=30))


def fill(path: Path, count: int) -> None:
    rng = random.Random(25)
    store = Store(path)
    with store.transaction():
        store.db.execute("CREATE TABLE probe_results (id INTEGER PRIMARY KEY, at TEXT, ok INTEGER, evidence TEXT)")
        start = NOW - timedelta(days=90)
        store.db.conn.executemany(
            "INSERT INTO probe_results (at, ok, evidence) VALUES (?, ?, ?)",
            [(iso(start + timedelta(minutes=10 * k)), int(rng.random() > 0.2), "F500") for k in range(90 * 144)],
        )
        for n in range(1, count + 1):
            t1 = start + timedelta(minutes=rng.uniform(0, 90 * 1440 - 600))
            wait = timedelta(minutes=rng.lognormvariate(3.3, 1.0))
            _incident(store, n, t1, wait, rng)
    store.close()


def _incident(store: Store, n: int, t1: datetime, wait: timedelta, rng: random.Random) -> None:
    store.db.execute(
        "INSERT INTO incidents (id, state, subject, subject_key, t1_message_id, t1_sender, t1_recipients, "
        "participants, "
        "t1_sent_at, t1_sent_at_source, t1_references, t1_text, t1_raw, opened_at, state_changed_at) VALUES "
        "(?, 'responded', ?, ?, ?, 'alice@partner.test', '[]', '[]', ?, 'date', '', 'the T1', x'00', ?, ?)",
        [
            n,
            f"Incentives API outage {n}: F500",
            f"incentives api outage {n}",
            f"<t1-{n}@partner.test>",
            iso(t1),
            iso(t1),
            iso(t1 + wait),
        ],
    )
    store.event(t1, "incident_opened", f"T1 {n}", n, "alice@partner.test wrote to the T1 address")
    store.event(t1, "decision", "wait", n, "window still open")
    for tier, due in ((2, t1 + timedelta(minutes=30)), (3, t1 + timedelta(minutes=60))):
        if wait > due - t1:
            sent = due + timedelta(seconds=rng.uniform(0, 4))
            store.db.execute(
                "INSERT INTO escalations (incident_id, tier, message_id, status, decided_at, due_at, sent_at) "
                "VALUES (?, ?, ?, 'sent', ?, ?, ?)",
                [n, tier, f"<t{tier}-{n}@partner.test>", iso(due), iso(due), iso(sent)],
            )
            store.event(due, "escalation_decided", f"T{tier}", n, "no response within the window")
            store.event(sent, "sent", f"T{tier} accepted", n, "the SMTP server accepted it")
            store.event(sent, "confirmed", f"T{tier} seen", n, "the CC copy came back")
    if rng.random() < 0.3:
        store.event(t1 + wait / 2, "command", "#hold 30m from bob@partner.test", n, "held")
    store.db.execute(
        "INSERT INTO messages (message_id, folder, uid, uidvalidity, sender, recipients, subject, date, internaldate, "
        "in_reply_to, refs, size, kind, reason, incident_id, seen_at) VALUES (?, 'INBOX', ?, 1, 'jane@vendor.test', "
        "'[]', 'RE', ?, ?, '', '', 100, 'response', 'reply', ?, ?)",
        [f"<a-{n}@vendor.test>", n, iso(t1 + wait), iso(t1 + wait), n, iso(t1 + wait)],
    )
    store.event(t1 + wait, "responded", f"response <a-{n}@vendor.test>", n, "reply from jane@vendor.test")


def timed(key: str, what: str, fn):
    """Wall time (what a person waits) and this process's CPU time (the same on an idle machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{what:<44} {seconds:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    CPU[key] = round(cpu, 2)
    return value, seconds


CPU: dict[str, float] = {}


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    count = int(numbers[0]) if numbers else 1000
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "state.db"
        _, fill_s = timed("fill", f"fill {count} incidents", lambda: fill(path, count))
        records = Records.open(path)
        since = NOW - timedelta(days=90)
        found, gather_s = timed(
            "gather",
            "gather: read the period + audit verify",
            lambda: review.gather(records, lambda d: WINDOWS, since, NOW),
        )
        records.close()
        events = len(found.tables["events"])
        html, page_s = timed(
            "page_50", "page, 50 incident pictures (the default)", lambda: review.page(found, charts, 50)
        )
        drawn = count if "--all" in sys.argv else min(count, 200)
        every, every_s = timed(
            "page_more", f"page, {drawn} incident pictures", lambda: review.page(found, charts, drawn)
        )
        _, json_s = timed("json", "export --format json", lambda: audit_export.as_json(found))
        _, zip_s = timed("csv", "export --format csv (zip)", lambda: audit_export.as_zip(found))
    print(
        json.dumps(
            dict(
                incidents=len(found.timelines),
                events=events,
                verify_ok=found.verdict.ok,
                gather_s=round(gather_s, 2),
                report_s=round(gather_s + page_s, 2),
                pictures=drawn,
                report_pictures_s=round(gather_s + every_s, 2),
                page_mb=round(len(html) / 1e6, 2),
                page_pictures_mb=round(len(every) / 1e6, 2),
                export_json_s=round(gather_s + json_s, 2),
                export_csv_s=round(gather_s + zip_s, 2),
                fill_s=round(fill_s, 1),
                cpu_s=CPU,
            )
        )
    )


if __name__ == "__main__":
    main()
