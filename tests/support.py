"""Shared helpers for the tests that talk to real servers: configs, mails as people write them, the agent process."""

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from agent.adapters.sqlite import sqlite3
from agent.core.settings import EscalationConfig

WATCHED = "watch@partner.test"
AGENT = "agent@partner.test"
ALICE = "alice@partner.test"
BOB = "bob@partner.test"
T1_ADDR, T2_ADDR, T3_ADDR = "urgent@vendor.test", "t2@vendor.test", "t3@vendor.test"
SUPPORT = "support@vendor.test"
USERS = {"watch": "watch-pw", "alice": "alice-pw"}
LOCAL = {WATCHED: "watch", ALICE: "alice", BOB: "alice"}
REPO = Path(__file__).resolve().parent.parent


# The escalation rules of the unit tests of the core (classify, effects, automatic mail, hostile mail).
RULES = EscalationConfig(
    t1_address=T1_ADDR,
    t2_address=T2_ADDR,
    t3_address=T3_ADDR,
    t2_after=timedelta(minutes=30),
    t3_after=timedelta(minutes=30),
    responder_domains=("vendor.test",),
    internal_domains=("partner.test",),
)


# A config.ini for tests that need no server (ingest, config and store against SQLite alone). It ends in
# [escalation], so a test may append keys of that section or further sections.
OFFLINE_CONFIG = """
[imap]
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
"""


def write_config(directory: Path, dovecot, relay, **overrides) -> Path:
    """A config.ini for the local servers; overrides are `section_key=value` (e.g. agent_dry_run="true")."""
    values = {
        "imap": dict(
            host=dovecot.host,
            port=dovecot.imap_port,
            security="none",
            username="watch",
            password=USERS["watch"],
            address=WATCHED,
            folders="INBOX",
            timeout=10,
        ),
        "smtp": dict(host=relay.host, port=relay.port, security="none", from_address=AGENT, timeout=10),
        "escalation": dict(
            t1_address=T1_ADDR,
            t2_address=T2_ADDR,
            t3_address=T3_ADDR,
            t2_after="3s",
            t3_after="3s",
            responder_domains="vendor.test",
            internal_domains="partner.test",
            # off here: most tests send several T1s with one body (COMPLETE_T1), which is one outage by the rule;
            # tests/test_one_outage.py turns it on
            join_same_outage="false",
        ),
        "agent": dict(
            database=str(directory / "state.db"),
            poll_interval=1,
            dry_run="false",
            max_incident_age="24h",
            log_level="info",
            # off here, so that each test counts only the mails it is about (test_steer_by_mail.py checks it)
            opened_notice="false",
        ),
    }
    for key, value in overrides.items():
        section, _, name = key.partition("_")
        if value is None:
            values.get(section, {}).pop(name, None)
        else:
            values.setdefault(section, {})[name] = value  # a section of its own too ([ha], [drill])
    path = directory / "config.ini"
    path.write_text("".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()) for s, kv in values.items()))
    path.chmod(0o600)  # it holds passwords: the agent warns about a file every user can read
    return path


def t1(subject="Incentives API: all requests fail with F500", sender=ALICE, when=None, body=None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Alice Engineer <{sender}>"
    msg["To"] = T1_ADDR
    msg["Cc"] = f"{WATCHED}, {BOB}"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="partner.test")
    msg.set_content(body or COMPLETE_T1)
    return msg


COMPLETE_T1 = """Contact phone number: +1-555-0100
Contact email: alice@partner.test
Contact name: Alice Engineer
Brief problem description: since 11:15 GMT every request fails with F500.
Partner ID: Acmes
Example request Id: Acmes3324500H2
Example API error response: 'F500' GeneralError
Marketplace: US
Timestamp of example request: 11:32:06 GMT
First failing request: 11:15:06 GMT
Is the behavior consistent? Yes, every request since 11:15 GMT has been failing.
Recent changes: none in the last two months.
"""


def reply(
    to: EmailMessage, sender=SUPPORT, body="We are looking into it.", headers=None, recipients=(ALICE, WATCHED)
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipients[0]
    msg["Cc"] = ", ".join(recipients[1:])
    msg["Subject"] = "RE: " + to["Subject"]
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["In-Reply-To"] = to["Message-ID"]
    msg["References"] = " ".join(filter(None, [to.get("References"), to["Message-ID"]]))
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


def send(relay, msg: EmailMessage) -> None:
    """Send as the engineer's or vendor's mail client would: every To and Cc gets it."""
    rcpts = [a.strip() for h in ("To", "Cc") for a in (msg.get(h) or "").split(",") if a.strip()]
    relay.send(msg, msg["From"].split("<")[-1].rstrip(">"), rcpts)


def to(address):
    """A predicate for SmtpRelay.wait_for: at least one accepted mail to `address`."""
    return lambda accepted: any(address in a.rcpt_tos for a in accepted)


def sent_to(relay, address) -> list:
    return [a for a in list(relay.accepted) if address in a.rcpt_tos and a.mail_from == AGENT]


def query(db: Path, sql: str, *args) -> list[tuple]:
    """Read the agent's database as an auditor would (read-only); [] until the agent created it."""
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


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def agent_command(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent", "-c", str(config), *args], capture_output=True, text=True, timeout=60, cwd=REPO
    )


class AgentProcess:
    """`escalation-agent run` as a real process; stopped with SIGTERM, which must end it cleanly."""

    def __init__(self, config: Path, env: dict | None = None):
        self.config = config
        self.env = env or {}
        n = 1
        while (config.parent / f"agent-{n}.log").exists():  # one log per process: a restart starts afresh
            n += 1
        self.log = config.parent / f"agent-{n}.log"
        self.log.touch()
        self.proc: subprocess.Popen | None = None

    def start(self) -> "AgentProcess":
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "-c", str(self.config), "run"],
            cwd=REPO,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent,
        )
        return self

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("escalation-agent run did not stop within 15 s of SIGTERM") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        code = self.stop()
        if exc[0] is None:
            assert code == 0, f"escalation-agent run exited {code}:\n{self.output()}"


def status_json(config: Path, *args: str) -> list[dict]:
    result = agent_command(config, "status", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- the store's rows as dicts, read by key: what a test asserts of an incident, its escalations, notices and events --
def incident_row(store, incident_id: int) -> dict:
    return asdict(store.incident_record(incident_id))


def escalation_rows(store, incident_id: int) -> list[dict]:
    return [asdict(e) for e in store.escalations(incident_id)]


def notice_rows(store, incident_id: int) -> list[dict]:
    return [asdict(n) for n in store.notices(incident_id)]


def events(store, incident_id: int) -> list[dict]:
    return [asdict(e) for e in store.audit_events(incident_id)]
