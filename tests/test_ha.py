"""[ha] end to end: two `escalation-agent run` processes on one mailbox and a real etcd, windows of seconds, a lease of
3 s. The leader killed -9 after its T2, the leader frozen past its lease, etcd down across a T2 deadline: each time
exactly one of each tier reaches the vendor, on time or as soon as it may be sent. The measured times are printed
(`pytest -s tests/test_ha.py`)."""

import json
import os
import signal
import time

import pytest

from agent.adapters.store import Store
from agent.core.reading import provenance
from agent.core.times import from_iso
from support import (
    T2_ADDR,
    T3_ADDR,
    AgentProcess,
    agent_command,
    query,
    reply,
    send,
    sent_to,
    t1,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

LEASE = 3.0
OPS = "ops@partner.test"


def member_config(tmp_path, name, dovecot, relay, etcd, **overrides):
    directory = tmp_path / name
    directory.mkdir()
    return write_config(
        directory,
        dovecot,
        relay,
        ha_coordination_url=etcd.url,
        ha_member=name,
        ha_lease=f"{int(LEASE)}s",
        **overrides,
    )


def role_of(config) -> str | None:
    """The member's last recorded role, from its own database (what an auditor reads)."""
    rows = query(
        config.parent / "state.db", "SELECT detail FROM events WHERE kind = 'ha_role' ORDER BY id DESC LIMIT 1"
    )
    return rows[0][0].split(" is now ")[1].split(":")[0] if rows else None


def role_changes(config) -> list[tuple[str, str]]:
    return query(config.parent / "state.db", "SELECT at, detail FROM events WHERE kind = 'ha_role' ORDER BY id")


def became_leader(config) -> float:
    """When the member last became the leader (Unix time), from its audit log."""
    at = [at for at, detail in role_changes(config) if " is now leader" in detail][-1]
    return from_iso(at).timestamp()


def member_of(accepted) -> str:
    mark = provenance.read(str(accepted.message()[provenance.HEADER]))
    assert mark is not None, accepted.message().as_string()[:2000]
    return mark.member


def start_pair(tmp_path, dovecot, relay, etcd, **overrides):
    """Member a first (it takes the lease), then b (standby), each with its own database."""
    config_a = member_config(tmp_path, "a", dovecot, relay, etcd, **overrides)
    config_b = member_config(tmp_path, "b", dovecot, relay, etcd, **overrides)
    a = AgentProcess(config_a).start()
    wait_until(lambda: role_of(config_a) == "leader", 30, f"member a leads:\n{a.output()}")
    b = AgentProcess(config_b).start()
    wait_until(lambda: role_of(config_b) == "standby", 30, f"member b stands by:\n{b.output()}")
    return (a, config_a), (b, config_b)


def incident_seen(config) -> bool:
    return bool(query(config.parent / "state.db", "SELECT 1 FROM incidents"))


def vendor_mails(relay, address):
    return sent_to(relay, address)


def test_the_standby_sends_the_t3_on_time_after_the_leader_was_killed_right_after_its_t2(servers, etcd, tmp_path):
    dovecot, relay = servers
    t3_after = 2.0
    (a, config_a), (b, config_b) = start_pair(
        tmp_path, dovecot, relay, etcd, escalation_t2_after="3s", escalation_t3_after=f"{int(t3_after)}s"
    )
    try:
        send(relay, t1())
        relay.wait_for(lambda acc: len(vendor_mails(relay, T2_ADDR)) >= 1, timeout=30)
        a.proc.kill()  # -9, right after the server accepted its T2
        killed = time.time()
        a.proc.wait()
        t2 = vendor_mails(relay, T2_ADDR)[0]
        relay.wait_for(lambda acc: len(vendor_mails(relay, T3_ADDR)) >= 1, timeout=30)
        t3 = vendor_mails(relay, T3_ADDR)[0]
        time.sleep(2 * LEASE)  # anything further would show now
        assert [member_of(m) for m in vendor_mails(relay, T2_ADDR)] == ["a"]
        assert [member_of(m) for m in vendor_mails(relay, T3_ADDR)] == ["b"]
        late = t3.accepted_at - (t2.accepted_at + t3_after)
        took = became_leader(config_b) - killed
        print(
            f"\nkill -9 after the T2: b took over {took:.2f}s after the kill; "
            f"T3 late by {late:.2f}s (allowed {LEASE + 2:.0f}s)"
        )
        assert late <= LEASE + 2, f"T3 late by {late:.2f}s"
        # b recorded a's T2 as sent (its CC copy adopted by its provenance as the standby read it, or found by the
        # fence right before a send of its own), and its own T3 as sent
        rows = query(config_b.parent / "state.db", "SELECT tier, status, message_id FROM escalations ORDER BY tier")
        assert rows[0] == (2, "sent", t2.message()["Message-ID"]), rows
        assert rows[1][:2] == (3, "sent"), rows
        found = query(
            config_b.parent / "state.db", "SELECT count(*) FROM events WHERE kind IN ('sent_by_member', 'adopted')"
        )
        assert found[0][0] >= 1
        assert took <= LEASE + 2
    finally:
        b.stop()


def test_a_leader_frozen_past_its_lease_is_replaced_and_sends_nothing_when_it_wakes(servers, etcd, tmp_path):
    dovecot, relay = servers
    (a, config_a), (b, config_b) = start_pair(
        tmp_path, dovecot, relay, etcd, escalation_t2_after="10s", escalation_t3_after="1h"
    )
    try:
        seen = json.loads(agent_command(config_b, "status", "--agent", "--json").stdout)
        assert (seen["role"], seen["lease_holder"], seen["coordination"]["health"]) == ("standby", "a", "ok"), seen
        checked = agent_command(config_a, "check")
        assert checked.returncode == 0 and "this member is a; the lease is held by a" in checked.stdout, checked
        incident = t1()
        sent_at = time.time()
        send(relay, incident)
        wait_until(lambda: incident_seen(config_a) and incident_seen(config_b), 20, "both members read the T1")
        # A stamp is text anyone can write: a stranger's mail claiming the T2 was sent must not stop it.
        stamp = provenance.stamp("t2", incident["Message-ID"], "a")
        send(relay, reply(incident, sender="mallory@elsewhere.test", headers={provenance.HEADER: stamp}))
        os.kill(a.proc.pid, signal.SIGSTOP)
        frozen = time.time()
        try:
            wait_until(lambda: role_of(config_b) == "leader", 4 * LEASE, f"b takes over:\n{b.output()}")
            took = time.time() - frozen
            relay.wait_for(lambda acc: len(vendor_mails(relay, T2_ADDR)) >= 1, timeout=30)
            t2 = vendor_mails(relay, T2_ADDR)[0]
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        resumed = time.time()
        wait_until(lambda: role_of(config_a) == "standby", 4 * LEASE, f"a stands by again:\n{a.output()}")
        time.sleep(3 * LEASE)  # a, awake, has had every chance to send
        print(
            f"\nSIGSTOP before the T2: b took over {took:.2f}s after the freeze; "
            f"T2 {t2.accepted_at - sent_at - 10:.2f}s after its deadline; "
            f"a resumed {resumed - t2.accepted_at:.2f}s after it"
        )
        assert [member_of(m) for m in vendor_mails(relay, T2_ADDR)] == ["b"]
        assert t2.accepted_at - sent_at - 10 <= 2, "the standby took over before the deadline: the T2 is on time"
        # a sent nothing: a T2 its database holds as sent is b's, adopted from the mailbox as a read it
        held = query(
            config_a.parent / "state.db", "SELECT message_id FROM escalations WHERE status IN ('sent', 'sending')"
        )
        assert all(mid == t2.message()["Message-ID"] for (mid,) in held), held
        assert json.loads(agent_command(config_a, "status", "--agent", "--json").stdout)["lease_holder"] == "b"
    finally:
        a.stop()
        b.stop()


def test_etcd_down_across_the_t2_deadline_gives_one_late_t2_and_tells_ops_once_per_member(servers, etcd, tmp_path):
    dovecot, relay = servers
    t2_after, outage = 8.0, 4 * LEASE
    (a, config_a), (b, config_b) = start_pair(
        tmp_path,
        dovecot,
        relay,
        etcd,
        escalation_t2_after=f"{int(t2_after)}s",
        escalation_t3_after="1h",
        agent_ops_address=OPS,
    )
    try:
        sent_at = time.time()
        send(relay, t1())
        etcd.stop()  # at once: a's lease, last confirmed before this, is provably valid for less than the T2's window
        down = time.time()
        wait_until(lambda: incident_seen(config_a) and incident_seen(config_b), 20, "both members read the T1")
        time.sleep(max(0.0, sent_at + t2_after + LEASE - time.time()))  # past the deadline, service still down
        while time.time() < down + outage:
            assert not vendor_mails(relay, T2_ADDR), "a T2 went out while no member could prove it held the lease"
            time.sleep(0.2)
        back = time.time()  # before start(): it returns once etcd answers, and a member may be quicker to ask it
        etcd.start()
        relay.wait_for(lambda acc: len(vendor_mails(relay, T2_ADDR)) >= 1, timeout=30)
        t2 = vendor_mails(relay, T2_ADDR)[0]
        time.sleep(3 * LEASE)
        told = [m for m in relay.accepted if OPS in m.rcpt_tos]
        subjects = sorted(str(m.message()["Subject"]) for m in told)
        print(
            f"\netcd down {back - down:.1f}s across the T2 deadline: T2 by member {member_of(t2)}, "
            f"{t2.accepted_at - back:.2f}s after etcd came back, {t2.accepted_at - sent_at - t2_after:.2f}s after its "
            f"deadline; ops told: {subjects}"
        )
        assert len(vendor_mails(relay, T2_ADDR)) == 1
        assert t2.accepted_at >= back
        lost = [s for s in subjects if "cannot reach the coordination service" in s]
        assert sorted(s.split("] ")[1].split(" ")[0] for s in lost) == ["a", "b"], subjects
        assert len([s for s in subjects if "again" in s]) == 2, subjects
    finally:
        a.stop()
        b.stop()


def test_check_and_status_say_the_coordination_service_cannot_be_reached(servers, tmp_path):
    dovecot, relay = servers
    from tools.localmail import free_port

    url = f"etcd3+http://127.0.0.1:{free_port()}"  # nothing listens there
    config = write_config(tmp_path, dovecot, relay, ha_coordination_url=url, ha_member="mail-a", ha_lease="3s")
    checked = agent_command(config, "check")
    assert checked.returncode != 0
    assert f"[ha] coordination_url {url}: unreachable: " in checked.stderr, checked.stderr
    assert "Traceback" not in checked.stderr
    Store(tmp_path / "state.db").close()  # as a first start leaves it: check and status create no database
    seen = agent_command(config, "status", "--agent")
    assert seen.returncode == 0, seen.stderr
    assert f"role: standby (member mail-a; the lease is held by nobody; coordination service {url}: unreachable" in (
        seen.stdout
    ), seen.stdout
