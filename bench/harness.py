"""What every part of the bench shares: the project from this checkout, the addresses and mailbox users, the
Dovecot with a rawlog, the agent's config file, and small helpers (printing, percentiles, waiting, the database)."""

from __future__ import annotations

import grp
import os
import pwd
import sys
import time
from pathlib import Path

from agent.adapters.sqlite import sqlite3

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the project from this checkout, not an installed copy

try:
    import imapclient  # noqa: F401

    # the other bench modules import these from here, after the checkout is on sys.path
    from agent.adapters.config import load as load_config  # noqa: F401
    from agent.adapters.store import Store  # noqa: F401
    from agent.engine.service import Agent  # noqa: F401
    from tools.localmail import Dovecot, SmtpRelay
except ImportError as e:  # pragma: no cover - a setup problem, said in one sentence
    sys.exit(
        f"bench: cannot import the project or its dependencies ({e}); run scripts/setup and use "
        f".venv/bin/python bench/run.py"
    )

WATCHED, AGENT_ADDR, ALICE = "watch@partner.test", "agent@partner.test", "alice@partner.test"
T1_ADDR, T2_ADDR, T3_ADDR = "urgent@vendor.test", "t2@vendor.test", "t3@vendor.test"
SUPPORT = "support@vendor.test"
USERS = {"watch": "watch-pw", "alice": "alice-pw", "ingest": "ingest-pw", "big": "big-pw", "small": "small-pw"}
LOCAL = {WATCHED: "watch", ALICE: "alice"}


def say(text: str) -> None:
    print(text, flush=True)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile, nearest rank (p99 of 200 values is the 198th smallest)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


# -- a Dovecot that also keeps a rawlog of the IMAP sessions of users that have a rawlog directory ----------
class BenchDovecot(Dovecot):
    def _write_config(self) -> None:
        super()._write_config()
        with open(self.conf, "a") as f:  # a missing directory means no rawlog for that user
            f.write(f"protocol imap {{\n  rawlog_dir = {self.root}/rawlog/%u\n}}\n")

    def mail_owner(self) -> tuple[int, int]:
        if os.geteuid() == 0:  # as tools/localmail.py: Dovecot refuses uid 0 for mail
            return pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        return os.getuid(), os.getgid()

    def enable_rawlog(self, user: str) -> Path:
        d = self.root / "rawlog" / user
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, *self.mail_owner())
        (self.root / "rawlog").chmod(0o755)
        return d


# -- the agent's config ----------------------------------------------------------------------------------
def write_config(
    path: Path,
    dovecot: Dovecot,
    relay: SmtpRelay,
    user: str,
    db: Path,
    *,
    poll: int,
    t2_after: str = "5s",
    t3_after: str = "1h",
    dry_run: bool = False,
) -> Path:
    path.write_text(
        f"[imap]\nhost = {dovecot.host}\nport = {dovecot.imap_port}\nsecurity = none\nusername = {user}\n"
        f"password = {USERS[user]}\naddress = {WATCHED}\nfolders = INBOX\ntimeout = 30\n"
        f"[smtp]\nhost = {relay.host}\nport = {relay.port}\nsecurity = none\nfrom_address = {AGENT_ADDR}\n"
        f"timeout = 30\n"
        f"[escalation]\nt1_address = {T1_ADDR}\nt2_address = {T2_ADDR}\nt3_address = {T3_ADDR}\n"
        f"t2_after = {t2_after}\nt3_after = {t3_after}\nresponder_domains = vendor.test\n"
        f"internal_domains = partner.test\n"
        "join_same_outage = false\n"  # its incidents share one body (bench/corpus.py): each must stay its own
        "[agent]\nopened_notice = false\n"  # the bench measures the ladder, not the opening notice
        f"database = {db}\npoll_interval = {poll}\ndry_run = {'true' if dry_run else 'false'}\n"
        f"max_incident_age = 24h\nlog_level = info\n"
    )
    path.chmod(0o600)
    return path


def query(db: Path, sql: str, *args) -> list[tuple]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e) or "no such column" in str(e):  # created, migrations not all applied yet
            return []
        raise
    finally:
        conn.close()


def wait_until(condition, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(step)
    raise RuntimeError(f"not within {timeout:.0f}s: {what}")
