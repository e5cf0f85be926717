"""Write docs/audit-timeline.png: the auditors' Datasette page of an incident's timeline, at a laptop's width, as
headless Chromium (tools/browser.py) shows it.

The database is made by the sample run of tools/sample_mails.py (local Dovecot and SMTP relay); Datasette serves
it with datasette/metadata.json on 127.0.0.1 only, and is stopped by its own process id.

    python tools/audit_page.py
"""

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.adapters.sqlite import sqlite3

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO)]

from tools.browser import Browser  # noqa: E402
from tools.localmail import HOST, free_port  # noqa: E402
from tools.sample_mails import sample_database  # noqa: E402

LAPTOP = 1280  # CSS pixels
PAGES = {  # file under docs/ -> the page of the audit database
    "audit-timeline.png": "incident_timeline?id=1",
}


def audit_database(work: Path) -> Path:
    """The sample run's database as escalation-agent.db, the name the canned queries expect."""
    database = work / "escalation-agent.db"
    source, copy = sqlite3.connect(sample_database(work)), sqlite3.connect(database)
    source.backup(copy)  # with what the WAL still holds
    source.close()
    copy.close()
    return database


@contextmanager
def serve(database: Path) -> Iterator[str]:
    """Datasette on 127.0.0.1 with the project's metadata.json; yields the database's base URL."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("datasette")), "serve", str(database)]
        + ["-m", str(REPO / "datasette" / "metadata.json"), "-h", HOST, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://{HOST}:{port}/{database.stem}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never through a proxy
    try:
        for _ in range(150):
            try:
                direct.open(f"{base}.json", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"datasette stopped: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ea-audit-"))
    try:
        with serve(audit_database(work)) as base, Browser() as browser:
            for name, page in PAGES.items():
                browser.open(f"{base}/{page}", LAPTOP)
                width, inner = browser.widths()
                browser.screenshot(REPO / "docs" / name)
                print(f"docs/{name}: {page} at {inner} px, page {width} px wide")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
