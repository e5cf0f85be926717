"""The in-process measurements: a first sync against the floor (a bare imapclient fetch), and idle cycles."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

from harness import Agent, Dovecot, Store, load_config, pct, query, say, write_config

CHUNK = 500  # UIDs per FETCH in the floor, as the agent does


def floor_fetch(dovecot: Dovecot, user: str) -> tuple[float, int, int]:
    """The floor: log in, EXAMINE, SEARCH, FETCH every mail's body, date and size, 500 UIDs a command."""
    started = time.perf_counter()
    with dovecot.imap(user) as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["UID", "1:*"])
        count = size = 0
        for i in range(0, len(uids), CHUNK):
            for data in c.fetch(uids[i : i + CHUNK], ["RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]"]).values():
                count += 1
                size += len(data[b"BODY[]"])
    return time.perf_counter() - started, count, size


def measure_ingest(work: Path, dovecot, relay, count: int, figures: dict) -> None:
    say(f"\n== ingest: first sync of {count} mixed mails vs a bare imapclient fetch")
    floor_fetch(dovecot, "ingest")  # warm-up: Dovecot's index cache and the page cache, for both sides
    floors = [floor_fetch(dovecot, "ingest") for _ in range(3)]
    t, n, size = floors[0]
    if n != count:
        raise RuntimeError(f"the ingest folder holds {n} mails, not {count}")
    db = work / "ingest.db"
    agent = open_agent(work, dovecot, relay, "ingest", db, "ingest")
    try:
        agent_s, report = timed_cycle(agent, drain=True)  # every mail, its backlog of old mail too
    finally:
        close_agent(agent)
    floors.append(floor_fetch(dovecot, "ingest"))
    floor_s = statistics.median(f[0] for f in floors)
    kinds = dict(query(db, "SELECT kind, count(*) FROM messages GROUP BY kind"))
    say(f"mails: {n}, {size / 1e6:.1f} MB; kinds recorded by the agent: {kinds}")
    say(f"floor (bare fetch) runs: {', '.join(f'{f[0]:.2f}' for f in floors)} s -> median {floor_s:.2f} s")
    passed = passed_over(db)
    say(
        f"agent first sync: {agent_s:.2f} s ({report.new_mails} new mails, {passed} old ones passed over by the "
        f"server, {agent_s / n * 1000:.2f} ms/mail)"
    )
    if report.new_mails + passed != count:
        raise RuntimeError(f"the agent recorded {report.new_mails} mails and passed over {passed}, not {count}")
    figures["ingest_ratio"] = round(agent_s / floor_s, 2)
    figures["ingest_recorded"] = report.new_mails
    figures["ingest_agent_s"] = round(agent_s, 2)
    figures["ingest_floor_s"] = round(floor_s, 3)


def passed_over(db: Path) -> int:
    """How many old mails the agent's audit says the server passed over (not fetched: they involve neither the
    vendor, the urgent line nor the agent)."""
    details = query(db, "SELECT detail FROM events WHERE kind = 'old_mail_passed_over'")
    return sum(int(re.match(r"\S+: ([\d,]+) mails", d)[1].replace(",", "")) for (d,) in details)


def floor_message_ids(dovecot: Dovecot, user: str) -> tuple[float, int]:
    """The floor of a resync: log in, EXAMINE, SEARCH, FETCH every mail's Message-ID field, 500 UIDs a command."""
    started = time.perf_counter()
    with dovecot.imap(user) as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["UID", "1:*"])
        count = 0
        for i in range(0, len(uids), CHUNK):
            count += len(c.fetch(uids[i : i + CHUNK], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]))
    return time.perf_counter() - started, count


