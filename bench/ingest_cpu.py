"""What ingest costs a mail in CPU alone, with no IMAP: the bench's mails as a first start fetches them (old: the
header fields only, and only those the server does not pass over) ingested into a fresh database, 500 a
transaction, and the time of each stage.

    python bench/ingest_cpu.py [MAILS]     # default 5,000; three runs, then one timed by stage

Timers wrap the stages in the last run, so its total is a little above the others. Compare runs of two commits
on the same minute: this VM's speed drifts by up to a third within an hour.
"""

import email.parser
import email.policy
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from corpus import mixed_corpus
from decisions import CONFIG

from agent.adapters import store as store_mod  # noqa: E402 (corpus put the checkout on sys.path)
from agent.adapters.config import load  # noqa: E402
from agent.core.deciding import arrive as arrive_mod
from agent.core.reading import limits
from agent.core.reading import mail as mail_mod
from agent.core.reading.folder import HEADER_FIELDS, Fetched
from agent.engine import ingest as ingest_mod  # noqa: E402

WANTED = {name.lower() for name in HEADER_FIELDS}
STAGES = {
    ingest_mod: ("arrive", "effects", "apply", "_message_row", "same_outage"),
    arrive_mod: ("find_thread", "classify", "_receipt_signs"),
    mail_mod: ("_fields", "_with_text"),
    limits.Cut: ("head", "whole"),
}
STORE_STAGES = (
    "has_message",
    "add_message",
    "own_message_ids",
    "has_case_ids",
    "incident",
    "add_incident",
    "event",
    "orphans_referring_to",
)


def as_fetched(raw: bytes) -> bytes:
    """What `BODY[HEADER.FIELDS (...)]` answers: those fields as written, then a blank line."""
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    kept = [f"{n}: {v}".encode("utf-8", "surrogateescape") for n, v in msg.raw_items() if n.lower() in WANTED]
    return b"".join(line.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + b"\r\n" for line in kept) + b"\r\n"


def fetched_at_all(raw: bytes) -> bool:
    """What the server's SEARCH keeps of old mail (agent.core.reading.folder.Involved), for the bench's addresses."""
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    named = " ".join(str(msg.get(h, "")) for h in ("From", "To", "Cc")).lower()
    ladder = ("urgent@vendor.test", "t2@vendor.test", "t3@vendor.test", "agent@partner.test")
    return any(a in named for a in ladder) or msg.get("X-Escalation-Agent-Provenance") is not None


def run(mails: list, now: datetime) -> float:
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "config.ini").write_text(CONFIG.format(db=Path(work) / "state.db"))
        cfg = load(Path(work) / "config.ini")
        store = store_mod.Store(cfg.agent.database)
        started = time.perf_counter()
        for i in range(0, len(mails), 500):
            with store.transaction():
                for n, (raw, when) in enumerate(mails[i : i + 500]):
                    fetched = Fetched("INBOX", i + n + 1, 1, raw, when, 9000, "older than max_incident_age")
                    ingest_mod.ingest(store, fetched, cfg, now)
        took = time.perf_counter() - started
        store.close()
    return took


def timed(spent: dict, name: str, fn):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    now = datetime.now(UTC)
    corpus = mixed_corpus(count, 1, now - timedelta(days=2), timedelta(days=730))
    mails = [(as_fetched(r), w) for r, w in corpus if fetched_at_all(r)]
    print(f"{len(mails)} of {count} mails fetched at all (the rest passed over by the server)", flush=True)
    count = len(mails)
    for _ in range(3):
        print(f"{count} mails: {run(mails, now) / count * 1e6:.0f} µs a mail", flush=True)
    spent: dict[str, float] = {}
    for module, names in STAGES.items():
        for name in names:
            setattr(module, name, timed(spent, name, getattr(module, name)))
    for name in STORE_STAGES:
        setattr(store_mod.Store, name, timed(spent, name, getattr(store_mod.Store, name)))
    total = run(mails, now)
    print(f"timed by stage: {total / count * 1e6:.0f} µs a mail, of which", flush=True)
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:16} {seconds / count * 1e6:6.1f} µs")
    print(
        "(arrive includes find_thread, classify, the header fields (_fields), the body (_with_text) and the cut "
        "(head, whole); the rest of ingest's own code and its savepoint are not timed)"
    )


if __name__ == "__main__":
    main()
