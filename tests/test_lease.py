"""[ha]: the pure parts (provenance, the [ha] keys, what is shown of a URL) as unit tests, and the lease itself against
a real etcd (integration): the frozen holder's trap, and the coordination service down and back."""

import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.errors import ConfigError
from agent.core.reading import provenance
from agent.core.settings import HaConfig
from agent.core.writing import notices
from agent.engine import metrics
from agent.engine.lease import Clearance, Lease, Role, describe, said, shown
from agent.engine.standby import _copy, need
from support import OFFLINE_CONFIG, agent_command

NAME = "escalation-agent/watch@partner.test"


# -- provenance (the minimal version; issue 22.1 owns the module) ------------------------------------------------------
def test_a_stamp_reads_back_and_starts_with_what_the_fence_searches_for():
    value = provenance.stamp("t2", "<CAF3x9=a+b@mail.gmail.com>", "host-a")
    assert value.startswith("kind=t2; incident=<CAF3x9=a+b@mail.gmail.com>")
    assert provenance.read(value) == provenance.Provenance("t2", "<CAF3x9=a+b@mail.gmail.com>", "host-a")


def test_a_folded_stamp_reads_back_and_a_stranger_value_is_not_ours():
    folded = "kind=notice-missing_items;\r\n incident=<AM6PR04MB1234.eurprd04.prod.outlook.com>; member=b"
    assert provenance.read(folded) == provenance.Provenance(
        "notice-missing_items", "<AM6PR04MB1234.eurprd04.prod.outlook.com>", "b"
    )
    assert provenance.read("sent by hand") is None
    assert provenance.read("kind=t2").incident is None  # names no incident: the fence's search never matches it


def test_the_fence_reads_a_copy_as_the_server_fetched_its_two_fields():
    fields = (
        b"Message-ID: <175.1.agent@partner.test>\r\n"
        b"X-Escalation-Agent-Provenance: kind=t3; incident=<t1.42@partner.test>;\r\n member=host-b\r\n\r\n"
    )
    at = datetime(2026, 12, 6, 11, 45, tzinfo=UTC)
    message_id, arrived, _, mark = _copy((fields, at))
    assert (message_id, arrived, mark.kind, mark.incident, mark.member) == (
        "<175.1.agent@partner.test>",
        at,
        "t3",
        "<t1.42@partner.test>",
        "host-b",
    )
    assert _copy((b"Message-ID: <x@y.test>\r\n\r\n", at)) is None


# -- the [ha] keys ----------------------------------------------------------------------------------------------
def config_with(tmp_path, ha: str):
    path = tmp_path / "config.ini"
    path.write_text(OFFLINE_CONFIG + ha)
    path.chmod(0o600)
    return load(path)


def test_without_ha_the_member_is_alone(tmp_path):
    assert config_with(tmp_path, "").ha is None


def test_ha_defaults_to_the_host_name_and_a_15s_lease(tmp_path):
    ha = config_with(tmp_path, "[ha]\ncoordination_url = etcd3+http://10.0.0.5:2379\n").ha
    assert ha is not None and ha.lease == timedelta(seconds=15) and ha.member
    ha = config_with(tmp_path, "[ha]\ncoordination_url = etcd3+http://e.test:2379\nmember = mail-b\nlease = 1m\n").ha
    assert (ha.member, ha.lease) == ("mail-b", timedelta(minutes=1))


@pytest.mark.parametrize(
    "ha, says",
    [
        ("[ha]\nmember = a\n", "[ha] coordination_url is required"),
        ("[ha]\ncoordination_url = 10.0.0.5:2379\n", "[ha] coordination_url: '10.0.0.5:2379' is not a tooz"),
        ("[ha]\ncoordination_url = etcd3+http://e.test\nmember = a; b\n", "[ha] member: 'a; b' is not a member name"),
        ("[ha]\ncoordination_url = etcd3+http://e.test\nlease = 1s\n", "[ha] lease: 1s is outside 2s..600s"),
        ("[ha]\ncoordination_url = etcd3+http://e.test\nlease = soon\n", "[ha] lease: 'soon' is not a duration"),
    ],
)
def test_a_wrong_ha_value_names_its_key(tmp_path, ha, says):
    with pytest.raises(ConfigError) as e:
        config_with(tmp_path, ha)
    assert says in str(e.value)


