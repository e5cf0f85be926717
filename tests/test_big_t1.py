"""Issue 21.3 end to end: a T1 with a large attachment still gets its T2, within attach_limit, through a relay that
refuses mail over 10 MB with 552 5.3.4 (as Postfix's default does); a small attachment goes whole; a size refusal
is answered at once with the smaller form."""

import os
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest

from support import (
    AGENT,
    LOCAL,
    T2_ADDR,
    USERS,
    AgentProcess,
    agent_command,
    query,
    t1,
    write_config,
)
from tools.localmail import Dovecot, SmtpRelay

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

RELAY_LIMIT = 10_000_000


def with_file(subject: str, name: str, size: int) -> EmailMessage:
    msg = t1(subject=subject)
    msg.add_attachment(os.urandom(size), maintype="application", subtype="octet-stream", filename=name)
    return msg


def t2s(relay, subject: str) -> list:
    return [
        a
        for a in list(relay.accepted)
        if a.mail_from == AGENT and T2_ADDR in a.rcpt_tos and subject in str(a.message()["Subject"])
    ]


def text_of(accepted) -> str:
    return accepted.message().get_body(("plain",)).get_content()


def test_a_30_mb_attachment_leaves_the_t2_within_attach_limit_and_names_what_was_left_out(tmp_path):
    with Dovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL, max_size=RELAY_LIMIT) as relay:
        config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s")
        big = with_file("F500 with a capture", "capture.pcap", 30_000_000)
        raw = big.as_bytes()
        assert len(raw) > 40_000_000  # over max_message_bytes (25 MiB): fetched as its first 2 MiB
        with AgentProcess(config):
            dovecot.deliver("watch", raw)
            [t2] = relay.wait_for(lambda _: bool(t2s(relay, "F500 with a capture")), 40) and t2s(
                relay, "F500 with a capture"
            )
        assert len(t2.data) <= RELAY_LIMIT and not relay.rejected
        text = text_of(t2)
        assert (
            "The original T1 is attached without its 1 attachment of about 30.0 MB: capture.pcap "
            "(not fetched: the mail is over max_message_bytes)." in text
        )
        assert "Partner ID | Acmes" in text or "Partner ID: Acmes" in text  # its items were read from its beginning
        [attached] = [p for p in t2.message().iter_attachments() if p.get_content_type() == "message/rfc822"]
        inner = attached.get_content()
        assert inner["Message-ID"] == big["Message-ID"]
        assert "Partner ID: Acmes" in inner.get_body(("plain",)).get_content()
        assert "capture.pcap" in str(inner)
        # on time: due 4 s after the T1 (its Date); sent within a loaded machine's margin of that
        [(sent_at, t1_at)] = query(
            tmp_path / "state.db",
            "SELECT e.sent_at, i.t1_sent_at FROM escalations e JOIN incidents i ON i.id = e.incident_id",
        )
        late = datetime.fromisoformat(sent_at) - datetime.fromisoformat(t1_at)
        assert timedelta(seconds=4) <= late < timedelta(seconds=30)


def test_a_2_mb_attachment_goes_whole_and_a_size_refusal_is_answered_with_the_smaller_form(tmp_path):
    with Dovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL, max_size=RELAY_LIMIT) as relay:
        # attach_limit set above what the relay takes: the relay's 552 5.3.4 must not sink the T2
        config = write_config(tmp_path, dovecot, relay, escalation_t2_after="4s", escalation_attach_limit="20MB")
        small = with_file("F500 small log", "small.log", 2_000_000)
        large = with_file("F500 large log", "app.log", 12_000_000)
        with AgentProcess(config):
            for msg in (small, large):
                dovecot.deliver("watch", msg.as_bytes())
            relay.wait_for(lambda _: bool(t2s(relay, "small log") and t2s(relay, "large log")), 40)
        [whole] = t2s(relay, "small log")
        assert "The original T1 is attached in full" in text_of(whole)
        [attached] = list(whole.message().iter_attachments())
        [log] = list(attached.get_content().iter_attachments())
        assert log.get_filename() == "small.log" and len(log.get_content()) == 2_000_000
        [refused] = [r for r in relay.rejected if T2_ADDR in r.rcpt_tos]
        assert len(refused.data) > RELAY_LIMIT
        [smaller] = t2s(relay, "large log")
        assert smaller.message()["Message-ID"] == refused.message()["Message-ID"]
        assert len(smaller.data) < 100_000
        assert "The original T1 is attached without its 1 attachment of 12.0 MB: app.log." in text_of(smaller)
        shown = agent_command(config, "show", "2").stdout
        assert "send_too_large" in shown and "552 5.3.4" in shown
        [(status,)] = query(tmp_path / "state.db", "SELECT status FROM escalations WHERE incident_id = 2")
        assert status == "sent"
