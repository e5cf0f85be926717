"""Sending against a real aiosmtpd server: TLS modes, login, and what counts as sent."""

import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from agent.adapters.config import load
from agent.adapters.smtp import Smtp
from agent.adapters.store import Store
from agent.core.errors import PermanentSendError, TransientSendError
from agent.core.procedure.policy import Outgoing, Status
from agent.core.sop import Tier
from agent.engine import enqueue, ladder, outbox
from agent.engine.service import Agent
from support import AGENT, T2_ADDR, T3_ADDR, escalation_rows, events, notice_rows, send, t1, write_config
from tools.localmail import Dovecot, SmtpRelay, free_port


def note() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = AGENT, T2_ADDR, "test"
    msg.set_content("hello")
    return msg


@pytest.mark.integration
@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_and_login(tmp_path, tls):
    with Dovecot({"watch": "pw"}) as dovecot, SmtpRelay(None, {}, tls=tls, auth=("agent", "smtp-pw")) as relay:
        (tmp_path / "ca.pem").write_text(open(relay.ca_file).read())
        good = load(
            write_config(
                tmp_path,
                dovecot,
                relay,
                smtp_security=tls,
                smtp_username="agent",
                smtp_password="smtp-pw",
                smtp_ca_file="ca.pem",
            )
        )
        assert Smtp(good.smtp).send(note(), [T2_ADDR]) == {}
        assert relay.accepted[0].rcpt_tos == [T2_ADDR]
        bad = load(
            write_config(
                tmp_path,
                dovecot,
                relay,
                smtp_security=tls,
                smtp_username="agent",
                smtp_password="nope",
                smtp_ca_file="ca.pem",
            )
        )
        with pytest.raises(TransientSendError) as e:
            Smtp(bad.smtp).send(note(), [T2_ADDR])
        assert str(e.value) == f"SMTP server 127.0.0.1:{relay.port} refused the login for agent (535)"
        assert "nope" not in str(e.value)


def test_4xx_is_transient_5xx_is_permanent_and_down_is_transient(servers, tmp_path):
    dovecot, relay = servers
    smtp = Smtp(load(write_config(tmp_path, dovecot, relay)).smtp)
    relay.mode = "tempfail"
    with pytest.raises(TransientSendError, match="451"):
        smtp.send(note(), [T2_ADDR])
    relay.mode = "permfail"
    with pytest.raises(PermanentSendError, match="554"):
        smtp.send(note(), [T2_ADDR])
    relay.stop()
    with pytest.raises(TransientSendError, match=rf"^cannot reach SMTP server 127.0.0.1:{relay.port} "):
        smtp.send(note(), [T2_ADDR])


def due_incident(servers, tmp_path, **overrides):
    dovecot, relay = servers
    cfg = load(write_config(tmp_path, dovecot, relay, escalation_t2_after="1s", **overrides))
    send(relay, t1(when=datetime.now(UTC) - timedelta(seconds=5)))
    return Agent(cfg, Store(cfg.agent.database))


def test_a_transient_failure_is_retried_on_a_later_cycle_with_each_attempt_recorded(servers, tmp_path):
    dovecot, relay = servers
    agent = due_incident(servers, tmp_path, escalation_t3_after="1h")
    relay.mode = "tempfail"
    assert agent.safe_cycle().sent == []
    assert agent.safe_cycle().sent == []
    relay.mode = "accept"
    assert agent.safe_cycle().sent == ["incident 1 T2"]
    [row] = escalation_rows(agent.store, 1)
    assert (row["status"], row["attempts"]) == ("sent", 3)
    kinds = [e["kind"] for e in events(agent.store, 1)]
    assert kinds.count("send_failed") == 2 and kinds.count("sent") == 1
    assert len([a for a in relay.accepted if T2_ADDR in a.rcpt_tos]) == 1
    agent.close()


