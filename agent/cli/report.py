"""What `status` and `show` print: rows built from the store, as JSON-ready dicts and as text."""

import json
from dataclasses import asdict
from datetime import UTC, datetime

from agent.adapters.rows import IncidentRow, ThreadMessage
from agent.adapters.store import Store
from agent.core.procedure import items
from agent.core.procedure.policy import Decision, Incident, Reason, decide
from agent.core.reading.mail import in_domains
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import from_iso, gmt, iso
from agent.engine import evidence
from agent.engine.ladder import policy_of


def when(moment: datetime | None, now: datetime) -> str:
    """`in 4m 12s` / `3m 5s ago` / `-`: relative time for people at a terminal."""
    if moment is None:
        return "-"
    seconds = int((moment - now).total_seconds())
    text = _short(abs(seconds))
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def _short(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m}m" if h else f"{m}m {s}s" if m else f"{s}s"


def status_rows(store: Store, config: Config, now: datetime, *, everything: bool, drills: bool = False) -> list[dict]:
    rows = store.incident_rows(everything=everything, now=now, drills=drills)
    return [status_row(store, config, r, now) for r in rows]


def status_row(store: Store, config: Config, r: IncidentRow, now: datetime) -> dict:
    """One incident as `status` shows it, from its stored row."""
    incident = store.incident(r.id)
    d = decide(incident, policy_of(config, incident.drill), now, evidence.hold(store, config, incident))
    return dict(
        id=r.id,
        state=r.state,
        tier=int(incident.tier),
        subject=r.subject,
        t1_message_id=r.t1_message_id,
        t1_sender=r.t1_sender,
        t1_sent_at=r.t1_sent_at,
        next_deadline=iso(d.due_at),
        next_tier=_next(incident, d),
        decision=d.reason.value,
        state_changed_at=r.state_changed_at,
        hold_until=r.hold_until if d.reason == Reason.HELD else None,
        # [probe] hold_on_recovery: the next tier waits while the API answers again
        **({"api_hold": d.reason == Reason.API_ANSWERS} if config.probe is not None else {}),
        acknowledged_at=r.acknowledged_at,  # the vendor's case system's receipt: no person's answer
    )


def _next(incident: Incident, d: Decision) -> str | None:
    """What the next deadline is for: the next tier, or the notice that every tier was tried."""
    if d.due_at is None:
        return None
    return incident.next_tier.label if incident.next_tier else "exhausted notice"


def status_table(rows: list[dict], now: datetime) -> str:
    if not rows:
        return "No incidents awaiting a response, and none changed in the last 24 hours."
    table = [("ID", "STATE", "TIER", "NEXT", "SUBJECT")]
    for r in rows:
        nxt = f"{r['next_tier']} due {when(from_iso(r['next_deadline']), now)}" if r["next_deadline"] else "-"
        if r.get("hold_until"):
            until = from_iso(r["hold_until"])
            nxt = f"{r['next_tier']} on hold until {until.astimezone(UTC):%H:%M} GMT ({when(until, now)})"
        if r.get("api_hold"):
            nxt = f"{r['next_tier']} on hold: the API answers again"
        state = r["state"]
        if r.get("acknowledged_at") and state == "awaiting_response":
            state += f" (receipt {from_iso(r['acknowledged_at']).astimezone(UTC):%H:%M} GMT)"
        table.append((str(r["id"]), state, Tier(r["tier"]).label, nxt, r["subject"][:60]))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4] for row in table
    )


def incident_detail(store: Store, config: Config, incident_id: int, now: datetime) -> dict:
    """What `show` prints of one incident: its status row, then everything stored about it."""
    r = store.incident_record(incident_id)
    status = status_row(store, config, r, now)
    escalations = _escalations(store, incident_id)
    mails = store.thread_messages(incident_id)
    messages = [dict(asdict(m), recipients=json.loads(m.recipients)) for m in mails]
    outsiders = _outsiders(mails, config)
    found = json.loads(r.items or "{}")
    sop_items = [dict(key=i.key, label=i.label, value=found.get(i.key), required=i.required) for i in items.ITEMS]
    notices = _notices(store, incident_id)
    return dict(
        status,
        items=sop_items,
        missing_items=json.loads(r.missing_items or "[]"),
        marketplace=r.marketplace,
        case_ids=store.case_ids(incident_id),  # the vendor's, learned from its mail
        joined_t1s=[  # issue 21.4: later T1s about the same outage, and why they joined
            dict(
                message_id=j.message_id,
                sender=j.sender,
                subject=j.subject,
                sent_at=j.sent_at,
                reason=j.reason,
                joined_at=j.joined_at,
            )
            for j in store.joined_t1s(incident_id)
        ],
        misroute=r.misroute,
        delivery_failure=r.delivery_failure,
        notices=notices,
        t1_sent_at_source=r.t1_sent_at_source,
        t1_recipients=json.loads(r.t1_recipients),
        opened_at=r.opened_at,
        note=r.note,
        response_message_id=r.response_message_id,
        acknowledged_by=r.acknowledged_by,
        t1_text=r.t1_text,
        escalations=escalations,
        messages=messages,
        outsiders=outsiders,
        events=[dict(at=e.at, kind=e.kind, detail=e.detail, reason=e.reason) for e in store.audit_events(incident_id)],
        **({"probes": _probes(store, config, r)} if config.probe is not None else {}),  # [probe]: the API check
    )


