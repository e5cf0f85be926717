"""How long one `ladder.decisions()` takes over N open incidents (the work of every cycle, three times in a
cycle that sends). Prints the median of 20 calls. Usage: python bench/decisions.py [N] (default 200)."""

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.adapters.config import load  # noqa: E402
from agent.adapters.store import Store  # noqa: E402
from agent.core.reading.folder import Fetched
from agent.engine import ladder  # noqa: E402
from agent.engine.ingest import ingest  # noqa: E402

CONFIG = """[imap]
host = 127.0.0.1
username = watch@partner.test
password = x
[smtp]
host = 127.0.0.1
from_address = agent@partner.test
[escalation]
t1_address = urgent@vendor.test
t2_address = t2@vendor.test
t3_address = t3@vendor.test
responder_domains = vendor.test
internal_domains = partner.test
# its incidents share one partner, marketplace and error: each must stay its own
join_same_outage = false
[agent]
database = {db}
"""


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "config.ini").write_text(CONFIG.format(db=Path(work) / "state.db"))
        cfg = load(Path(work) / "config.ini")
        store = Store(cfg.agent.database)
        now = datetime.now(UTC)
        for n in range(count):
            raw = (
                f"From: alice@partner.test\r\nTo: urgent@vendor.test\r\nSubject: API down {n}\r\n"
                f"Date: {now.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\nMessage-ID: <t{n}@partner.test>\r\n"
                f"\r\nPartner ID: Acmes\r\n"
            ).encode()
            ingest(store, Fetched("INBOX", n + 1, 1, raw, now, len(raw)), cfg, now)
        ladder.decisions(store, cfg, now)  # the first call records each decision; later ones only compare
        times = []
        for _ in range(20):
            started = time.perf_counter()
            ladder.decisions(store, cfg, now)
            times.append(time.perf_counter() - started)
        store.close()
    print(f"decisions() over {count} open incidents: median {statistics.median(times) * 1000:.1f} ms over 20 calls")


if __name__ == "__main__":
    main()
