"""The API check's runs put to use: recorded by the loop's thread, summed up for an escalation, the recovery told to
an incident's people once, the hold of hold_on_recovery, the eligibility line of the "watching" notice, the health
line of `status`. Without [probe] every function here is a no-op, and nothing about the agent changes."""

import logging
from datetime import datetime, timedelta

from agent.adapters import probes
from agent.adapters.store import Store
from agent.core.procedure import probe
from agent.core.procedure.policy import Incident
from agent.core.settings import Config
from agent.core.times import from_iso, gmt, iso
from agent.core.writing import notices
from agent.engine import enqueue
from agent.engine.probe import Prober

log = logging.getLogger("agent.probe")
RECOVERED = "api_recovered"  # the notice kind; one per recovery (its start makes the kind unique)


def collect(store: Store, prober: Prober | None) -> list[probe.Run]:
    """Record the runs the prober handed over, each for the oldest incident open when it ran."""
    if prober is None:
        return []
    runs = prober.results()
    if not runs:
        return []
    oldest = probes.oldest_open_incident(store.db)
    with store.transaction():
        for run in runs:
            probes.record(store.db, run, oldest)
    for run in runs:
        log.info("API check ok=%s evidence=%s", run.ok, run.evidence)
    return runs


def runs_for(store: Store, t1_sent_at: datetime) -> list[probe.Run]:
    """The runs since an incident's T1 was sent."""
    return probes.since(store.db, t1_sent_at)


def hold(store: Store, config: Config, incident: Incident) -> probe.Hold | None:
    """hold_on_recovery: the API answers again since the incident's T1 failed it, so the next tier waits."""
    cfg = config.probe
    if cfg is None or not cfg.hold_on_recovery or incident.drill:
        return None
    runs = runs_for(store, incident.t1_sent_at)
    since = probe.recovered_since(runs, cfg.recovered_after)
    if since is None:
        return None
    return probe.Hold(since, runs[-1].at + cfg.interval + cfg.timeout)


def tell_recoveries(store: Store, config: Config, incidents: list[Incident], now: datetime) -> None:
    """The API answers again (recovered_after passes in a row after a failure): each open incident's people get one
    mail in its thread, once per recovery (the notice's kind names the recovery's start)."""
    cfg = config.probe
    if cfg is None:
        return
    for incident in incidents:
        if incident.drill:
            continue
        since = probe.recovered_since(runs_for(store, incident.t1_sent_at), cfg.recovered_after)
        if since is None:
            continue
        kind = f"{RECOVERED} {iso(since)}"
        if kind in incident.notices:
            continue
        subject, body = notices.api_recovered(since, cfg.recovered_after, cfg.hold_on_recovery)
        enqueue.notify(store, config, incident.id, kind, subject, body, now, "the API check passes again")


def watching_note(store: Store, config: Config, now: datetime) -> str | None:
    """The eligibility line for an incident opening now: what the last run said, when it is fresh."""
    cfg = config.probe
    if cfg is None:
        return None
    last = probes.last(store.db)
    if not last or now - last[-1].at > cfg.interval + cfg.timeout + timedelta(seconds=1):
        return None
    return probe.eligibility(last[-1])


def health(store: Store, config: Config) -> dict:
    """The API check in `status`: off, unknown, answering or failing since when, with the last evidence."""
    if config.probe is None:
        return dict(state="off", since=None, last_at=None, evidence=None)
    s = probe.summarise(probes.last(store.db, 500))
    if s is None:
        return dict(state="unknown", since=None, last_at=None, evidence=None)
    since = s.failing_since or s.answering_since
    state = "failing" if s.failing_since else "answering"
    return dict(state=state, since=iso(since), last_at=iso(s.last.at), evidence=s.last.evidence)


def health_line(h: dict) -> str | None:
    if h["state"] in ("off", "unknown"):
        return None if h["state"] == "off" else "API check: no run yet"
    word = "API failing" if h["state"] == "failing" else "API answering"
    return f"{word} since {gmt(from_iso(h['since']))} (last check {h['last_at']}: {h['evidence']})"
