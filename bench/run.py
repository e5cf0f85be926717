#!/usr/bin/env python3
"""Benchmarks of escalation-agent against a real Dovecot and a real SMTP server on 127.0.0.1.

    python bench/run.py            # the full run (about 5 minutes here); docs/benchmarks.md has its results
    python bench/run.py --quick    # a smaller run (under a minute), the same JSON keys plus "quick": true
    python bench/run.py --keep     # keep the work directory (databases, agent logs) for a look afterwards

It starts the throwaway servers of tools/localmail.py (the tests' harness), fills mailboxes, runs the agent
against them and prints what it measured. The last line of its output is one JSON object (full sizes; --quick:
500 mails to ingest, 1,500 vs 150 mails, 30 incidents over 8 s with t2_after 3 s, 10 replies, a 10 s window):

  ingest_ratio                 an in-process Agent's first sync (Agent.cycle() on an empty database, its backlog
                               read to the end) of 5,000 mixed mails (T1s, their threads, noise; all older than
                               max_incident_age, as on a first start over years of mail) / a bare imapclient
                               SEARCH + FETCH of the same mails (BODY.PEEK[] INTERNALDATE RFC822.SIZE, 500 UIDs a
                               command), the floor, measured in the same run (median of 4).    goal <= 1.0
  first_start_50k_s            `python -m agent run` on an empty database and the 50,000-mail folder: seconds from
                               its launch to every mail read (no backlog left).                 goal <= 15
  resync_ratio                 the same agent's next cycle after the server changed the folder's UIDVALIDITY
                               (every stored UID void) / a bare SEARCH + FETCH of every mail's Message-ID
                               (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)], 500 UIDs a command), median of 4.
                                                                                                    goal <= 3
  lateness_during_resync_max_s a `python -m agent run` that has read the 50,000-mail folder: T1s delivered (LMTP),
                               the folder renumbered right after, each T2 due t2_after (3 s) after its T1: the
                               largest (the relay answered 250 to the T2) - (its deadline), while the agent
                               re-maps the folder. Also reported: how long the re-map took, and how many
                               deadlines fell inside it.                                        goal <= 1.0
  idle_cycle_ratio_50k_vs_1k   median Agent.cycle() with nothing new on a 50,000-mail folder / on a 1,000-mail
                               folder, each on the IMAP connection that did the folder's first sync, as in
                               `run` (cycles interleaved). Also reported: the same on new connections.
                                                                                                    goal <= 1.2
  escalation_lateness_p99_s    `python -m agent run`, poll_interval 5 s: 200 T1s sent through SMTP, each with
                               its Date = when it was sent, spread over 60 s; t2_after 5 s, t3_after 1 h:
                               p99 of (the relay answered 250 to the T2) - (Date + t2_after).       goal <= 1.0
  reply_detection_p99_s        the same process: 100 vendor replies delivered into the watched mailbox over LMTP,
                               0.3-1.2 s apart: p99 of (incident `responded` in the database, polled every
                               10 ms) - (LMTP delivery done).                                       goal <= 2.0
  idle_rss_mb                  VmRSS of a `python -m agent run` process (poll_interval 5 s) idling on a
                               50,000-mail folder after its own first sync of it.                   goal <= 80
  idle_cpu_percent             (utime + stime) of that process over 60 s with nothing happening / 60 s.
                                                                                                    goal <= 1

Mailboxes are filled by writing Maildir files (LF line ends, ,S= and ,W= sizes, the INTERNALDATE as mtime) and
running `doveadm force-resync`; T1s and replies during the live test go through SMTP and LMTP as in production.
Dovecot's rawlog (rawlog_dir) records the idle process's IMAP session: the commands of an idle cycle.
The 1-minute load average is sampled every 2 s and reported per phase: other people's work shows there.

Only 127.0.0.1 is used. Every server and agent process it starts is stopped by its pid (and dies with the
bench: PR_SET_PDEATHSIG), and the end of the output says whether any Dovecot of the run is still running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backlog import measure_first_start, measure_resync_lateness
from corpus import fill_maildir, mixed_corpus

# Importable from here too: profiling scripts do `import run as bench` and use bench.BenchDovecot, USERS, LOCAL,
# fill_maildir, mixed_corpus, floor_fetch and write_config.
from harness import (
    LOCAL,
    USERS,
    Agent,
    BenchDovecot,
    SmtpRelay,
    say,
    write_config,  # noqa: F401
)
from live import measure_idle_process, measure_live, start_idle_process
from measure import (
    close_agent,
    floor_fetch,  # noqa: F401
    measure_idle_cycle,
    measure_ingest,
    measure_resync,
    open_agent,
    timed_cycle,
)

FULL = dict(
    ingest=5000,
    big=50_000,
    small=1000,
    incidents=200,
    spread=60.0,
    t2_after=5,
    replies=100,
    cpu_window=60.0,
    cycles=1000,
    poll=5,
    gap=(0.3, 1.2),
    resync_incidents=5,
    resync_t2_after=3,
)
QUICK = dict(
    ingest=500,
    big=1500,
    small=150,
    incidents=30,
    spread=8.0,
    t2_after=3,
    replies=10,
    cpu_window=10.0,
    cycles=200,
    poll=5,
    gap=(0.2, 0.6),
    resync_incidents=3,
    resync_t2_after=2,
)


class LoadSampler(threading.Thread):
    """The 1-minute load average every 2 s, per phase: other people's work on this machine shows up here."""

    def __init__(self):
        super().__init__(daemon=True)
        self.phase = "setup"
        self.samples: dict[str, list[float]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(2.0):
            self.samples.setdefault(self.phase, []).append(os.getloadavg()[0])

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.samples.setdefault(phase, []).append(os.getloadavg()[0])

    def summary(self) -> dict[str, list[float]]:
        """phase -> [min, max] of the 1-minute load average."""
        return {k: [round(min(v), 2), round(max(v), 2)] for k, v in self.samples.items() if v}


def machine() -> dict:
    cpu = next(
        (
            l.split(":", 1)[1].strip()
            for l in Path("/proc/cpuinfo").read_text().splitlines()
            if l.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
    return dict(
        nproc=os.cpu_count(),
        cpu=cpu,
        ram_gb=round(mem / 1024 / 1024, 1),
        python=platform.python_version(),
        dovecot=dovecot,
        load=os.getloadavg(),
    )


def _mentions(cmdline: Path, tag: str) -> bool:
    try:
        return tag in cmdline.read_text(errors="replace")
    except OSError:
        return False


def _interrupted(*_) -> None:
    raise KeyboardInterrupt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smaller run (under a minute), the same JSON keys")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases, rawlogs)")
    args = ap.parse_args()
    size = QUICK if args.quick else FULL
    for sig in (signal.SIGTERM, signal.SIGHUP):  # clean up (servers, agents) on a kill, as on Ctrl-C
        signal.signal(sig, _interrupted)
    m = machine()
    say(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, Dovecot {m['dovecot']}")
    say(f"load average at start: {' '.join(f'{x:.2f}' for x in m['load'])}")
    say(f"sizes: {size}")
    figures: dict = {}
    loads = LoadSampler()
    loads.start()
    work = Path(tempfile.mkdtemp(prefix="ea-bench-", dir="/tmp"))
    os.chmod(work, 0o755)
    started = time.monotonic()
    try:
        with BenchDovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL) as relay:
            end, span = datetime.now(UTC) - timedelta(days=2), timedelta(days=730)

            def fill(user: str, count: int, seed: int) -> None:
                t = time.perf_counter()
                mails = mixed_corpus(count, seed, end, span)
                gen = time.perf_counter() - t
                took = fill_maildir(dovecot, user, mails)
                say(
                    f"filled {user}: {count} mails ({sum(len(r) for r, _ in mails) / 1e6:.1f} MB), "
                    f"generated in {gen:.1f} s, written + doveadm force-resync in {took:.1f} s"
                )

            loads.enter("fill (not measured)")
            fill("big", size["big"], 2)
            fill("ingest", size["ingest"], 1)
            fill("small", size["small"], 3)
            # The idle process starts on an empty database: its first sync of the big folder is first_start_50k_s,
            # with nothing else running. Then the in-process agents' first syncs (their connections are the ones
            # the idle-cycle figure uses), unmeasured, while the idle process settles.
            loads.enter("first start (big folder)")
            launched = time.monotonic()
            proc, big_db, rawdir = start_idle_process(work, dovecot, relay, size["poll"])
            agents: dict[str, Agent] = {}
            try:
                try:
                    measure_first_start(proc, launched, big_db, size["big"], figures)
                    loads.enter("in-process first syncs (not measured)")
                    for name in ("big", "small"):
                        agents[name] = open_agent(work, dovecot, relay, name, work / f"{name}-inproc.db", "cycle")
                        took, r = timed_cycle(agents[name], drain=True)
                        say(f"in-process first sync of the {name} folder: {r.new_mails} mails in {took:.1f} s")
                    loads.enter("idle process")
                    measure_idle_process(proc, big_db, rawdir, size["big"], size["cpu_window"], size["poll"], figures)
                finally:
                    proc.stop()
                loads.enter("ingest")
                measure_ingest(work, dovecot, relay, size["ingest"], figures)
                loads.enter("resync")
                measure_resync(work, dovecot, relay, size["ingest"], figures)
                loads.enter("idle cycle")
                measure_idle_cycle(
                    work, dovecot, relay, agents, {"big": size["big"], "small": size["small"]}, size["cycles"], figures
                )
            finally:
                for a in agents.values():
                    close_agent(a)
            loads.enter("lateness during a re-map")  # last to use the big folder: it renumbers it
            measure_resync_lateness(
                work,
                dovecot,
                relay,
                big_db,
                size["big"],
                size["resync_incidents"],
                size["resync_t2_after"],
                size["poll"],
                figures,
            )
            loads.enter("live (lateness, replies)")
            measure_live(
                work,
                dovecot,
                relay,
                size["incidents"],
                size["spread"],
                size["t2_after"],
                size["replies"],
                size["gap"],
                size["poll"],
                figures,
            )
            loads.enter("teardown")
            dovecot_root = dovecot.root
        leftovers = [p.parent.name for p in Path("/proc").glob("[0-9]*/cmdline") if _mentions(p, dovecot_root.name)]
        say(
            "no Dovecot of this run is left running"
            if not leftovers
            else f"warning: Dovecot processes of this run still running: {leftovers}"
        )
    finally:
        if args.keep:
            say(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    goals = {
        "ingest_ratio": 1.0,
        "first_start_50k_s": 15.0,
        "resync_ratio": 3.0,
        "lateness_during_resync_max_s": 1.0,
        "idle_cycle_ratio_50k_vs_1k": 1.2,
        "escalation_lateness_p99_s": 1.0,
        "reply_detection_p99_s": 2.0,
        "idle_rss_mb": 80,
        "idle_cpu_percent": 1,
    }
    say("\n== figure vs goal")
    for key, goal in goals.items():
        value = figures.get(key)
        if goal is None:
            say(f"  {key:30} {value!s:>8}  (no goal set)")
            continue
        verdict = "met" if value is not None and value <= goal else "MISSED"
        say(f"  {key:30} {value!s:>8}  goal <= {goal:<5} {verdict}")
    loads.done.set()
    say(
        "load average (1 min), min-max per phase: "
        + "; ".join(f"{k} {v[0]:.2f}-{v[1]:.2f}" for k, v in loads.summary().items())
        + "; "
        f"total {time.monotonic() - started:.0f} s"
    )
    out = {k: figures.get(k) for k in goals}
    if args.quick:
        out["quick"] = True
    out.update({k: v for k, v in figures.items() if k not in goals})
    out["load_1min"] = loads.summary()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
