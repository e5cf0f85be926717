"""Tests of tools/localmail.py against the real Dovecot and aiosmtpd servers it starts."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.localmail import Dovecot, SmtpRelay, free_port, local_mail  # noqa: E402

USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
LOCAL = {"alice@example.com": "alice", "support@example.com": "alice", "bob@example.com": "bob"}
RELAY_AUTH = ("relayuser", "relay-pw")


@pytest.fixture(scope="module")
def dovecot():
    with Dovecot(USERS) as dc:
        yield dc


@pytest.fixture
def make_relay(dovecot):
    relays = []

    def make(**kwargs) -> SmtpRelay:
        relays.append(SmtpRelay(dovecot, LOCAL, **kwargs).start())
        return relays[-1]

    yield make
    for r in relays:
        r.stop()


def make_mail(to: str = "alice@example.com") -> tuple[EmailMessage, str]:
    token = uuid.uuid4().hex
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "customer@outside.test", to, f"urgent {token}"
    msg["Message-ID"] = f"<{token}@outside.test>"
    msg.set_content(f"body {token}\n")
    return msg, token


def read_mailbox(dc: Dovecot, user: str, token: str, folder: str = "INBOX") -> list[bytes]:
    """Raw messages whose subject carries `token`, read over IMAP without touching flags."""
    with IMAPClient(dc.host, port=dc.imap_port, ssl=False, timeout=10) as c:
        c.login(user, USERS[user])
        c.select_folder(folder, readonly=True)
        uids = c.search(["SUBJECT", token])
        if not uids:
            return []
        return [d[b"BODY[]"] for d in c.fetch(uids, ["BODY.PEEK[]"]).values()]


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_local_copy_lands_in_inbox_before_send_returns(dovecot, make_relay):
    relay = make_relay()
    msg, token = make_mail()
    relay.send(msg, "customer@outside.test", ["Alice@Example.COM", "partner@elsewhere.test"])
    # no waiting: the 250 came only after LMTP delivery
    [raw] = read_mailbox(dovecot, "alice", token)
    assert f"body {token}".encode() in raw and b"Delivered-To: alice@localhost" in raw
    assert read_mailbox(dovecot, "bob", token) == []
    [acc] = relay.accepted
    assert acc.mail_from == "customer@outside.test"
    assert acc.rcpt_tos == ["Alice@Example.COM", "partner@elsewhere.test"]
    assert acc.message()["Subject"] == f"urgent {token}"
    assert abs(acc.accepted_at - time.time()) < 5


def test_two_aliases_of_one_user_get_one_copy_and_others_their_own(dovecot, make_relay):
    relay = make_relay()
    msg, token = make_mail()
    relay.send(msg.as_bytes(), "x@outside.test", ["alice@example.com", "support@example.com", "bob@example.com"])
    assert len(read_mailbox(dovecot, "alice", token)) == 1
    assert len(read_mailbox(dovecot, "bob", token)) == 1


@pytest.mark.parametrize("mode, code", [("tempfail", 451), ("permfail", 554)])
def test_failure_modes_refuse_data_and_deliver_nothing(dovecot, make_relay, mode, code):
    relay = make_relay()
    relay.mode = mode
    msg, token = make_mail()
    with pytest.raises(smtplib.SMTPDataError) as err:
        relay.send(msg, "customer@outside.test", ["alice@example.com"])
    assert err.value.smtp_code == code
    assert relay.accepted == [] and len(relay.rejected) == 1
    assert read_mailbox(dovecot, "alice", token) == []
    relay.mode = "accept"  # settable while running
    relay.send(msg, "customer@outside.test", ["alice@example.com"])
    assert len(read_mailbox(dovecot, "alice", token)) == 1


def test_set_uid_validity_changes_what_select_reports(dovecot):
    dovecot.append("carol", b"Subject: seed\r\n\r\nx\r\n")
    with dovecot.imap("carol") as c:
        before = c.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    dovecot.set_uid_validity("carol", before + 1000)
    with dovecot.imap("carol") as c:
        assert c.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"] == before + 1000


def test_append_keeps_internaldate_and_creates_folder(dovecot):
    when = datetime(2024, 3, 1, 12, 34, 56, tzinfo=timezone(timedelta(hours=2)))
    token = uuid.uuid4().hex
    folder = f"Archive-{token[:8]}"
    dovecot.append("bob", f"Subject: old {token}\r\n\r\nx\r\n".encode(), folder=folder, internaldate=when)
    with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10) as c:
        c.normalise_times = False
        c.login("bob", USERS["bob"])
        c.select_folder(folder, readonly=True)
        [(uid, data)] = c.fetch(c.search(["SUBJECT", token]), ["INTERNALDATE"]).items()
    # Maildir keeps INTERNALDATE as the file's mtime: the instant survives, the +02:00 does not
    assert data[b"INTERNALDATE"] == when and data[b"INTERNALDATE"].utcoffset() is not None


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_with_auth(dovecot, make_relay, tls):
    relay = make_relay(tls=tls, auth=RELAY_AUTH)
    assert Path(relay.ca_file).is_file()
    msg, token = make_mail()
    relay.send(msg, "agent@example.com", ["alice@example.com"])
    assert len(read_mailbox(dovecot, "alice", token)) == 1
    with pytest.raises(smtplib.SMTPAuthenticationError) as err:
        relay.send(msg, "agent@example.com", ["alice@example.com"], credentials=(RELAY_AUTH[0], "wrong"))
    assert err.value.smtp_code == 535
    with pytest.raises(smtplib.SMTPSenderRefused) as err:  # auth is required
        relay.send(msg, "agent@example.com", ["alice@example.com"], credentials=None)
    assert err.value.smtp_code == 530
    assert len(relay.accepted) == 1
    # the certificate really is checked: a client without the CA refuses it
    with pytest.raises(ssl.SSLCertVerificationError):
        if tls == "ssl":
            smtplib.SMTP_SSL(
                relay.host, relay.port, local_hostname="localhost", timeout=10, context=ssl.create_default_context()
            ).close()
        else:
            with smtplib.SMTP(relay.host, relay.port, local_hostname="localhost", timeout=10) as c:
                c.starttls(context=ssl.create_default_context())


def test_plain_auth_without_tls(make_relay):
    port = free_port()
    relay = make_relay(auth=RELAY_AUTH, port=port)
    assert relay.port == port
    relay.send(make_mail()[0], "agent@example.com", ["nobody@elsewhere.test"])
    with pytest.raises(smtplib.SMTPAuthenticationError):
        relay.send(make_mail()[0], "a@example.com", ["n@elsewhere.test"], credentials=("x", "y"))
    assert len(relay.accepted) == 1


def test_stall_after_accept_delays_the_250_not_the_delivery(dovecot, make_relay):
    relay = make_relay(stall_after_accept=0.6)
    msg, token = make_mail()
    t0 = time.time()
    relay.send(msg, "customer@outside.test", ["alice@example.com"])
    assert time.time() - t0 >= 0.6 and relay.accepted[0].accepted_at - t0 >= 0.6
    assert len(read_mailbox(dovecot, "alice", token)) == 1


def test_wait_for_returns_or_times_out_with_summary(make_relay):
    relay = make_relay()
    msg, token = make_mail()
    relay.send(msg, "customer@outside.test", ["x@elsewhere.test"])
    assert len(relay.wait_for(lambda acc: len(acc) == 1, timeout=2)) == 1
    with pytest.raises(AssertionError, match=token):
        relay.wait_for(lambda acc: len(acc) == 2, timeout=0.3)


def test_unknown_local_user_is_refused_at_construction(dovecot):
    with pytest.raises(ValueError):
        SmtpRelay(dovecot, {"x@example.com": "nosuchuser"})


@pytest.mark.integration
def test_stop_leaves_nothing_behind():
    with local_mail({"dave": "pw"}, {"dave@example.com": "dave"}) as (dc, relay):
        pid, root = dc.pid, dc.root
        ports = [(dc.host, dc.imap_port), (dc.host, dc.lmtp_port), (relay.host, relay.port)]
        relay.send(make_mail("dave@example.com")[0], "a@outside.test", ["dave@example.com"])
        assert len(dc.messages("dave")) == 1
        children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        assert children
        dc.stop()  # the relay cannot deliver any more: it must not answer 250
        with pytest.raises(smtplib.SMTPDataError) as err:
            relay.send(make_mail("dave@example.com")[0], "a@outside.test", ["dave@example.com"])
        assert err.value.smtp_code == 451 and len(relay.accepted) == 1
    assert not running(pid) and not any(map(running, children))
    assert not root.exists()
    assert "saved mail to INBOX" in dc.log_text()  # kept after stop for post-mortems
    for addr in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(addr, timeout=2).close()
    dc.stop()
    relay.stop()  # idempotent


@pytest.mark.integration
def test_start_failure_raises_with_log_tail():
    dc = Dovecot({"erin": "pw"})
    with socket.socket() as squatter:
        squatter.bind((dc.host, dc.imap_port))
        squatter.listen()
        with pytest.raises(RuntimeError, match="Address already in use"):
            dc.start()
    assert dc.proc is None and not dc.root.exists()


@pytest.mark.integration
def test_dovecot_dies_with_the_process_that_started_it():
    code = textwrap.dedent(
        """
        import sys, time
        sys.path.insert(0, %r)
        from tools.localmail import Dovecot
        dc = Dovecot({"frank": "pw"}).start()
        print(dc.pid, dc.root, flush=True)
        time.sleep(60)
    """
        % str(Path(__file__).resolve().parents[1])
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pid = root = None
    try:
        pid, root = child.stdout.readline().split()
        pid = int(pid)
        children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        assert running(pid) and children
        child.kill()  # no cleanup code runs in the child
        child.wait(5)
        deadline = time.monotonic() + 10
        while any(map(running, [pid, *children])) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(running, [pid, *children])), "Dovecot outlived its parent"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
        if pid and running(pid) and root and root in Path(f"/proc/{pid}/cmdline").read_text():
            os.kill(pid, signal.SIGKILL)
        if root and Path(root).name.startswith("ea-dc-"):
            subprocess.run(["rm", "-rf", root], timeout=30)
