"""The agent's demo: a throwaway local IMAP + SMTP pair, windows of seconds, two incidents.

Incident 1 gets no answer and climbs T1 -> T2 -> T3; incident 2 is answered by the vendor before its
T2 is due, and nothing is sent for it. Run it with `scripts/demo` (or `python tools/demo.py`).
"""

import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tools.localmail import Dovecot, SmtpRelay  # noqa: E402

RUN = REPO / "demo-run"
WATCHED, ALICE, AGENT = "watch@partner.test", "alice@partner.test", "agent@partner.test"
T1, T2, T3, VENDOR = "urgent@vendor.test", "t2@vendor.test", "t3@vendor.test", "support@vendor.test"
T2_AFTER, T3_AFTER, POLL = 10, 10, 2


BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def say(text: str) -> None:
    print(f"{BOLD}[demo {time.strftime('%H:%M:%S')}]{PLAIN} {text}", flush=True)


def mail(sender, to, subject, body, reply_to: EmailMessage | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Cc"], msg["Subject"] = sender, to, WATCHED, subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    if reply_to is not None:
        msg["In-Reply-To"] = msg["References"] = reply_to["Message-ID"]
    msg.set_content(body)
    return msg


T1_BODY = """Contact phone number: +1-555-0100
Contact email: alice@partner.test
Contact name: Alice Engineer
Brief problem description: Beginning at approximately {t} GMT all requests are failing with F500.
Partner ID: Acmes
Example request Id: Acmes3324500H2
Example API error response: 'F500' GeneralError
Marketplace: US
Timestamp of example request: {t}:06 GMT
First failing request: {t}:02 GMT
Is the behavior consistent? Yes, every request since {t} GMT has failed.
Recent changes: none in the last two months.
"""


def config_text(dovecot: Dovecot, relay: SmtpRelay) -> str:
    return f"""# Written by tools/demo.py: the local demo servers, windows of seconds.
[imap]
host = 127.0.0.1
port = {dovecot.imap_port}
security = none
username = watch
password = demo
address = {WATCHED}
[smtp]
host = 127.0.0.1
port = {relay.port}
security = none
from_address = {AGENT}
[escalation]
t1_address = {T1}
t2_address = {T2}
t3_address = {T3}
t2_after = {T2_AFTER}s
t3_after = {T3_AFTER}s
responder_domains = vendor.test
internal_domains = partner.test
[agent]
database = state.db
poll_interval = {POLL}
"""


def watch_outbox(relay: SmtpRelay, stop: threading.Event) -> None:
    shown = 0
    while not stop.is_set():
        for a in relay.accepted[shown:]:
            if a.mail_from == AGENT:
                m = a.message()
                say(f"SMTP accepted from the agent: To {m['To']} | {m['Subject']}")
            shown += 1
        time.sleep(0.1)


def stream(proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        print(f"  agent | {line.rstrip()}", flush=True)


def cli(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "agent", "-c", str(RUN / "config.ini"), *args], cwd=REPO, capture_output=True, text=True
    ).stdout


def main() -> int:
    shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir()
    with (
        Dovecot({"watch": "demo", "alice": "demo"}) as dovecot,
        SmtpRelay(dovecot, {WATCHED: "watch", ALICE: "alice"}) as relay,
    ):
        (RUN / "config.ini").write_text(config_text(dovecot, relay))
        (RUN / "config.ini").chmod(0o600)  # it holds the demo's password
        say(
            f"Dovecot IMAP on 127.0.0.1:{dovecot.imap_port}, SMTP relay on 127.0.0.1:{relay.port}; "
            f"T2 after {T2_AFTER}s, T3 {T3_AFTER}s after the T2, polling every {POLL}s"
        )
        stop = threading.Event()
        threading.Thread(target=watch_outbox, args=(relay, stop), daemon=True).start()
        agent = subprocess.Popen(
            [sys.executable, "-u", "-m", "agent", "-c", str(RUN / "config.ini"), "run"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=stream, args=(agent,), daemon=True).start()
        try:
            time.sleep(1)
            now = datetime.now(UTC).strftime("%H:%M")
            first = mail(ALICE, T1, "Incentives API outage: every request fails with F500", T1_BODY.format(t=now))
            # another outage: another error (the same one would join incident 1, [escalation] join_same_outage)
            timeouts = T1_BODY.format(t=now).replace("F500.", "timeouts.").replace("'F500' GeneralError", "timeout")
            second = mail(ALICE, T1, "Incentives API: timeouts on CreateGiftCard", timeouts)
            say("Alice mails two T1s to the urgent line, CC the watched mailbox")
            for m in (first, second):
                relay.send(m, ALICE, [T1, WATCHED])
            time.sleep(4)
            say("The vendor answers the second T1; the first one gets no answer")
            answer = mail(VENDOR, ALICE, "RE: " + second["Subject"], "We are on it.", reply_to=second)
            relay.send(answer, VENDOR, [ALICE, WATCHED])
            relay.wait_for(lambda acc: any(T3 in a.rcpt_tos for a in acc), T2_AFTER + T3_AFTER + 20)
            time.sleep(POLL + 1)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=15)
            stop.set()
        say("escalation-agent status --all")
        print(cli("status", "--all"))
        say("escalation-agent show 1")
        print(cli("show", "1"))
        t2 = next(a for a in relay.accepted if T2 in a.rcpt_tos).message()
        say("The T2 mail as the vendor's management received it (headers and text part):")
        for h in ("From", "To", "Cc", "Subject", "In-Reply-To", "Auto-Submitted"):
            print(f"  {h}: {t2[h]}")
        print("\n" + "\n".join("  " + line for line in t2.get_body(("plain",)).get_content().splitlines()))
    mails_sent = sum(1 for a in relay.accepted if a.mail_from == AGENT)
    escalations = sum(1 for a in relay.accepted if a.mail_from == AGENT and {T2, T3} & set(a.rcpt_tos))
    say(
        f"Done: the agent sent {mails_sent} mail(s), {escalations} of them escalations (one T2, one T3). The servers "
        f"are stopped; the audit database stays in demo-run/ (try: .venv/bin/escalation-agent -c "
        f"demo-run/config.ini show 2)"
    )
    return 0 if escalations == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
