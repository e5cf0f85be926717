#!/usr/bin/env python3
"""Benchmarks of escalation-agent against a real Dovecot and a real SMTP server on 127.0.0.1.

    python bench/run.py            # the full run (about 10 minutes here); docs/benchmarks.md has its results
    python bench/run.py --quick    # a smaller run (under a minute), the same JSON keys plus "quick": true
    python bench/run.py --keep     # keep the work directory (databases, agent logs) for a look afterwards

It starts the throwaway servers of tools/localmail.py (the tests' harness), fills mailboxes, runs the agent
against them and prints what it measured. The last line of its output is one JSON object (full sizes; --quick:
500 mails to ingest, 1,500 vs 150 mails, 30 incidents over 8 s with t2_after 3 s, 10 replies, a 10 s window):

  ingest_ratio                 an in-process Agent's first sync (Agent.cycle() on an empty database) of 5,000
                               mixed mails (T1s, their threads, noise) / a bare imapclient SEARCH + FETCH of the
                               same mails (BODY.PEEK[] INTERNALDATE RFC822.SIZE, 500 UIDs a command), the floor,
                               measured in the same run (median of 4).                             goal <= 1.5
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
import base64
import ctypes
import email
import email.policy
import json
import os
import platform
import pwd
import grp
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the project from this checkout, not an installed copy

try:
    import imapclient  # noqa: F401
    from tools.localmail import Dovecot, SmtpRelay
    from agent.config import load as load_config
    from agent.service import Agent
    from agent.store import Store
except ImportError as e:  # pragma: no cover - a setup problem, said in one sentence
    sys.exit(f"bench: cannot import the project or its dependencies ({e}); run scripts/setup and use "
             f".venv/bin/python bench/run.py")

WATCHED, AGENT_ADDR, ALICE = "watch@partner.test", "agent@partner.test", "alice@partner.test"
T1_ADDR, T2_ADDR, T3_ADDR = "urgent@vendor.test", "t2@vendor.test", "t3@vendor.test"
SUPPORT = "support@vendor.test"
USERS = {"watch": "watch-pw", "alice": "alice-pw", "ingest": "ingest-pw", "big": "big-pw", "small": "small-pw"}
LOCAL = {WATCHED: "watch", ALICE: "alice"}
INTERNAL = ["alice", "bob", "carol", "dave", "erin", "frank"]
CORPUS = REPO / "tests" / "corpus"
CHUNK = 500  # UIDs per FETCH in the floor, as the agent does

FULL = dict(ingest=5000, big=50_000, small=1000, incidents=200, spread=60.0, t2_after=5, replies=100,
            cpu_window=60.0, cycles=1000, poll=5, gap=(0.3, 1.2))
QUICK = dict(ingest=500, big=1500, small=150, incidents=30, spread=8.0, t2_after=3, replies=10,
             cpu_window=10.0, cycles=200, poll=5, gap=(0.2, 0.6))


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


# -- mails as people and machines write them ------------------------------------------------------------------
def complete_t1_body(n: int) -> str:
    """Every required SOP item: no missing-items notice, so the lateness test measures escalations only."""
    return (f"Hello,\n\nSince 11:15 GMT every CreateGiftCard request fails with F500 (case {n}).\n\n"
            "Contact phone number: +1-555-0100\nContact email: alice@partner.test\nContact name: Alice Engineer\n"
            f"Brief problem description: Beginning at approximately 11:15 GMT all requests are failing with an "
            f"F500 error (bench incident {n}).\nPartner ID: Acmes\nExample request ID: Acmes3324500H{n}\n"
            "Example API error response: 'F500' GeneralError\nMarketplace: US\n"
            "Timestamp of example request: 11:32:06 GMT\nTime of first failing request: 11:15:06 GMT\n"
            "Is the behavior consistent? Yes, every request since 11:15 GMT has been failing.\n"
            "Recent changes: No, we have not had any software changes in the last two months.\n\nAlice\n")


def t1_mail(n: int, when: datetime, sender: str = ALICE, subject: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{sender.split('@')[0].title()} Engineer <{sender}>"
    msg["To"] = T1_ADDR
    msg["Cc"] = WATCHED
    msg["Subject"] = subject or f"Incentives API: all requests fail with F500 (bench {n})"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<bench-t1-{n}-{int(when.timestamp())}@partner.test>"
    msg.set_content(complete_t1_body(n))
    return msg


def reply_mail(t1: EmailMessage, n: int, when: datetime, sender: str = SUPPORT, body: str = "",
               headers: dict | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = t1["From"]
    msg["Cc"] = WATCHED
    msg["Subject"] = "RE: " + str(t1["Subject"])
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<bench-re-{n}@{sender.split('@')[1]}>"
    msg["In-Reply-To"] = t1["Message-ID"]
    msg["References"] = t1["Message-ID"]
    for k, v in (headers or {}).items():
        msg[k] = v
    quoted = "\n".join("> " + line for line in t1.get_body(("plain",)).get_content().splitlines()) \
        if isinstance(t1, EmailMessage) and t1.get_body(("plain",)) is not None else ""
    msg.set_content((body or "Thank you, we are looking into it and will update you within the hour.\n")
                    + f"\nOn {t1['Date']}, {t1['From']} wrote:\n{quoted}\n")
    return msg


LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex "
         "ea commodo consequat. ").split()


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(LOREM, k=n))


_LINES = [" ".join(random.Random(i).choices(LOREM, k=10)) for i in range(4000)]
_BLOB = base64.encodebytes(random.Random(0).randbytes(130_000)).decode().splitlines(keepends=True)


def lines(rng: random.Random, n: int) -> str:
    """About n words, ten to a line, from a pool of lines (50,000 mails must be written in seconds)."""
    return "\n".join(rng.choices(_LINES, k=max(1, n // 10)))


def blob(rng: random.Random, size: int) -> str:
    """An attachment of about `size` bytes, base64 in 76-character lines."""
    start = rng.randrange(0, 100)
    return "".join(_BLOB[start:start + size // 57])


def paragraphs(rng: random.Random, n: int) -> str:
    return "\n\n".join(lines(rng, rng.randint(30, 90)) for _ in range(n))


def raw(headers: list[tuple[str, str]], body: str, content_type: str = "text/plain; charset=us-ascii") -> bytes:
    """A mail as a mail client writes it, built as text (the email package is too slow for 50,000 of them)."""
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    if not content_type.startswith("multipart/"):
        head += "Content-Transfer-Encoding: 7bit\n"
    return f"{head}MIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}".encode()


def multipart(kind: str, boundary: str, parts: list[tuple[str, str]]) -> tuple[str, str]:
    """(content type, body) of a multipart of (part header block, part body)."""
    body = "".join(f"--{boundary}\n{h}\n\n{b}\n" for h, b in parts) + f"--{boundary}--\n"
    return f'multipart/{kind}; boundary="{boundary}"', body


def date(when: datetime) -> str:
    return format_datetime(when)


def t1_raw(rng: random.Random, n: int, when: datetime, sender: str) -> tuple[bytes, str, str, str]:
    """A generated T1 (half of them with an HTML table part): raw, Message-ID, subject, plain text."""
    subject = f"Incentives API: {words(rng, 4)} ({n})"
    mid = f"<bench-t1-{n}@partner.test>"
    text = complete_t1_body(n)
    headers = [("From", f"{sender.split('@')[0].title()} Engineer <{sender}>"), ("To", T1_ADDR), ("Cc", WATCHED),
               ("Subject", subject), ("Date", date(when)), ("Message-ID", mid)]
    if rng.random() < 0.5:
        rows = "".join(f"<tr><td>{line.split(':', 1)[0]}</td><td>{line.split(':', 1)[1]}</td></tr>"
                       for line in text.splitlines() if ": " in line)
        html = f"<html><body><p>Hello,</p><table border=1>{rows}</table><p>Alice</p></body></html>"
        ctype, body = multipart("alternative", f"=_alt_{n}", [
            ("Content-Type: text/plain; charset=us-ascii", text),
            ("Content-Type: text/html; charset=us-ascii", html)])
        return raw(headers, body, ctype), mid, subject, text
    return raw(headers, text), mid, subject, text


def reply_raw(n: int, when: datetime, t1_mid: str, subject: str, quoted: str, sender: str = SUPPORT,
              body: str = "", extra: tuple = ()) -> bytes:
    headers = [("From", sender), ("To", ALICE), ("Cc", WATCHED), ("Subject", "RE: " + subject),
               ("Date", date(when)), ("Message-ID", f"<bench-re-{n}@{sender.split('@')[1]}>"),
               ("In-Reply-To", t1_mid), ("References", t1_mid), *extra]
    quote = "\n".join("> " + line for line in quoted.splitlines())
    text = (body or "Thank you, we are looking into it and will update you within the hour.") + \
        f"\n\nOn {date(when)}, someone wrote:\n{quote}\n"
    return raw(headers, text)


def noise_raw(rng: random.Random, n: int, when: datetime) -> bytes:
    """What else lands in a shared mailbox: internal chatter, newsletters, notifications, files, vendor news."""
    kind = rng.choices(["chat", "newsletter", "notification", "attachment", "vendor_info"], [35, 25, 20, 10, 10])[0]
    me = f"{rng.choice(INTERNAL)}@partner.test"
    base = [("Date", date(when))]
    if kind == "chat":
        return raw([("From", me), ("To", f"{rng.choice(INTERNAL)}@partner.test"), ("Cc", WATCHED),
                    ("Subject", f"{words(rng, 4).capitalize()} ({n})"), *base,
                    ("Message-ID", f"<bench-chat-{n}@partner.test>")], paragraphs(rng, rng.randint(1, 4)) + "\n")
    if kind == "newsletter":
        text = paragraphs(rng, rng.randint(3, 8))
        html = "".join(f"<tr><td style='padding:8px;font-family:Arial'>{p}</td></tr>" for p in text.split("\n\n"))
        ctype, body = multipart("alternative", f"=_news_{n}", [
            ("Content-Type: text/plain; charset=us-ascii", text),
            ("Content-Type: text/html; charset=us-ascii", f"<html><body><table width='600'>{html}</table></body></html>")])
        return raw([("From", "news@newsletter.test"), ("To", WATCHED), ("Subject", f"Weekly digest {n}: {words(rng, 5)}"),
                    *base, ("Message-ID", f"<bench-news-{n}@newsletter.test>"), ("Precedence", "bulk"),
                    ("List-Unsubscribe", "<mailto:unsubscribe@newsletter.test>")], body, ctype)
    if kind == "notification":
        return raw([("From", "noreply@monitoring.test"), ("To", WATCHED),
                    ("Subject", f"[ALERT] {words(rng, 3)} latency above threshold ({n})"), *base,
                    ("Message-ID", f"<bench-alert-{n}@monitoring.test>"), ("Auto-Submitted", "auto-generated")],
                   f"Alert {n} fired at {when:%H:%M:%S} GMT.\n{lines(rng, 40)}\n")
    if kind == "attachment":
        ctype, body = multipart("mixed", f"=_mix_{n}", [
            ("Content-Type: text/plain; charset=us-ascii",
             "Please find the report attached.\n\n" + lines(rng, 40)),
            (f'Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n'
             f'Content-Disposition: attachment; filename="report-{n}.pdf"', blob(rng, rng.randint(20_000, 120_000)))])
        return raw([("From", me), ("To", WATCHED), ("Subject", f"Report {n}: {words(rng, 3)}"), *base,
                    ("Message-ID", f"<bench-report-{n}@partner.test>")], body, ctype)
    return raw([("From", "info@vendor.test"), ("To", WATCHED), ("Subject", f"Incentives API maintenance notice {n}"),
                *base, ("Message-ID", f"<bench-info-{n}@vendor.test>")], paragraphs(rng, 2) + "\n")


def corpus_t1(rng: random.Random, n: int, when: datetime, templates: list[bytes]) -> tuple[bytes, str, str, str]:
    """One of the clients' T1s in tests/corpus (encodings, HTML tables, forwards, misroutes), made unique."""
    msg = email.message_from_bytes(rng.choice(templates), policy=email.policy.compat32)
    subject = f"{msg.get('Subject', '')} [{n}]"
    for name in ("Message-ID", "Date", "Subject"):
        del msg[name]
    mid = f"<bench-ct1-{n}@partner.test>"
    msg["Message-ID"], msg["Date"], msg["Subject"] = mid, date(when), subject
    return msg.as_bytes(), mid, subject, "(the original T1)"


