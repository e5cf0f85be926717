"""A first start over the big folder, and a deadline that falls due while the big folder is re-mapped: both with a
real `python -m agent run` process, as in production."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from corpus import t1_mail
from harness import ALICE, T2_ADDR, query, say, wait_until, write_config
from live import AgentProcess


def first_sync_done(db: Path, count: int) -> bool:
    """Every UID read and no backlog left (`reading` is set while one is read)."""
    return bool(query(db, "SELECT 1 FROM mailbox_state WHERE last_uid >= ? AND reading IS NULL", count))


def measure_first_start(proc: AgentProcess, started: float, db: Path, count: int, figures: dict) -> None:
    """The idle process's first start on the big folder: from its launch to every mail read."""
    say(f"\n== first start: `python -m agent run` on an empty database and a {count}-mail folder")
    first_incident = []

    def done() -> bool:
        if not first_incident and query(db, "SELECT 1 FROM mailbox_state"):
            first_incident.append(time.monotonic() - started)  # the recent part read: deadlines are acted on
        return first_sync_done(db, count)

    wait_until(done, 3600, "the first sync of the big folder", step=0.1)
    took = time.monotonic() - started
    say(
        f"every mail read {took:.1f} s after the process started ({count / took:,.0f} mails a second); "
        f"the recent part (where live incidents are) read after {first_incident[0] if first_incident else took:.1f} s"
    )
    kinds = dict(query(db, "SELECT kind, count(*) FROM messages GROUP BY kind"))
    states = dict(query(db, "SELECT state, count(*) FROM incidents GROUP BY state"))
    say(f"kinds recorded: {kinds}; incidents by state: {states}")
    figures["first_start_50k_s"] = round(took, 1)


def measure_resync_lateness(
    work: Path, dovecot, relay, big_db: Path, count: int, incidents: int, t2_after: int, poll: int, figures: dict
) -> None:
    """A copy of the idle process's database (the big folder read), a new process on it; T1s delivered, the
    folder renumbered, and the T2s due while the agent re-maps it: (the relay's 250 to each T2) - (its deadline)."""
    say(
        f"\n== lateness during a re-map: {incidents} T1s due {t2_after} s after they are sent, the {count}-mail "
        "folder renumbered right after them"
    )
    db = work / "resync-live.db"
    shutil.copy(big_db, db)
    cfg = write_config(work / "resync-live.ini", dovecot, relay, "big", db, poll=poll, t2_after=f"{t2_after}s")
    proc = AgentProcess(cfg, work / "agent-resync.log").start()
    try:
        wait_until(lambda: "waiting in IMAP IDLE" in proc.log.read_text(errors="replace"), 60, "the agent in IDLE")
        time.sleep(1.0)
        deadlines: dict[str, float] = {}
        for i in range(incidents):
            sent = int(time.time())
            msg = t1_mail(900_000 + i, datetime.fromtimestamp(sent, UTC))
            dovecot.deliver("big", msg.as_bytes(), mail_from=ALICE)
            deadlines[msg["Message-ID"]] = sent + t2_after
        renumbered = time.time()
        dovecot.set_uid_validity("big", 888_001)
        first_due = min(deadlines.values())
        say(f"the folder renumbered {first_due - renumbered:.2f} s before the first deadline")

        def t2s() -> dict[str, float]:
            return {
                str(r.message()["In-Reply-To"]).strip(): r.accepted_at
                for r in list(relay.accepted)
                if T2_ADDR in r.rcpt_tos and str(r.message()["In-Reply-To"]).strip() in deadlines
            }

        wait_until(lambda: len(t2s()) >= incidents, t2_after + 120, f"{incidents} T2s accepted", step=0.05)
        got = t2s()
        wait_until(
            lambda: query(db, "SELECT 1 FROM events WHERE kind = 'mailbox_reset'"), 600, "the re-map's end", step=0.1
        )
        [(ended, detail)] = query(db, "SELECT at, detail FROM events WHERE kind = 'mailbox_reset'")
        ended_at = datetime.fromisoformat(ended.replace("Z", "+00:00")).timestamp()
        late = sorted(got[m] - deadlines[m] for m in deadlines)
        inside = sum(1 for m in deadlines if deadlines[m] < ended_at)
        say(
            f"T2 lateness: max {late[-1]:.3f} s, min {late[0]:.3f} s; the re-map ran from the renumbering to "
            f"{ended_at - renumbered:.1f} s after it ({detail}); {inside} of {incidents} deadlines fell inside it"
        )
        figures["lateness_during_resync_max_s"] = round(late[-1], 3)
        figures["resync_50k_s"] = round(ended_at - renumbered, 1)
        figures["deadlines_inside_resync"] = f"{inside}/{incidents}"
    finally:
        code = proc.stop()
        if code != 0:
            say(f"warning: the re-map agent exited {code}; its log:\n{proc.log.read_text()[-2000:]}")
