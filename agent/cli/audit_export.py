"""`export --format csv|json`: the incidents, escalations, mails and events of a period for auditors, with the audit
chain's head hash and `audit verify`'s result at the time of the export, all read in one snapshot.

JSON is one document. CSV is one zip: a file per table plus `audit.csv` (the head hash, the verdict, the period and
the SHA-256 of every other file), so the tables travel together and their integrity can be checked."""

import csv
import hashlib
import io
import json
import zipfile

from agent.adapters.records import COLUMNS
from agent.cli.review import Review
from agent.core.story.timeline import Timeline
from agent.core.times import iso

TABLES = ("incidents", "escalations", "mails", "events")


def _derived(t: Timeline) -> dict:
    """What the report computes per incident, so the export and the page agree."""
    return dict(
        highest_tier=t.highest_tier,
        first_human_answer_at=iso(t.answered_at),
        first_human_answer_by=t.answered_by,
        seconds_to_first_human_answer=None if t.to_answer is None else round(t.to_answer.total_seconds(), 3),
        tier_at_first_answer=t.tier_at_answer,
        outcome=t.outcome,
    )


def tables(review: Review) -> dict[str, list[dict]]:
    derived = {t.id: _derived(t) for t in review.timelines}
    out = dict(review.tables)
    out["incidents"] = [dict(r, **derived[r["id"]]) for r in review.tables["incidents"]]
    return out


def audit_state(review: Review) -> dict:
    v = review.verdict
    return dict(
        generated_at=iso(review.now),
        since=iso(review.since),
        until=iso(review.now),
        drills_included=review.drills,
        stale_included=review.stale,
        head_hash=review.head,
        audit_verify="passed" if v.ok else "failed",
        audit_verify_says=v.sentence(),
        events_checked=v.events,
    )


def as_json(review: Review) -> str:
    return json.dumps(dict(audit=audit_state(review), **tables(review)), indent=2, ensure_ascii=False) + "\n"


DERIVED = (  # the columns `_derived` adds to each incident
    "highest_tier",
    "first_human_answer_at",
    "first_human_answer_by",
    "seconds_to_first_human_answer",
    "tier_at_first_answer",
    "outcome",
)


def _csv(rows: list[dict], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")  # RFC 4180, as spreadsheets read it
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def as_zip(review: Review) -> bytes:
    headers = dict(COLUMNS, incidents=COLUMNS["incidents"] + DERIVED)  # a table without rows keeps its header
    files = {f"{name}.csv": _csv(rows, headers[name]) for name, rows in tables(review).items()}
    state = audit_state(review)
    state.update({f"sha256 {name}": hashlib.sha256(data).hexdigest() for name, data in files.items()})
    files["audit.csv"] = _csv([dict(key=k, value="" if v is None else v) for k, v in state.items()], ("key", "value"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name, review.now.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
