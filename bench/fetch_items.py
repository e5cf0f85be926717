"""What each way of fetching the same 5,000 mails costs, on a bare imapclient session (the bench's Dovecot): the
floor's whole mails, the agent's header fields, the whole header block, sizes and dates alone, Message-IDs
alone. Usage: python bench/fetch_items.py [MAILS] (default 5000); the best of three runs each, twice."""

import sys
import time
from datetime import UTC, datetime, timedelta

from corpus import fill_maildir, mixed_corpus
from harness import USERS, BenchDovecot
from measure import CHUNK, floor_fetch

from agent.adapters.imap_items import CLASSIFIED_FIELDS  # noqa: E402 (harness put the checkout on sys.path)

WAYS = {
    "the floor: size, date and the whole mail": [["RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]"]],
    "the agent's: size, date and the header fields": [
        ["RFC822.SIZE", "INTERNALDATE", f"BODY.PEEK[{CLASSIFIED_FIELDS}]"]
    ],
    "size, date and the whole header block": [["RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[HEADER]"]],
    "size and date alone": [["RFC822.SIZE", "INTERNALDATE"]],
    "the Message-IDs alone (a re-map)": [["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]],
}


def fetch_all(dovecot: BenchDovecot, items: list) -> float:
    started = time.perf_counter()
    with dovecot.imap("ingest") as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["UID", "1:*"])
        for i in range(0, len(uids), CHUNK):
            for item in items:
                c.fetch(uids[i : i + CHUNK], item)
    return time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with BenchDovecot(USERS) as dovecot:
        fill_maildir(
            dovecot, "ingest", mixed_corpus(count, 1, datetime.now(UTC) - timedelta(days=2), timedelta(days=730))
        )
        floor_fetch(dovecot, "ingest")  # warm-up: Dovecot's index cache and the page cache
        for _ in range(2):
            for name, items in WAYS.items():
                print(f"{name:48} {min(fetch_all(dovecot, items) for _ in range(3)):.3f} s", flush=True)


if __name__ == "__main__":
    main()