def measure_resync(work: Path, dovecot, relay, count: int, figures: dict) -> None:
    """After the ingest: the server renumbers the folder (a new UIDVALIDITY), and the agent's next cycle on the
    same database against a bare fetch of every Message-ID of the folder."""
    say(
        f"\n== resync: the next cycle after a UIDVALIDITY change of the {count}-mail folder vs fetching its Message-IDs"
    )
    db = work / "ingest.db"
    before = query(db, "SELECT count(*) FROM messages")[0][0]
    dovecot.set_uid_validity("ingest", 777_000 + count)
    floor_message_ids(dovecot, "ingest")  # warm-up, as for the ingest floor
    floors = [floor_message_ids(dovecot, "ingest") for _ in range(3)]
    if floors[0][1] != count:
        raise RuntimeError(f"the ingest folder holds {floors[0][1]} mails, not {count}")
    agent = open_agent(work, dovecot, relay, "ingest", db, "resync")
    try:
        agent_s, report = timed_cycle(agent, drain=True)  # every mail, its backlog of old mail too
    finally:
        close_agent(agent)
    floors.append(floor_message_ids(dovecot, "ingest"))
    floor_s = statistics.median(f[0] for f in floors)
    after = query(db, "SELECT count(*) FROM messages")[0][0]
    state = query(db, "SELECT uidvalidity FROM mailbox_state WHERE folder = 'INBOX'")
    say(f"floor (Message-IDs only) runs: {', '.join(f'{f[0]:.3f}' for f in floors)} s -> median {floor_s:.3f} s")
    say(
        f"agent resync: {agent_s:.2f} s ({report.new_mails} new mails; messages {before} -> {after}; "
        f"UIDVALIDITY stored {state})"
    )
    if after != before or report.new_mails:
        raise RuntimeError(f"the resync recorded new mails: {before} -> {after}, {report.new_mails} new")
    figures["resync_ratio"] = round(agent_s / floor_s, 2)
    figures["resync_agent_s"] = round(agent_s, 2)
    figures["resync_floor_s"] = round(floor_s, 3)


def idle_cycles(agents: dict[str, Agent], rounds: int) -> dict[str, list[float]]:
    """Agent.cycle() with nothing new, the folders taking turns (a load change hits both alike)."""
    times: dict[str, list[float]] = {k: [] for k in agents}
    for a in agents.values():
        a.cycle()  # connects if it must; not counted
    for _ in range(rounds):
        for name, a in agents.items():
            started = time.perf_counter()
            r = a.cycle()
            times[name].append(time.perf_counter() - started)
            if r.new_mails or not r.mailbox_ok or r.sent:
                raise RuntimeError(f"an idle cycle on {name} was not idle: {r}")
    return times


def open_agent(work: Path, dovecot, relay, user: str, db: Path, tag: str) -> Agent:
    cfg = load_config(write_config(work / f"{user}-{tag}.ini", dovecot, relay, user, db, poll=60, dry_run=True))
    return Agent(cfg, Store(db))


def close_agent(agent: Agent) -> None:
    agent.close()
    agent.store.close()


def timed_cycle(agent: Agent, drain: bool = False):
    """One Agent.cycle(); with `drain`, one that reads a backlog of old mail to its end."""
    started = time.perf_counter()
    report = agent.cycle(backlog_budget=None) if drain else agent.cycle()
    return time.perf_counter() - started, report


def measure_idle_cycle(
    work: Path, dovecot, relay, agents: dict[str, Agent], sizes: dict[str, int], rounds: int, figures: dict
) -> None:
    """Agent.cycle() with nothing new on the same connection that did the folder's first sync, as in `run`;
    then on a new connection (as after a restart)."""
    say(f"\n== idle cycle: Agent.cycle() with nothing new, {sizes['big']} vs {sizes['small']} mails")
    runs = {}
    runs["same connection as the first sync (as in `run`)"] = idle_cycles(agents, rounds)
    fresh = {name: open_agent(work, dovecot, relay, name, a.store.path, "fresh") for name, a in agents.items()}
    try:
        runs["a new connection (as after a restart)"] = idle_cycles(fresh, rounds)
    finally:
        for a in fresh.values():
            close_agent(a)
    for label, times in runs.items():
        med = {k: statistics.median(v) for k, v in times.items()}
        say(
            f"{label}: "
            + "; ".join(
                f"{k} median {med[k] * 1000:.2f} ms (p10 {pct(v, 10) * 1000:.2f}, p90 {pct(v, 90) * 1000:.2f})"
                for k, v in times.items()
            )
            + f" over {rounds} cycles each -> ratio {med['big'] / med['small']:.2f}"
        )
        if label.startswith("same"):
            figures["idle_cycle_ratio_50k_vs_1k"] = round(med["big"] / med["small"], 2)
            figures["idle_cycle_ms_big"] = round(med["big"] * 1000, 2)
            figures["idle_cycle_ms_small"] = round(med["small"] * 1000, 2)
        else:
            figures["idle_cycle_ratio_new_connection"] = round(med["big"] / med["small"], 2)
