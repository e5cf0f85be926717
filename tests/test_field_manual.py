"""A tier sent by hand while the agent's own copy is pending (SMTP was down at the deadline) counts as sent:
the agent's copy is never sent, the T3 window runs from the hand-sent T2, and the ladder goes on (issue 11)."""

import time
from email.utils import parsedate_to_datetime

import pytest

from support import (
    ALICE,
    BOB,
    LOCAL,
    T2_ADDR,
    T3_ADDR,
    WATCHED,
    AgentProcess,
    query,
    reply,
    send,
    t1,
    to,
    wait_until,
    write_config,
)
from tools.localmail import SmtpRelay, free_port

pytestmark = pytest.mark.e2e


def test_a_t2_sent_by_hand_while_ours_is_pending_counts_and_the_t3_follows_from_it(servers, tmp_path):
    dovecot, relay = servers
    port = free_port()  # nothing listens there yet: the agent's own T2 stays pending
    config = write_config(
        tmp_path,
        dovecot,
        relay,
        smtp_port=port,
        escalation_t2_after="1s",
        escalation_t3_after="4s",
        escalation_exhausted_after="2s",
    )
    db = tmp_path / "state.db"
    with AgentProcess(config):
        incident = t1()
        send(relay, incident)
        failed = "SELECT count(*) FROM events WHERE kind = 'send_failed'"
        wait_until(lambda: (query(db, failed) or [(0,)])[0][0] >= 1, 20, "our T2 failed to go out once")
        by_hand = reply(incident, sender=BOB, body="Escalating to T2 by hand.", recipients=(T2_ADDR, ALICE, WATCHED))
        send(relay, by_hand)
        wait_until(
            lambda: query(db, "SELECT status FROM escalations WHERE tier = 2") == [("manual",)],
            10,
            "the hand-sent T2 counted",
        )
        hand_sent_at = parsedate_to_datetime(by_hand["Date"]).timestamp()
        with SmtpRelay(dovecot, LOCAL, port=port) as back:
            [esc_t3] = [a for a in back.wait_for(to(T3_ADDR), 20) if T3_ADDR in a.rcpt_tos]
            back.wait_for(lambda got: any("every tier tried" in a.message()["Subject"] for a in got), 20)
            time.sleep(2)  # room for a duplicate, were there one
            ours = list(back.accepted)
    assert [a for a in ours if T2_ADDR in a.rcpt_tos] == []  # our pending T2 was never sent
    assert len([a for a in ours if T3_ADDR in a.rcpt_tos]) == 1
    assert esc_t3.accepted_at >= hand_sent_at + 4 - 0.05  # the T3 window runs from the hand-sent T2
    assert esc_t3.message()["In-Reply-To"] == by_hand["Message-ID"]  # and it threads to it
    [(status, message_id, last_error)] = query(
        db, "SELECT status, message_id, last_error FROM escalations WHERE tier = 2"
    )
    assert (status, message_id) == ("manual", by_hand["Message-ID"]) and "sent by hand first" in last_error