def _escalations(store: Store, incident_id: int) -> list[dict]:
    """The incident's escalation rows as `show` prints them, each with its mail as composed."""
    return [
        dict(
            tier=e.tier,
            status=e.status,
            message_id=e.message_id,
            decided_at=e.decided_at,
            due_at=e.due_at,
            sent_at=e.sent_at,
            confirmed_at=e.confirmed_at,
            attempts=e.attempts,
            last_error=e.last_error,
            recipients=json.loads(e.recipients) if e.recipients else None,
            mail=e.raw.decode("utf-8", "replace") if e.raw else None,
        )
        for e in store.escalations(incident_id)
    ]


def _outsiders(messages: list[ThreadMessage], config: Config) -> list[str]:
    """People in the thread who are neither ours nor the vendor's: a responder domain missing from the config?"""
    known = config.escalation.internal_domains + config.escalation.responder_domains
    return sorted(
        {
            m.sender
            for m in messages
            if m.kind == "in_thread" and m.sender and not m.automatic and not in_domains(m.sender, known)
        }
    )


def _notices(store: Store, incident_id: int) -> list[dict]:
    """The incident's notices as `show` prints them."""
    return [
        dict(
            kind=n.kind,
            status=n.status,
            message_id=n.message_id,
            sent_at=n.sent_at,
            recipients=json.loads(n.recipients),
            last_error=n.last_error,
        )
        for n in store.notices(incident_id)
    ]


def _probes(store: Store, config: Config, r: IncidentRow) -> list[dict]:
    """[probe]: the API check's runs since the T1."""
    runs = evidence.runs_for(store, from_iso(r.t1_sent_at))
    return [dict(at=iso(run.at), ok=run.ok, evidence=run.evidence) for run in runs]


def incident_text(d: dict) -> str:
    lines = [
        f"Incident {d['id']}: {d['subject']}",
        f"  state       {d['state']} (highest tier contacted: {Tier(d['tier']).label})",
        f"  T1          {d['t1_message_id']} from {d['t1_sender']}, sent {d['t1_sent_at']} ({d['t1_sent_at_source']})",
        f"  next        {d['next_tier'] + ' due ' + d['next_deadline'] if d['next_deadline'] else '-'}"
        f" ({d['decision']})",
    ]
    if d["note"]:
        lines.append(f"  note        {d['note']}")
    if d.get("hold_until"):
        lines.append(f"  hold        the next escalation waits until {d['hold_until']}")
    if d["case_ids"]:
        lines.append(f"  vendor case {', '.join(d['case_ids'])}")
    if d.get("acknowledged_at"):
        lines.append(
            f"  receipt     acknowledged by the vendor's system at {gmt(from_iso(d['acknowledged_at']))}"
            f" ({d['acknowledged_by']}): a receipt, no person's answer"
        )
    for j in d["joined_t1s"]:  # issue 21.4
        lines.append(f"  joined T1   {j['message_id']} from {j['sender']}, sent {j['sent_at']}: {j['reason']}")
    for key, text in (("marketplace", "marketplace"), ("misroute", "misrouted"), ("delivery_failure", "T1 bounced")):
        if d[key]:
            lines.append(f"  {text:<11} {d[key]}")
    if d["outsiders"]:
        lines.append(
            f"  outsiders   {', '.join(d['outsiders'])}: wrote in the thread, neither internal nor in "
            "responder_domains, so not a response"
        )
    lines += ["", "SOP items (from the T1):"]
    width = max(len(i["label"]) for i in d["items"]) + 1
    for i in d["items"]:
        value = i["value"] or ("MISSING" if i["key"] in d["missing_items"] else "-")
        lines.append(f"  {i['label'] + ':':<{width}} {value}")
    lines += ["", "Escalations:"]
    for e in d["escalations"] or []:
        lines.append(
            f"  {Tier(e['tier']).label} {e['status']:<9} {e['message_id']} sent {e['sent_at'] or '-'} "
            f"attempts {e['attempts']}" + (f" last error: {e['last_error']}" if e["last_error"] else "")
        )
    if not d["escalations"]:
        lines.append("  none")
    for n in d["notices"]:
        lines.append(f"  notice {n['kind']}: {n['status']} to {', '.join(n['recipients'])}")
    lines += ["", "Timeline:"]
    for e in d["events"]:
        reason = f"  [{e['reason']}]" if e["reason"] else ""
        lines.append(f"  {e['at']}  {e['kind']:<20} {e['detail']}{reason}")
    if d.get("probes") is not None:
        lines += ["", f"API check ({len(d['probes'])} runs since the T1):"]
        lines += [f"  {p['at']}  {'pass' if p['ok'] else 'FAIL'}  {p['evidence']}" for p in d["probes"]]
    return "\n".join(lines)
