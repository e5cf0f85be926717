"""What `status` says about the agent itself: the last good read of the mailbox, whether it is blind (and since
when, and why), and the heartbeat's last outcome. Read from the database, so another process (`status`) can say it;
`status --json` stays the contract's array of incidents: this is `status --agent [--json]`, and a line of text."""

from datetime import datetime, timedelta

from agent.adapters import selfwatch, sqlite
from agent.adapters.rows import EventRow
from agent.adapters.store import Store
from agent.cli.report import when
from agent.core.settings import Config
from agent.core.times import from_iso, gmt, iso
from agent.engine import evidence
from agent.engine.blind import HEARTBEAT_KINDS, TOUCH_EVERY


def stale_after(config: Config) -> timedelta:
    """A running agent reads every folder at least every poll_interval (and records it every TOUCH_EVERY)."""
    return timedelta(seconds=2 * config.agent.poll_interval) + TOUCH_EVERY + timedelta(seconds=5)


def agent_health(store: Store, config: Config, now: datetime) -> dict:
    folders = selfwatch.folder_reads(store, config.imap.folders)
    last = selfwatch.last_good_read(store, config.imap.folders)
    reading = last is not None and now - last <= stale_after(config)
    alarm = selfwatch.open_blind(store)
    blind_since: datetime | None
    if alarm is not None:
        blind_since, why = from_iso(alarm.outage), alarm.reason
    else:
        blind_since, why = (None, None) if reading else (last, None)
    beat = selfwatch.last_event(store, HEARTBEAT_KINDS)
    if not (config.agent.heartbeat_url or config.agent.heartbeat_command):
        heartbeat = dict(state="off", since=None, detail=None)
    elif beat is None:
        heartbeat = dict(state="unknown", since=None, detail="no outcome recorded yet")
    else:
        state = "ok" if beat.kind == "heartbeat_ok" else "failing"
        heartbeat = dict(state=state, since=beat.at, detail=beat.detail)
    return dict(
        ok=bool(reading and alarm is None and heartbeat["state"] != "failing"),
        last_good_read=iso(last),
        folders={f: iso(t) for f, t in folders.items()},
        syncing=selfwatch.long_reads(store),  # a long first sync or re-map: {folder: "first sync INBOX 5 / 40"}
        reading=reading,
        blind_since=iso(blind_since),
        blind_reason=why,
        alarm=None if alarm is None else dict(status=alarm.status, sent_at=alarm.sent_at, to=config.agent.ops_address),
        heartbeat=heartbeat,
        sqlite=dict(version=sqlite.version, library=sqlite.library, wal_reset_fix=sqlite.has_wal_reset_fix()),
        **({"api": evidence.health(store, config)} if config.probe is not None else {}),  # [probe]: the API check
    )


def recorded_role(store: Store) -> str | None:
    """[ha]: the role the running member last wrote to its audit log (`leader` or `standby`), if it ever did."""
    event = selfwatch.last_event(store, ("ha_role",))
    if event is None:
        return None
    return "leader" if " is now leader" in event.detail else "standby"


def health_lines(h: dict, now: datetime) -> list[str]:
    """The agent's health as text: the first line alone says whether it is well (below `status`'s table)."""
    last = from_iso(h["last_good_read"])
    if h["alarm"] is not None:
        since = from_iso(h["blind_since"])
        why = h["blind_reason"] or "the mailbox cannot be read"
        head = f"Agent: BLIND since {gmt(since)} ({when(since, now)}): {why}"
    elif last is None:
        head = "Agent: the mailbox has never been read"
    elif not h["reading"]:
        head = f"Agent: the mailbox has not been read since {gmt(last)} ({when(last, now)}): is the agent running?"
    else:
        head = f"Agent: mailbox read {when(last, now)}"
    if h["syncing"]:  # old mail still being read: the incidents already known keep their deadlines meanwhile
        head += "; " + "; ".join(h["syncing"].values())
    beat = h["heartbeat"]
    head += f"; heartbeat {beat['state']}" + (f" since {beat['since']}" if beat["since"] else "")
    api = h.get("api") or {"state": "off"}
    if api["state"] == "failing":
        head += f"; API failing since {gmt(from_iso(api['since']))}"
    elif api["state"] == "answering":
        head += f"; API answering since {gmt(from_iso(api['since']))}"
    lines = [head]
    if api["state"] != "off":
        lines.append(f"  {evidence.health_line(api)}")
    for folder, at in h["folders"].items():
        lines.append(f"  folder {folder}: last good read {when(from_iso(at), now) if at else 'never'}")
    if h["alarm"] is not None:
        alarm = h["alarm"]
        sent = f" {alarm['sent_at']}" if alarm["sent_at"] else ""
        lines.append(f"  alarm to {alarm['to']}: {alarm['status']}{sent}")
    if beat["detail"]:
        lines.append(f"  heartbeat: {beat['detail']}")
    lines.append(f"  database: {sqlite.describe()}")
    if h.get("coordination"):  # [ha], after describe(): who sends, and whether the coordination service answers
        service = h["coordination"]
        lines.append(
            f"  role: {h['role']} (member {h['member']}; the lease is held by {h['lease_holder'] or 'nobody'}; "
            f"coordination service {service['url']}: {service['health']})"
        )
    elif "role" in h:
        lines.append(f"  role: {h['role']} (no [ha]: this member decides and sends)")
    return lines


def idle_line(offered: str, push: EventRow | None, config: Config) -> str:
    """What `check` may promise of how soon a reply is seen: only what the running agent saw of IDLE."""
    every = f"within poll_interval = {config.agent.poll_interval}s"
    if offered != "IDLE offered" or not config.imap.idle:
        return f"{offered}: replies are seen at the next poll, {every}"
    if push is None:
        return f"IDLE offered, not yet seen announcing new mail: count on the next poll, {every}"
    if push.kind == "idle_silent":
        return f"IDLE offered, but it never announced new mail (seen {push.at}): replies are seen {every}"
    return f"IDLE offered and seen announcing new mail ({push.at}): replies are seen as they arrive"
