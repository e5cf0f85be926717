"""The sections of config.ini that switch a feature on: [drill], [probe] (the API check, docs/probe.md) and [ha] (the
warm standby, docs/ha.md). Unset, the agent runs as without them."""

import re
import shlex
import socket
from datetime import timedelta

from agent.adapters.ini import Section
from agent.core.errors import ConfigError
from agent.core.reading.mail import in_domains
from agent.core.settings import (
    AgentConfig,
    DrillConfig,
    EscalationConfig,
    HaConfig,
    ImapConfig,
    ProbeConfig,
    SmtpConfig,
)


def internal_only(s: Section, key: str, address: str | None, esc: EscalationConfig) -> None:
    """An address the agent writes to about itself or a drill: one of ours, never the vendor's."""
    if address is None:
        return
    if in_domains(address, esc.responder_domains):
        raise ConfigError(f"{s.key(key)} {address} is in [escalation] responder_domains: it must be one of yours")
    if not in_domains(address, esc.internal_domains):
        raise ConfigError(f"{s.key(key)} {address} is not in [escalation] internal_domains: it must be one of yours")


DRILL_AFTER = timedelta(minutes=1)  # the drill ladder's default windows


def drill(
    s: Section, esc: EscalationConfig, imap: ImapConfig, smtp: SmtpConfig, agent: AgentConfig
) -> DrillConfig | None:
    """[drill]: a synthetic incident's ladder, internal test mailboxes only; None when the section sets none."""
    if not s.values:
        return None
    addresses = {key: s.address(key) for key in ("t1_address", "t2_address", "t3_address")}
    addresses["from_address"] = s.address("from_address", agent.ops_address)
    for key, address in addresses.items():
        internal_only(s, key, address, esc)
    taken = {
        imap.address: "[imap] address (the watched mailbox)",
        smtp.from_address: "[smtp] from_address (the agent's own mail)",
        esc.t1_address: "[escalation] t1_address",
        esc.t2_address: "[escalation] t2_address",
        esc.t3_address: "[escalation] t3_address",
    }
    for key, address in addresses.items():
        if address in taken:
            raise ConfigError(f"{s.key(key)} {address} is also {taken[address]}: a drill needs its own address")
    if len(set(addresses.values())) < len(addresses):
        raise ConfigError(f"{s.key('t1_address')}, t2_address, t3_address and from_address must be four addresses")
    windows = {key: s.window(key, DRILL_AFTER) for key in ("t2_after", "t3_after")}
    return DrillConfig(
        t1_address=addresses["t1_address"],
        t2_address=addresses["t2_address"],
        t3_address=addresses["t3_address"],
        t2_after=windows["t2_after"],
        t3_after=windows["t3_after"],
        from_address=addresses["from_address"],
    )


def probe(s: Section) -> ProbeConfig | None:
    """[probe]: None when neither command nor url is set (then nothing about the agent changes)."""
    command = tuple(shlex.split(s.text("command") or ""))
    url = s.url("url")
    interval = s.duration("interval", timedelta(seconds=60))
    timeout = s.duration("timeout", timedelta(seconds=10))
    status = s.integer("url_status", 200, 100, 599)
    always = s.flag("always", False)
    recovered_after = s.integer("recovered_after", 3, 1, 100)
    hold = s.flag("hold_on_recovery", False)
    if not command and url is None:
        return None
    if interval.total_seconds() < 1:
        raise ConfigError(f"{s.key('interval')} must be at least 1s")
    if not 0 < timeout.total_seconds() <= interval.total_seconds():
        raise ConfigError(f"{s.key('timeout')} must be more than 0s and at most {s.key('interval')}")
    return ProbeConfig(command, url, status, interval, timeout, always, recovered_after, hold)


MEMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")  # it goes into a header and a key of the coordination service


def ha(s: Section) -> HaConfig | None:
    """[ha]: None when the section sets nothing (this member alone, as before)."""
    if not s.values:
        return None
    url = s.required("coordination_url")
    if "://" not in url or " " in url:
        raise ConfigError(
            f"{s.key('coordination_url')}: {url!r} is not a tooz backend URL (e.g. etcd3+http://host:2379)"
        )
    member = s.text("member") or socket.gethostname().split(".")[0]
    if not MEMBER.match(member):
        raise ConfigError(
            f"{s.key('member')}: {member!r} is not a member name (letters, digits, '.', '_' and '-', at most 63)"
        )
    return HaConfig(coordination_url=url, member=member, lease=timedelta(seconds=s.seconds("lease", 15, 2, 600)))
