"""The measurements of a real `python -m agent run` process: idling on a big folder (RSS, CPU, its IMAP commands
from Dovecot's rawlog), and the live test (T2 lateness, reply detection)."""

from __future__ import annotations

import ctypes
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from corpus import reply_mail, t1_mail
from harness import (
    AGENT_ADDR,
    ALICE,
    REPO,
    SUPPORT,
    T1_ADDR,
    T2_ADDR,
    WATCHED,
    BenchDovecot,
    Dovecot,
    SmtpRelay,
    pct,
    query,
    say,
    wait_until,
    write_config,
)

from agent.adapters.sqlite import sqlite3

# -- the agent process ----------------------------------------------------------------------------------------
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:
    _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: an interrupted bench leaves no agent behind


class AgentProcess:
    """`python -m agent -c CONFIG run`, a real process, stopped by its pid with SIGTERM."""

    def __init__(self, config: Path, log: Path):
        self.config, self.log = config, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> AgentProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
        env.pop("NOTIFY_SOCKET", None)
        env.pop("WATCHDOG_USEC", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "-c", str(self.config), "run"],
            cwd=REPO,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_ticks(self) -> int:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)

    def status(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
        raise KeyError(key)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


# -- the idle process and the live test ----------------------------------------------------------------------
def rawlog_commands(rawdir: Path, since: float, until: float) -> list[tuple[float, str]]:
    """Client lines (with Dovecot's timestamps) of every rawlog session of one user, inside a time window."""
    out = []
    for path in sorted(rawdir.glob("*.in")):
        for line in path.read_bytes().decode("utf-8", "replace").splitlines():
            m = re.match(r"^(\d+\.\d+) (.*)$", line)
            if m and since <= float(m.group(1)) <= until:
                out.append((float(m.group(1)), m.group(2)))
    return sorted(out)


def start_idle_process(work: Path, dovecot: BenchDovecot, relay, poll: int) -> tuple[AgentProcess, Path, Path]:
    """`python -m agent run` on the big folder, with an empty database: it starts with its first sync."""
    rawdir = dovecot.enable_rawlog("big")
    db = work / "big.db"
    cfg = write_config(work / "big.ini", dovecot, relay, "big", db, poll=poll)
    return AgentProcess(cfg, work / "agent-big.log").start(), db, rawdir


def measure_idle_process(
    proc: AgentProcess, db: Path, rawdir: Path, big: int, window: float, poll: int, figures: dict
) -> None:
    say(f"\n== idle process: `python -m agent run` on a {big}-mail folder, poll_interval {poll}s")
    try:
        wait_until(
            lambda: query(db, "SELECT last_uid FROM mailbox_state WHERE last_uid >= ?", big),
            3600,
            "the first sync of the big folder",
            step=0.2,
        )  # UIDs 1..big after force-resync
        say(f"it has read all {big} mails (its first sync); VmHWM {proc.status('VmHWM') / 1024:.1f} MB")
        time.sleep(2)  # let it settle into its idle loop
        if not proc.alive():
            raise RuntimeError("the agent process died; see " + str(proc.log))
        t0, c0 = time.time(), proc.cpu_ticks()
        time.sleep(window)
        t1, c1 = time.time(), proc.cpu_ticks()
        rss = proc.status("VmRSS") / 1024
        hwm = proc.status("VmHWM") / 1024
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (c1 - c0) / ticks / (t1 - t0) * 100
        say(
            f"over {t1 - t0:.1f} s idle: CPU {(c1 - c0) / ticks:.2f} s = {cpu:.2f} %; VmRSS {rss:.1f} MB, "
            f"VmHWM {hwm:.1f} MB"
        )
        figures["idle_rss_mb"] = round(rss, 1)
        figures["idle_cpu_percent"] = round(cpu, 2)
        figures["idle_hwm_mb"] = round(hwm, 1)
    finally:
        code = proc.stop()
        if code != 0:
            say(f"warning: the idle agent exited {code}; its log:\n{proc.log.read_text()[-2000:]}")
    lines = rawlog_commands(rawdir, t0, t1)
    if not lines:
        say("warning: no rawlog lines (is rawlog_dir supported by this Dovecot?)")
        return
    say(f"IMAP commands the idle process sent in those {t1 - t0:.0f} s (Dovecot's rawlog; {len(lines)} lines):")
    for at, line in lines[:12]:
        say(f"  {at - t0:7.3f}  {line}")
    figures["idle_imap_lines_per_min"] = round(len(lines) / (t1 - t0) * 60, 1)
    # one idle cycle: from the DONE that ends an IDLE to the next IDLE, tags dropped
    texts = [l.split(" ", 1)[1] if re.match(r"^\S+ [A-Z]", l) and l != "DONE" else l for _, l in lines]
    if "DONE" in texts and "IDLE" in texts[texts.index("DONE") :]:
        i = texts.index("DONE")
        figures["idle_cycle_imap"] = texts[i : texts.index("IDLE", i) + 1]
    spans = []  # DONE -> the next IDLE, by Dovecot's clock: the whole cycle of the real process
    for k, text in enumerate(texts):
        if text == "DONE" and "IDLE" in texts[k:]:
            spans.append(lines[texts.index("IDLE", k)][0] - lines[k][0])
    if spans:
        say(
            f"the process's idle cycles (DONE to the next IDLE, by the rawlog's clock): median "
            f"{statistics.median(spans) * 1000:.1f} ms, max {max(spans) * 1000:.1f} ms over {len(spans)}"
        )
        figures["idle_process_cycle_ms"] = round(statistics.median(spans) * 1000, 1)


def measure_live(
    work: Path,
    dovecot: Dovecot,
    relay: SmtpRelay,
    n: int,
    spread: float,
    t2_after: int,
    replies: int,
    gap: tuple[float, float],
    poll: int,
    figures: dict,
) -> None:
    say(
        f"\n== live: `python -m agent run`, {n} T1s with deadlines spread over {spread:.0f} s, t2_after "
        f"{t2_after}s, poll_interval {poll}s; then {replies} vendor replies"
    )
    db = work / "live.db"
    cfg = write_config(work / "live.ini", dovecot, relay, "watch", db, poll=poll, t2_after=f"{t2_after}s")
    proc = AgentProcess(cfg, work / "agent-live.log").start()
    try:
        wait_until(lambda: query(db, "SELECT 1 FROM mailbox_state"), 30, "the live agent's first sync")
        time.sleep(1.0)  # now waiting in IDLE
        t0 = time.time() + 0.5
        deadlines: dict[str, float] = {}
        t1s: dict[str, EmailMessage] = {}
        for i in range(n):  # the engineers' T1s, each sent through SMTP at its Date
            target = t0 + i * spread / n
            time.sleep(max(0.0, target - time.time()))
            sent = int(time.time())
            msg = t1_mail(i, datetime.fromtimestamp(sent, UTC))
            relay.send(msg, ALICE, [T1_ADDR, WATCHED])
            deadlines[msg["Message-ID"]] = sent + t2_after
            t1s[msg["Message-ID"]] = msg
        last = max(deadlines.values())

        got: dict[str, float] = {}
        read = [0]

        def t2s() -> dict[str, float]:  # the relay's records, each parsed once
            records = list(relay.accepted)
            for rec in records[read[0] :]:
                if rec.mail_from == AGENT_ADDR and T2_ADDR in rec.rcpt_tos:
                    t1_id = str(rec.message()["In-Reply-To"]).strip()
                    if t1_id in deadlines:  # not the T2s of an earlier phase
                        got[t1_id] = rec.accepted_at
            read[0] = len(records)
            return got

        wait_until(lambda: len(t2s()) >= n, max(0.0, last - time.time()) + 60, f"{n} T2s accepted", step=0.2)
        late = [got[mid] - deadlines[mid] for mid in deadlines]
        say(
            f"T2 lateness over {len(late)} incidents: p50 {pct(late, 50):.3f} s, p90 {pct(late, 90):.3f} s, "
            f"p99 {pct(late, 99):.3f} s, max {max(late):.3f} s, min {min(late):.3f} s"
        )
        early = [x for x in late if x < 0]
        if early:
            say(f"warning: {len(early)} T2s were accepted before their deadline")
        figures["escalation_lateness_p99_s"] = round(pct(late, 99), 3)
        figures["escalation_lateness_p50_s"] = round(pct(late, 50), 3)
        figures["escalation_lateness_max_s"] = round(max(late), 3)
        others = [r for r in relay.accepted if r.mail_from == AGENT_ADDR and T2_ADDR not in r.rcpt_tos]
        if others:
            say(f"note: the agent also sent {len(others)} other mails (notices, T3s)")

        # the vendor answers: each reply delivered into the watched mailbox (LMTP), then timed to `responded`
        time.sleep(1.5)  # the T2s' CC copies come back and are read first
        ids = dict(query(db, "SELECT t1_message_id, id FROM incidents"))
        chosen = list(t1s)[:replies]
        delivered: dict[int, float] = {}
        seen: dict[int, float] = {}
        done = threading.Event()

        def watch() -> None:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
            try:
                while not done.is_set():
                    now = time.time()
                    for (iid,) in conn.execute("SELECT id FROM incidents WHERE state = 'responded'"):
                        seen.setdefault(iid, now)
                    time.sleep(0.01)
            finally:
                conn.close()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        rng = random.Random(7)
        try:
            for k, mid in enumerate(chosen):
                r = reply_mail(t1s[mid], 100_000 + k, datetime.now(UTC))
                dovecot.deliver("watch", r.as_bytes(), SUPPORT)
                delivered[ids[mid]] = time.time()
                time.sleep(rng.uniform(*gap))
            wait_until(lambda: all(i in seen for i in delivered), 30, "every reply seen", step=0.1)
        finally:
            done.set()
            watcher.join()
        lat = [seen[i] - delivered[i] for i in delivered]
        say(
            f"reply -> responded over {len(lat)} replies: p50 {pct(lat, 50):.3f} s, p90 {pct(lat, 90):.3f} s, "
            f"p99 {pct(lat, 99):.3f} s, max {max(lat):.3f} s"
        )
        figures["reply_detection_p99_s"] = round(pct(lat, 99), 3)
        figures["reply_detection_p50_s"] = round(pct(lat, 50), 3)
    finally:
        code = proc.stop()
        log = proc.log.read_text(errors="replace")
        if code != 0 or "Traceback" in log:
            say(f"warning: the live agent exited {code}; log tail:\n{log[-3000:]}")
