"""Where the agent's first sync spends its time: the server's SEARCH that passes over old mail, the fetch, arrive()
(the core's reading of a mail) and the rest of ingest, against the bare fetch (the floor of `ingest_ratio`).
Usage: python bench/ingest_stages.py [MAILS] (default 5000); three runs.
Timers wrap the stages, so the total is a little above bench/run.py's."""

import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from corpus import fill_maildir, mixed_corpus
from harness import LOCAL, USERS, Agent, BenchDovecot, SmtpRelay, Store, load_config, write_config
from measure import floor_fetch

from agent.adapters import imap as mailbox  # noqa: E402 (harness put the checkout on sys.path)
from agent.core.reading import mail
from agent.engine import (
    ingest,  # noqa: E402 (harness put the checkout on sys.path)
    reading,  # noqa: E402 (harness put the checkout on sys.path)
)

SPENT = {"narrow": 0.0, "fetch": 0.0, "arrive": 0.0, "ingest": 0.0}


def timed(stage: str, fn):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[stage] += time.perf_counter() - started

    return wrapper


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    mailbox.Mailbox._fetch_chunk = staticmethod(timed("fetch", mailbox.Mailbox._fetch_chunk))
    mailbox.Mailbox._fetch_narrowed = classmethod(timed("narrow", mailbox.Mailbox._fetch_narrowed.__func__))
    ingest.arrive = timed("arrive", ingest.arrive)
    reading.ingest = timed("ingest", reading.ingest)
    work = Path(tempfile.mkdtemp(prefix="ea-stages-", dir="/tmp"))
    os.chmod(work, 0o755)
    try:
        with BenchDovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL) as relay:
            end = datetime.now(UTC) - timedelta(days=2)
            fill_maildir(dovecot, "ingest", mixed_corpus(count, 1, end, timedelta(days=730)))
            floor_fetch(dovecot, "ingest")  # warm-up
            floor = min(floor_fetch(dovecot, "ingest")[0] for _ in range(3))
            for run in range(3):
                for stage in SPENT:
                    SPENT[stage] = 0.0
                db = work / f"run{run}.db"
                cfg = load_config(
                    write_config(work / f"run{run}.ini", dovecot, relay, "ingest", db, poll=60, dry_run=True)
                )
                agent = Agent(cfg, Store(db))
                started = time.perf_counter()
                agent.cycle(backlog_budget=None)
                took = time.perf_counter() - started
                agent.close()
                agent.store.close()
                rest = SPENT["ingest"] - SPENT["arrive"]
                search = SPENT["narrow"] - SPENT["fetch"]
                other = took - SPENT["narrow"] - SPENT["ingest"]
                print(
                    f"{count} mails: agent {took:.2f} s = SEARCH {search:.2f} + fetch {SPENT['fetch']:.2f} + arrive() "
                    f"{SPENT['arrive']:.2f} + rest of ingest {rest:.2f} + other {other:.2f}; floor {floor:.2f} s; "
                    f"ratio {took / floor:.2f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    parsers(mixed_corpus(count, 1, datetime.now(UTC) - timedelta(days=2), timedelta(days=730)))


def parsers(mails: list) -> None:
    """The per-mail cost of each way of reading the same mails, CPU only (no IMAP, no database)."""
    raws = [raw for raw, _ in mails]
    ways = {
        "parse(raw): mail-parser, whole mail": mail.parse,
        "parse(raw, headers_only=True): the email package's compat32 header parser, header block": lambda r: mail.parse(
            r, headers_only=True
        ),
    }
    for name, read in ways.items():
        started = time.perf_counter()
        for raw in raws:
            read(raw)
        print(f"{name}: {(time.perf_counter() - started) / len(raws) * 1000:.2f} ms a mail", flush=True)


if __name__ == "__main__":
    main()