def test_a_missing_ha_extra_is_one_sentence_naming_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "tooz", None)  # as if the extra was not installed
    with pytest.raises(ConfigError) as e:
        Lease(HaConfig("etcd3+http://127.0.0.1:1", "a"), NAME)
    assert str(e.value) == (
        "[ha] coordination_url needs the ha extra (tooz, etcd3gw): pip install 'escalation-agent[ha]'"
    )


def test_a_coordination_url_is_shown_without_its_password_or_options():
    assert shown("redis://:s3cret@redis.test:6379?timeout=3") == "redis://redis.test:6379"
    assert shown("etcd3+http://127.0.0.1:2379") == "etcd3+http://127.0.0.1:2379"


def test_a_wrapped_error_says_its_deepest_words_and_a_silent_one_what_its_kind_means():
    class ConnectionFailedError(Exception):
        pass

    class ToozConnectionError(Exception):
        pass

    silent = ConnectionFailedError()  # etcd3gw's, as tooz wraps it: no words of its own
    silent.__cause__ = ConnectionRefusedError(111, "Connection refused")
    wrapped = ToozConnectionError("")
    wrapped.__cause__ = silent
    assert said(wrapped) == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert said(ConnectionFailedError()) == "ConnectionFailedError: no connection (refused, or no route to it)"


def test_a_send_needs_half_the_lease_left_and_never_less_than_two_seconds():
    assert (need(15), need(60), need(3)) == (7.5, 30.0, 2.0)


def test_only_the_holder_or_a_member_alone_may_send():
    assert [c.name for c in Clearance if c.may_send] == ["ALONE", "HELD"]


def test_the_lease_becomes_the_locks_time_to_live_with_short_requests():
    lease = Lease(HaConfig("etcd3+http://127.0.0.1:1", "a", timedelta(seconds=15)), NAME)
    assert lease._url() == "etcd3+http://127.0.0.1:1?lock_timeout=15&timeout=5"
    lease = Lease(HaConfig("etcd3+http://127.0.0.1:1?timeout=2", "a", timedelta(seconds=9)), NAME)
    assert lease._url() == "etcd3+http://127.0.0.1:1?timeout=2&lock_timeout=9"


def test_the_role_metric_has_every_role_and_one_set(tmp_path):
    from agent.adapters.store import Store

    store = Store(tmp_path / "state.db")
    text = metrics.render(store, None, datetime.now(UTC), "standby")
    assert 'escalation_agent_role{role="standby"} 1' in text
    assert 'escalation_agent_role{role="leader"} 0' in text and 'escalation_agent_role{role="alone"} 0' in text


def test_status_agent_says_alone_without_ha(tmp_path):
    path = tmp_path / "config.ini"
    path.write_text(OFFLINE_CONFIG + f"[agent]\ndatabase = {tmp_path / 'state.db'}\n")
    path.chmod(0o600)
    Store(tmp_path / "state.db").close()  # as the agent leaves it: status creates no database
    result = agent_command(path, "status", "--agent")
    assert result.returncode == 0, result.stderr
    assert "role: alone (no [ha]: this member decides and sends)" in result.stdout


def test_the_coordination_notices_say_who_and_since_when():
    since = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    subject, body = notices.coordination_lost(
        "mail-a", "etcd3+http://e.test:2379", since, since + timedelta(seconds=20), "Connection refused", "15s"
    )
    assert subject == "mail-a cannot reach the coordination service"
    assert "since 11:00:00 GMT" in body and "Connection refused" in body and "no escalation goes out" in body


