"""`report`: the auditors' page. One self-contained HTML file (no script, no external resource) with the audit
state, the vendor's answers over time, a table of the incidents and each incident's timeline picture.

The rows are read in one read-only snapshot (`Records`), turned into timelines by the pure `core.timeline`, drawn
by `cli.charts` and escaped here: every text from a mail goes through `html.escape`."""

import base64
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from agent.adapters.records import Records
from agent.core.story.timeline import Timeline, Windows, timeline
from agent.core.story.trend import Month, months, short
from agent.core.times import from_iso, iso
from agent.engine import audit
from agent.engine.audit import Verdict


@dataclass(frozen=True)
class Review:
    """What a report or an export says, read in one snapshot."""

    since: datetime | None
    now: datetime
    timelines: list[Timeline]
    months: list[Month]
    verdict: Verdict
    head: str | None
    drills: bool
    stale: bool
    tables: dict[str, list[dict]]  # the rows as read: incidents, escalations, mails, events (for the export)


def gather(
    records: Records,
    windows: Callable[[bool], Windows],
    since: datetime | None,
    now: datetime,
    *,
    drills: bool = False,
    stale: bool = False,
) -> Review:
    """Every incident of the period as a timeline, with the audit chain's state, read in one snapshot.
    `windows(drill)`: the ladder's windows for a real incident or a drill."""
    with records.snapshot():
        verdict = audit.verify(records)
        incidents = records.incidents(since, drills=drills, stale=stale)
        ids = [r["id"] for r in incidents]
        escalations, messages, events = records.escalations(ids), records.messages(ids), records.events(ids)
        probes = records.probes(from_iso(incidents[0]["t1_sent_at"])) if incidents else []
        head = records.head()
        agent_events = records.agent_events(since)
    times = [p["at"] for p in probes]  # ISO text sorts as time: each incident takes its slice, not every probe

    def during(r: dict) -> list[dict]:
        end = now if r["state"] == "awaiting_response" else from_iso(r["state_changed_at"])
        return probes[bisect_left(times, r["t1_sent_at"]) : bisect_right(times, iso(end) or "")]

    timelines = [
        timeline(r, escalations[r["id"]], messages[r["id"]], events[r["id"]], during(r), windows(bool(r["drill"])))
        for r in incidents
    ]
    tables = dict(
        incidents=incidents,
        escalations=[e for i in ids for e in escalations[i]],
        mails=[m for i in ids for m in messages[i]],
        events=sorted([e for i in ids for e in events[i]] + agent_events, key=lambda e: e["id"]),
    )
    return Review(since, now, timelines, months(timelines), verdict, head, drills, stale, tables)


def one(records: Records, windows: Windows, incident_id: int) -> Timeline | None:
    """One incident's timeline (the Datasette plugin's picture): the same drawing as the report's."""
    row = records.incident(incident_id)
    if row is None:
        return None
    first = from_iso(row["t1_sent_at"])
    end = iso(from_iso(row["state_changed_at"]) if row["state"] != "awaiting_response" else None) or "9999"
    probes = [p for p in records.probes(first) if p["at"] <= end]
    ids = [incident_id]
    return timeline(
        row,
        records.escalations(ids)[incident_id],
        records.messages(ids)[incident_id],
        records.events(ids)[incident_id],
        probes,
        windows,
    )


CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1a1a1a;
background:#fff}
main{max-width:1100px;margin:0 auto;padding:16px;overflow-wrap:anywhere}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:0 0 .3em;overflow-wrap:anywhere}
.muted{color:#555}.ok{color:#05683f}.bad{color:#b00020}
.audit{border:2px solid #05683f;border-radius:6px;padding:10px 12px;background:#f3faf6}
.audit.broken{border-color:#b00020;background:#fdf2f3}
code,.hash{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
figure{margin:0}img.chart{display:block;width:100%;height:auto;max-width:100%}
.incident{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;border-top:1px solid #eee;padding:12px 0}
.incident figure{flex:1 1 560px;min-width:0}
.incident .facts{flex:0 1 260px;min-width:0;font-size:.9em;overflow-wrap:anywhere}
.incident .wait{font-size:1.4em;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.88em}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f5f5f5;overflow-wrap:normal}
@media (max-width:700px){
 table,thead,tbody,tr,th,td{display:block;width:100%}
 thead{display:none}
 tr{border:1px solid #ddd;border-radius:4px;margin:0 0 8px;padding:4px}
 td{border:0;padding:2px 4px}
 td::before{content:attr(data-label) ": ";font-weight:600}
 .incident figure,.incident .facts{flex-basis:100%}
}
"""


def page(review: Review, charts, pictures: int = 50) -> str:
    """The HTML of the report. `charts`: the drawing module (agent.cli.charts), passed in so that matplotlib is
    imported only when a report is built. `pictures`: how many incidents, the latest, get their own picture."""
    shown = review.timelines[-pictures:] if pictures > 0 else []
    pictured = {t.id for t in shown}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>escalation-agent report {_period(review)}</title><style>{CSS}</style></head><body><main>",
        "<h1>Escalations and the vendor's answers</h1>",
        f'<p class="muted">{_period(review)}. Built {escape(_utc(review.now))} from the agent\'s audit database, '
        f"read-only. {len(review.timelines)} incident(s){_left_out(review)}. All times UTC.</p>",
        _audit(review),
        "<h2>Over time</h2>",
        _img(
            charts.answers_svg(review.timelines, review.since, review.now),
            "Time from each T1 to the first human answer, by T1 date",
        ),
        _img(charts.months_svg(review.months), "Incidents per month, and how many needed the T2 and the T3"),
        _months_table(review.months),
        "<h2>Incidents</h2>",
        _table(review.timelines, pictured),
        "<h2>Each incident</h2>",
    ]
    if len(shown) < len(review.timelines):
        parts.append(
            f'<p class="muted">The latest {len(shown)} of {len(review.timelines)} incidents are drawn; the table above '
            "holds every one (`report --pictures N` draws more).</p>"
        )
    parts += [_incident(t, charts) for t in reversed(shown)]
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _utc(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "-"


def _period(review: Review) -> str:
    start = review.since.strftime("%Y-%m-%d") if review.since else "the first incident"
    return f"{start} to {review.now.strftime('%Y-%m-%d')}"


def _left_out(review: Review) -> str:
    out = [what for what, asked in (("drills", review.drills), ("stale incidents", review.stale)) if not asked]
    return f" ({' and '.join(out)} left out)" if out else ""


def _audit(review: Review) -> str:
    v = review.verdict
    head = escape(review.head or "none (no event yet)")
    state = "ok" if v.ok else "broken"
    return (
        f'<section class="audit {state}" id="audit"><strong>Audit state at {escape(_utc(review.now))}</strong><br>'
        f'Chain head: <span class="hash">{head}</span><br>'
        f'<code>audit verify</code>: <span class="{"ok" if v.ok else "bad"}">{"PASSED" if v.ok else "FAILED"}</span> '
        f"&mdash; {escape(v.sentence())}</section>"
    )


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode()).decode()
    return f'<figure><img class="chart" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}"></figure>'


def _months_table(rows: list[Month]) -> str:
    head = ("Month", "Incidents", "Answered", "T2 needed", "T3 needed", "Median time to first answer")
    body = [
        (m.month, str(m.incidents), str(m.answered), str(m.t2_needed), str(m.t3_needed), short(m.median_to_answer))
        for m in rows
    ]
    return _html_table(head, body)


def _table(timelines: list[Timeline], pictured: set[int]) -> str:
    head = ("ID", "T1 sent", "Subject", "Highest tier", "First human answer", "Windows", "Outcome")
    body = []
    for t in reversed(timelines):
        ident = f'<a href="#incident-{t.id}">{t.id}</a>' if t.id in pictured else str(t.id)
        late = ", ".join(f"T{tier} sent {short(delay)} after due" for tier, delay in t.late) or "-"
        body.append(
            (
                ident,
                escape(_utc(t.t1_at)),
                escape(t.subject) + (" (drill)" if t.drill else ""),
                f"T{t.highest_tier}",
                escape(short(t.to_answer)),
                escape(late),
                escape(t.outcome),
            )
        )
    return _html_table(head, body, escaped=True)


def _html_table(head: tuple[str, ...], body: Sequence[tuple[str, ...]], escaped: bool = False) -> str:
    if not body:
        return '<p class="muted">None in this period.</p>'
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in body:
        cells = (
            f'<td data-label="{escape(h)}">{c if escaped else escape(c)}</td>' for h, c in zip(head, row, strict=True)
        )
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _incident(t: Timeline, charts) -> str:
    answer = short(t.to_answer) if t.to_answer is not None else "no answer"
    alt = f"Incident {t.id}: timeline from the T1 at {_utc(t.t1_at)}; first human answer: {answer}"
    return (
        f'<section class="incident" id="incident-{t.id}">'
        f"{_img(charts.incident_svg(t), alt)}"
        f'<div class="facts"><h3>{t.id}: {escape(t.subject)}</h3>'
        f'<div class="muted">T1 sent {escape(_utc(t.t1_at))}</div>'
        f'<div>time to first human answer</div><div class="wait">{escape(answer)}</div>'
        f'<div class="muted">{escape(t.outcome)}</div></div></section>'
    )


def since_of(now: datetime, period: timedelta | None) -> datetime | None:
    return now - period if period else None