def mixed_corpus(count: int, seed: int, end: datetime, span: timedelta) -> list[tuple[bytes, datetime]]:
    """`count` mails of a shared escalation mailbox, oldest first: about 10% of the threads start with a T1 (a
    third of them from the clients' corpus), with their vendor responses, auto-replies and internal follow-ups;
    the rest is noise. Every T1 is older than max_incident_age, as on a first start over years of mail."""
    rng = random.Random(seed)
    templates = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    start = end - span
    out: list[tuple[datetime, int, bytes]] = []
    n = 0
    while len(out) < count + count // 10:
        n += 1
        when = (start + timedelta(seconds=rng.uniform(0, span.total_seconds() - 86400 * 3))).replace(microsecond=0)
        if rng.random() >= 0.10:
            out.append((when, n, noise_raw(rng, n, when)))
            continue
        sender = f"{rng.choice(INTERNAL)}@partner.test"
        if rng.random() < 0.33 and templates:
            data, mid, subject, text = corpus_t1(rng, n, when, templates)
        else:
            data, mid, subject, text = t1_raw(rng, n, when, sender)
        out.append((when, n, data))
        if rng.random() < 0.3:
            w = when + timedelta(seconds=40)
            out.append((w, n, reply_raw(n * 10 + 1, w, mid, subject, "", "noreply@vendor.test",
                                        "We received your request.", (("Auto-Submitted", "auto-replied"),))))
        if rng.random() < 0.3:
            w = when + timedelta(minutes=25)
            out.append((w, n, reply_raw(n * 10 + 2, w, mid, subject, text, sender, "Any update?")))
        if rng.random() < 0.7:
            w = (when + timedelta(minutes=rng.uniform(5, 90))).replace(microsecond=0)
            out.append((w, n, reply_raw(n * 10 + 3, w, mid, subject, text)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [(data, when) for when, _, data in out[:count]]


# -- filling a mailbox without APPEND -------------------------------------------------------------------------
def fill_maildir(dovecot: BenchDovecot, user: str, mails: list[tuple[bytes, datetime]]) -> float:
    """Write Maildir files (as Dovecot's LMTP would: LF line ends, ,S= and ,W= sizes, mtime = INTERNALDATE)
    into cur/ of the user's INBOX, then `doveadm force-resync`; returns the seconds it took."""
    started = time.perf_counter()
    uid, gid = dovecot.mail_owner()
    maildir = dovecot.root / "home" / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    host = "bench"
    for i, (raw, when) in enumerate(mails):
        data = raw.replace(b"\r\n", b"\n")
        ts = int(when.timestamp())
        virtual = len(data) + data.count(b"\n")  # RFC822.SIZE counts CRLF line ends
        name = f"{ts}.M{i:06d}P{os.getpid()}.{host},S={len(data)},W={virtual}:2,"
        path = maildir / "cur" / name
        path.write_bytes(data)
        os.utime(path, (ts, ts))
        os.chown(path, uid, gid)
    for p in [maildir, *(maildir / s for s in ("cur", "new", "tmp"))]:
        os.chown(p, uid, gid)
    res = subprocess.run(["doveadm", "-c", str(dovecot.conf), "force-resync", "-u", user, "INBOX"],
                         capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"doveadm force-resync failed: {res.stderr}")
    return time.perf_counter() - started


# -- configs and the agent process ------------------------------------------------------------------------
def write_config(path: Path, dovecot: Dovecot, relay: SmtpRelay, user: str, db: Path, *, poll: int,
                 t2_after: str = "5s", t3_after: str = "1h", dry_run: bool = False) -> Path:
    path.write_text(
        f"[imap]\nhost = {dovecot.host}\nport = {dovecot.imap_port}\nsecurity = none\nusername = {user}\n"
        f"password = {USERS[user]}\naddress = {WATCHED}\nfolders = INBOX\ntimeout = 30\n"
        f"[smtp]\nhost = {relay.host}\nport = {relay.port}\nsecurity = none\nfrom_address = {AGENT_ADDR}\n"
        f"timeout = 30\n"
        f"[escalation]\nt1_address = {T1_ADDR}\nt2_address = {T2_ADDR}\nt3_address = {T3_ADDR}\n"
        f"t2_after = {t2_after}\nt3_after = {t3_after}\nresponder_domains = vendor.test\n"
        f"internal_domains = partner.test\n"
        f"[agent]\ndatabase = {db}\npoll_interval = {poll}\ndry_run = {'true' if dry_run else 'false'}\n"
        f"max_incident_age = 24h\nlog_level = info\n")
    path.chmod(0o600)
    return path


_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:
    _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: an interrupted bench leaves no agent behind


class AgentProcess:
    """`python -m agent -c CONFIG run`, a real process, stopped by its pid with SIGTERM."""

    def __init__(self, config: Path, log: Path):
        self.config, self.log = config, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "AgentProcess":
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
        env.pop("NOTIFY_SOCKET", None)
        env.pop("WATCHDOG_USEC", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "agent", "-c", str(self.config), "run"], cwd=REPO,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
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


def query(db: Path, sql: str, *args) -> list[tuple]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
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


# -- the measurements -----------------------------------------------------------------------------------------
def floor_fetch(dovecot: Dovecot, user: str) -> tuple[float, int, int]:
    """The floor: log in, EXAMINE, SEARCH, FETCH every mail's body, date and size, 500 UIDs a command."""
    started = time.perf_counter()
    with dovecot.imap(user) as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["UID", "1:*"])
        count = size = 0
        for i in range(0, len(uids), CHUNK):
            for data in c.fetch(uids[i:i + CHUNK], ["RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[]"]).values():
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
    cfg = load_config(write_config(work / "ingest.ini", dovecot, relay, "ingest", db, poll=60, dry_run=True))
    store = Store(db)
    agent = Agent(cfg, store)
    try:
        started = time.perf_counter()
        report = agent.cycle()
        agent_s = time.perf_counter() - started
    finally:
        agent.close()
        store.close()
    floors.append(floor_fetch(dovecot, "ingest"))
    floor_s = statistics.median(f[0] for f in floors)
    kinds = dict(query(db, "SELECT kind, count(*) FROM messages GROUP BY kind"))
    say(f"mails: {n}, {size / 1e6:.1f} MB; kinds recorded by the agent: {kinds}")
    say(f"floor (bare fetch) runs: {', '.join(f'{f[0]:.2f}' for f in floors)} s -> median {floor_s:.2f} s")
    say(f"agent first sync: {agent_s:.2f} s ({report.new_mails} new mails, {agent_s / n * 1000:.2f} ms/mail)")
    if report.new_mails != count:
        raise RuntimeError(f"the agent recorded {report.new_mails} mails, not {count}")
    figures["ingest_ratio"] = round(agent_s / floor_s, 2)
    figures["ingest_agent_s"] = round(agent_s, 2)
    figures["ingest_floor_s"] = round(floor_s, 3)


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


def timed_cycle(agent: Agent):
    started = time.perf_counter()
    report = agent.cycle()
    return time.perf_counter() - started, report


def measure_idle_cycle(work: Path, dovecot, relay, agents: dict[str, Agent], sizes: dict[str, int], rounds: int,
                       figures: dict) -> None:
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
        say(f"{label}: " + "; ".join(f"{k} median {med[k] * 1000:.2f} ms (p10 {pct(v, 10) * 1000:.2f}, "
                                     f"p90 {pct(v, 90) * 1000:.2f})" for k, v in times.items())
            + f" over {rounds} cycles each -> ratio {med['big'] / med['small']:.2f}")
        if label.startswith("same"):
            figures["idle_cycle_ratio_50k_vs_1k"] = round(med["big"] / med["small"], 2)
            figures["idle_cycle_ms_big"] = round(med["big"] * 1000, 2)
            figures["idle_cycle_ms_small"] = round(med["small"] * 1000, 2)
        else:
            figures["idle_cycle_ratio_new_connection"] = round(med["big"] / med["small"], 2)


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


def measure_idle_process(proc: AgentProcess, db: Path, rawdir: Path, big: int, window: float, poll: int,
                         figures: dict) -> None:
    say(f"\n== idle process: `python -m agent run` on a {big}-mail folder, poll_interval {poll}s")
    try:
        wait_until(lambda: query(db, "SELECT last_uid FROM mailbox_state WHERE last_uid >= ?", big),
                   3600, "the first sync of the big folder", step=0.2)  # UIDs 1..big after force-resync
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
        say(f"over {t1 - t0:.1f} s idle: CPU {(c1 - c0) / ticks:.2f} s = {cpu:.2f} %; VmRSS {rss:.1f} MB, "
            f"VmHWM {hwm:.1f} MB")
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
    say(f"IMAP commands the idle process sent in those {t1 - t0:.0f} s (Dovecot's rawlog; "
        f"{len(lines)} lines):")
    for at, line in lines[:12]:
        say(f"  {at - t0:7.3f}  {line}")
    figures["idle_imap_lines_per_min"] = round(len(lines) / (t1 - t0) * 60, 1)
    # one idle cycle: from the DONE that ends an IDLE to the next IDLE, tags dropped
    texts = [l.split(" ", 1)[1] if re.match(r"^\S+ [A-Z]", l) and l != "DONE" else l for _, l in lines]
    if "DONE" in texts and "IDLE" in texts[texts.index("DONE"):]:
        i = texts.index("DONE")
        figures["idle_cycle_imap"] = texts[i:texts.index("IDLE", i) + 1]
    spans = []  # DONE -> the next IDLE, by Dovecot's clock: the whole cycle of the real process
    for k, text in enumerate(texts):
        if text == "DONE" and "IDLE" in texts[k:]:
            spans.append(lines[texts.index("IDLE", k)][0] - lines[k][0])
    if spans:
        say(f"the process's idle cycles (DONE to the next IDLE, by the rawlog's clock): median "
            f"{statistics.median(spans) * 1000:.1f} ms, max {max(spans) * 1000:.1f} ms over {len(spans)}")
        figures["idle_process_cycle_ms"] = round(statistics.median(spans) * 1000, 1)


def measure_live(work: Path, dovecot: Dovecot, relay: SmtpRelay, n: int, spread: float, t2_after: int,
                 replies: int, gap: tuple[float, float], poll: int, figures: dict) -> None:
    say(f"\n== live: `python -m agent run`, {n} T1s with deadlines spread over {spread:.0f} s, t2_after "
        f"{t2_after}s, poll_interval {poll}s; then {replies} vendor replies")
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
            msg = t1_mail(i, datetime.fromtimestamp(sent, timezone.utc))
            relay.send(msg, ALICE, [T1_ADDR, WATCHED])
            deadlines[msg["Message-ID"]] = sent + t2_after
            t1s[msg["Message-ID"]] = msg
        last = max(deadlines.values())

        got: dict[str, float] = {}
        read = [0]

        def t2s() -> dict[str, float]:  # the relay's records, each parsed once
            records = list(relay.accepted)
            for rec in records[read[0]:]:
                if rec.mail_from == AGENT_ADDR and T2_ADDR in rec.rcpt_tos:
                    got[str(rec.message()["In-Reply-To"]).strip()] = rec.accepted_at
            read[0] = len(records)
            return got
        wait_until(lambda: len(t2s()) >= n, max(0.0, last - time.time()) + 60, f"{n} T2s accepted", step=0.2)
        late = [got[mid] - deadlines[mid] for mid in deadlines]
        say(f"T2 lateness over {len(late)} incidents: p50 {pct(late, 50):.3f} s, p90 {pct(late, 90):.3f} s, "
            f"p99 {pct(late, 99):.3f} s, max {max(late):.3f} s, min {min(late):.3f} s")
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
                r = reply_mail(t1s[mid], 100_000 + k, datetime.now(timezone.utc))
                dovecot.deliver("watch", r.as_bytes(), SUPPORT)
                delivered[ids[mid]] = time.time()
                time.sleep(rng.uniform(*gap))
            wait_until(lambda: all(i in seen for i in delivered), 30, "every reply seen", step=0.1)
        finally:
            done.set()
            watcher.join()
        lat = [seen[i] - delivered[i] for i in delivered]
        say(f"reply -> responded over {len(lat)} replies: p50 {pct(lat, 50):.3f} s, p90 {pct(lat, 90):.3f} s, "
            f"p99 {pct(lat, 99):.3f} s, max {max(lat):.3f} s")
        figures["reply_detection_p99_s"] = round(pct(lat, 99), 3)
        figures["reply_detection_p50_s"] = round(pct(lat, 50), 3)
    finally:
        code = proc.stop()
        log = proc.log.read_text(errors="replace")
        if code != 0 or "Traceback" in log:
            say(f"warning: the live agent exited {code}; log tail:\n{log[-3000:]}")


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
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
    return dict(nproc=os.cpu_count(), cpu=cpu, ram_gb=round(mem / 1024 / 1024, 1),
                python=platform.python_version(), dovecot=dovecot, load=os.getloadavg())


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
            end, span = datetime.now(timezone.utc) - timedelta(days=2), timedelta(days=730)

            def fill(user: str, count: int, seed: int) -> None:
                t = time.perf_counter()
                mails = mixed_corpus(count, seed, end, span)
                gen = time.perf_counter() - t
                took = fill_maildir(dovecot, user, mails)
                say(f"filled {user}: {count} mails ({sum(len(r) for r, _ in mails) / 1e6:.1f} MB), "
                    f"generated in {gen:.1f} s, written + doveadm force-resync in {took:.1f} s")

            loads.enter("fill + first syncs (not measured)")
            fill("big", size["big"], 2)
            # The idle process reads the big folder first; meanwhile the bench does only unmeasured work: the
            # in-process agent's first syncs (whose connections the idle-cycle figure then uses) and filling.
            proc, big_db, rawdir = start_idle_process(work, dovecot, relay, size["poll"])
            agents: dict[str, Agent] = {}
            try:
                try:
                    agents["big"] = open_agent(work, dovecot, relay, "big", work / "big-inproc.db", "cycle")
                    took, r = timed_cycle(agents["big"])
                    say(f"in-process first sync of the big folder: {r.new_mails} mails in {took:.1f} s "
                        f"(while the idle process read the same folder)")
                    fill("ingest", size["ingest"], 1)
                    fill("small", size["small"], 3)
                    agents["small"] = open_agent(work, dovecot, relay, "small", work / "small.db", "cycle")
                    took, r = timed_cycle(agents["small"])
                    say(f"in-process first sync of the small folder: {r.new_mails} mails in {took:.1f} s")
                    loads.enter("idle process")
                    measure_idle_process(proc, big_db, rawdir, size["big"], size["cpu_window"], size["poll"],
                                         figures)
                finally:
                    proc.stop()
                loads.enter("ingest")
                measure_ingest(work, dovecot, relay, size["ingest"], figures)
                loads.enter("idle cycle")
                measure_idle_cycle(work, dovecot, relay, agents, {"big": size["big"], "small": size["small"]},
                                   size["cycles"], figures)
            finally:
                for a in agents.values():
                    close_agent(a)
            loads.enter("live (lateness, replies)")
            measure_live(work, dovecot, relay, size["incidents"], size["spread"], size["t2_after"], size["replies"],
                         size["gap"], size["poll"], figures)
            loads.enter("teardown")
            dovecot_root = dovecot.root
        leftovers = [p.parent.name for p in Path("/proc").glob("[0-9]*/cmdline")
                     if _mentions(p, dovecot_root.name)]
        say("no Dovecot of this run is left running" if not leftovers else
            f"warning: Dovecot processes of this run still running: {leftovers}")
    finally:
        if args.keep:
            say(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    goals = {"ingest_ratio": 1.5, "idle_cycle_ratio_50k_vs_1k": 1.2, "escalation_lateness_p99_s": 1.0,
             "reply_detection_p99_s": 2.0, "idle_rss_mb": 80, "idle_cpu_percent": 1}
    say("\n== figure vs goal")
    for key, goal in goals.items():
        value = figures.get(key)
        verdict = "met" if value is not None and value <= goal else "MISSED"
        say(f"  {key:30} {value!s:>8}  goal <= {goal:<5} {verdict}")
    loads.done.set()
    say("load average (1 min), min-max per phase: " + "; ".join(
        f"{k} {v[0]:.2f}-{v[1]:.2f}" for k, v in loads.summary().items()) + "; "
        f"total {time.monotonic() - started:.0f} s")
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