def test_a_permanent_rejection_is_recorded_and_not_retried(servers, tmp_path):
    dovecot, relay = servers
    agent = due_incident(servers, tmp_path)
    relay.refuse = {T2_ADDR}  # the T2 address is refused; the people in Cc would have been accepted
    agent.cycle()
    agent.cycle()
    [row] = escalation_rows(agent.store, 1)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "550" in row["last_error"]
    [notice] = notice_rows(agent.store, 1)
    assert (notice["kind"], notice["status"]) == ("rejected_t2", "sent")
    [cc_copy, told] = [a for a in relay.accepted if a.mail_from == AGENT]
    assert T2_ADDR not in cc_copy.rcpt_tos  # the Cc of the T2 went out; the T2 address did not
    assert set(told.rcpt_tos) == {"alice@partner.test", "bob@partner.test", "watch@partner.test"}
    body = told.message().get_body(("plain",)).get_content()
    assert "rejected by the mail server" in body and "550" in body and T2_ADDR in body
    agent.close()


def test_an_smtp_server_that_is_down_never_stops_the_cycle(servers, tmp_path):
    dovecot, relay = servers
    agent = due_incident(servers, tmp_path, smtp_port=free_port())
    report = agent.safe_cycle()
    assert report is not None and report.sent == []
    assert escalation_rows(agent.store, 1)[0]["status"] == Status.PENDING
    agent.close()


def test_dry_run_decides_records_and_keeps_the_mail_but_sends_nothing(servers, tmp_path):
    dovecot, relay = servers
    agent = due_incident(servers, tmp_path, agent_dry_run="true", escalation_t3_after="1s")
    agent.cycle()
    later = datetime.now(UTC) + timedelta(seconds=2)
    agent.clock = lambda: later
    agent.cycle()
    assert [a for a in relay.accepted if a.mail_from == AGENT] == []
    rows = escalation_rows(agent.store, 1)
    assert [(r["tier"], r["status"]) for r in rows] == [(2, "dry_run"), (3, "dry_run")]
    assert b"[T3 escalation]" in rows[1]["raw"] and T3_ADDR in rows[1]["recipients"]
    assert [e["kind"] for e in events(agent.store, 1)].count("dry_run") == 2
    agent.close()


def test_a_row_left_sending_by_a_crash_is_reconciled_from_the_mailbox(servers, tmp_path):
    dovecot, relay = servers
    agent = due_incident(servers, tmp_path, escalation_t3_after="1h")
    now = datetime.now(UTC)
    agent.sync(now)
    d = ladder.decisions(agent.store, agent.config, now)[1]
    escalation_id = enqueue.escalate(agent.store, agent.config, 1, Tier.T2, d, now)
    outbox.deliver(agent.store, agent.smtp, Outgoing.ESCALATION, escalation_id, False, lambda: now)
    # As if the process died between the server's acceptance and our record of it:
    agent.store.update_outbox(Outgoing.ESCALATION, escalation_id, status="sending", sent_at=None)
    agent.cycle()
    row = agent.store.outbox_row(Outgoing.ESCALATION, escalation_id)
    assert row.status == "sent" and row.confirmed_at
    assert len([a for a in relay.accepted if T2_ADDR in a.rcpt_tos]) == 1
    agent.close()


def test_a_long_exchange_message_id_is_threaded_as_it_is(servers, tmp_path):
    """An ~85-character Message-ID (Exchange Online's) must reach the vendor on one line, unencoded, in
    In-Reply-To and References: re-folded into an encoded word, no mail client threads on it."""
    dovecot, relay = servers
    cfg = load(write_config(tmp_path, dovecot, relay, escalation_t2_after="1s", escalation_t3_after="1h"))
    long_id = "<PH0PR11MB5000C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5F6A7@PH0PR11MB5000.namprd11.prod.outlook.test>"
    assert len(long_id) >= 85
    incident = t1(when=datetime.now(UTC) - timedelta(seconds=5))
    incident.replace_header("Message-ID", long_id)
    raw = incident.as_bytes(policy=email.policy.SMTP.clone(refold_source="none", max_line_length=200))
    assert long_id.encode() in raw
    relay.send(raw, AGENT, [a.strip() for h in ("To", "Cc") for a in incident[h].split(",")])
    agent = Agent(cfg, Store(cfg.agent.database))
    assert agent.safe_cycle().sent == ["incident 1 T2"]
    agent.close()
    [sent] = [a for a in relay.accepted if T2_ADDR in a.rcpt_tos]
    head = sent.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nIn-Reply-To: " + long_id.encode() + b"\r\n" in head
    assert b"\r\nReferences: " + long_id.encode() + b"\r\n" in head
    assert b"=?" not in head.split(b"In-Reply-To:", 1)[1].split(b"\r\n", 1)[0]
