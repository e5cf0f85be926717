"""Push: with IMAP IDLE a vendor reply is seen within a second or two, however long poll_interval is."""

import time

from support import AgentProcess, query, reply, send, t1, wait_until, write_config


def test_a_reply_is_seen_at_once_with_idle_and_polling_remains_the_fallback(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, agent_poll_interval=300, escalation_t2_after="10m")
    db = tmp_path / "state.db"
    with AgentProcess(config) as agent:
        wait_until(lambda: query(db, "SELECT count(*) FROM mailbox_state"), 10, "first sync")
        time.sleep(1)  # the agent is now waiting in IDLE
        latencies = []
        for n in range(3):
            incident = t1(subject=f"incident {n}")
            send(relay, incident)
            sent_at = time.time()
            wait_until(lambda: query(db, "SELECT id FROM incidents WHERE t1_message_id = ?", incident["Message-ID"]),
                       5, "the T1 seen through IDLE")
            send(relay, reply(incident))
            sent_at = time.time()
            wait_until(lambda: query(db, "SELECT state FROM incidents WHERE t1_message_id = ?",
                                     incident["Message-ID"]) == [("responded",)], 5, "the reply seen through IDLE")
            latencies.append(time.time() - sent_at)
    print(f"reply -> responded latencies with IDLE: {[round(x, 3) for x in latencies]} s")
    assert max(latencies) < 2.0  # poll_interval is 300 s: only IDLE can explain this
    assert "Traceback" not in agent.output()


def test_a_dead_idle_connection_is_replaced(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, agent_poll_interval=2)
    db = tmp_path / "state.db"
    with AgentProcess(config) as agent:
        wait_until(lambda: query(db, "SELECT count(*) FROM mailbox_state"), 10, "first sync")
        time.sleep(1)
        dovecot.doveadm("kick", "watch")  # the server drops the session mid-IDLE
        time.sleep(1)
        incident = t1()
        send(relay, incident)
        wait_until(lambda: query(db, "SELECT id FROM incidents"), 10, "mail seen on a new connection")
    log = agent.output()
    assert "waiting in IDLE failed" in log and "imap: working again" in log
    assert "Traceback" not in log