def test_with_another_backend_the_holder_trusts_only_the_time_since_it_was_confirmed(tmp_path):
    """tooz's file backend (a real one, without a server): no etcd to ask, so the clearance is the time since the
    backend last confirmed the lease, on a clock that runs on while a process is frozen."""
    now = [100.0]
    url = f"file://{tmp_path}"
    a = Lease(HaConfig(url, "a", timedelta(seconds=3)), NAME, clock=lambda: now[0])
    b = Lease(HaConfig(url, "b", timedelta(seconds=3)), NAME, clock=lambda: now[0])
    try:
        assert (a.tick(force=True), b.tick(force=True)) == (Role.LEADER, Role.STANDBY)
        assert a.clearance(1.5) == Clearance.HELD and b.clearance(1.5) == Clearance.NOT_HELD
        now[0] += 2  # frozen for 2 s of a 3 s lease: too little is left for a send that needs 1.5 s
        assert a.clearance(1.5) == Clearance.LAPSING
        assert a.tick(force=True) == Role.LEADER and a.clearance(1.5) == Clearance.HELD  # confirmed again
    finally:
        a.close()
        b.close()


def test_status_with_another_backend_says_the_role_the_member_recorded(tmp_path):
    config = config_with(tmp_path, f"[ha]\ncoordination_url = file://{tmp_path}\nmember = mail-a\n")
    said_now = describe(config, "leader")
    assert (said_now["role"], said_now["lease_holder"], said_now["coordination"]["health"]) == (
        "leader",
        "mail-a",
        "ok",
    )
    assert describe(config, None)["role"] == "standby"


# -- the lease against a real etcd ---------------------------------------------------------------------------
def lease(etcd, member: str) -> Lease:
    return Lease(HaConfig(etcd.url, member, timedelta(seconds=3)), NAME)


def test_a_frozen_holder_wakes_up_without_the_lease_though_etcd3gw_says_it_holds_it(etcd):
    a, b = lease(etcd, "a"), lease(etcd, "b")
    try:
        assert (a.tick(force=True), b.tick(force=True)) == (Role.LEADER, Role.STANDBY)
        assert a.holder() == "a" and a.clearance(1) == Clearance.HELD and b.clearance(1) == Clearance.NOT_HELD
        deadline = time.monotonic() + 15
        while b.tick() != Role.LEADER:  # a is silent, as if frozen: its lease lapses and b takes it
            assert time.monotonic() < deadline, "b never took the lease"
            time.sleep(0.1)
        assert a._lock.heartbeat() is True  # the trap: tooz's etcd3gw lock says it still holds it
        assert a.role == Role.LEADER  # and so does a's memory, until it asks
        assert a.clearance(1) == Clearance.NOT_HELD  # etcd says otherwise: the key is b's
        assert a.tick(force=True) == Role.STANDBY and b.holder() == "b"
    finally:
        a.close()
        b.close()


def test_with_etcd_down_the_holder_sends_only_while_its_lease_is_provably_valid_and_keeps_it_after(etcd):
    a, b = lease(etcd, "a"), lease(etcd, "b")
    try:
        assert a.tick(force=True) == Role.LEADER and b.tick(force=True) == Role.STANDBY
        etcd.stop()
        stopped = time.monotonic()
        assert a.clearance(1) == Clearance.HELD  # just confirmed: nobody can take it while etcd is down
        while a.clearance(1) == Clearance.HELD:
            assert time.monotonic() - stopped < 3.5, "held past the lease"
            time.sleep(0.1)
        assert a.clearance(1) == Clearance.UNREACHABLE and a.trouble and "cannot be reached" in a.trouble
        assert b.tick(force=True) == Role.STANDBY  # a standby never takes over without the service
        etcd.start()
        assert a.tick(force=True) == Role.LEADER and a.trouble is None  # etcd renewed the lease on its restart
        assert b.tick(force=True) == Role.STANDBY and a.clearance(1) == Clearance.HELD
    finally:
        a.close()
        b.close()


def test_a_clean_stop_hands_the_lease_over_at_once(etcd):
    a, b = lease(etcd, "a"), lease(etcd, "b")
    try:
        assert a.tick(force=True) == Role.LEADER
        a.close()
        assert b.tick(force=True) == Role.LEADER and b.holder() == "b"
    finally:
        b.close()
