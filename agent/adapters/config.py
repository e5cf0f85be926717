"""config.ini -> frozen dataclasses. Every error names the section and key it is about.

Here the whole file and the procedure's sections; the mail servers' in `config_servers`, the optional features' in
`config_options`.
"""

import configparser
import os
import re
import shlex
import socket
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from agent.adapters import config_options, config_servers
from agent.adapters.ini import EMAIL, Ini, Section, resolve
from agent.core import sop
from agent.core.errors import ConfigError
from agent.core.procedure import routing
from agent.core.reading import subjects
from agent.core.reading.mail import domain_of, in_domains
from agent.core.settings import (
    AgentConfig,
    Config,
    EscalationConfig,
    ImapConfig,
)
from agent.core.sop import Tier
from agent.core.writing import attach


def default_path() -> Path:
    return Path(os.environ.get("ESCALATION_AGENT_CONFIG") or "config.ini")


def load(path: Path | str | None = None, secrets: bool = True) -> Config:
    """`secrets=False`: for the read-only commands (`status`, `show`, `report`, the auditors' `export`...): no password
    is read (every one is None)."""
    path = Path(path) if path else default_path()
    parser = Ini()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (use -c PATH or $ESCALATION_AGENT_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} cannot be read ({e})") from None
    except configparser.Error as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid INI: {first}") from None
    config = _config(parser, path, secrets)
    # After every section and key was read: the ones never asked for are typos (or a newer version's keys).
    unknown = parser.unknown()
    if unknown:
        raise ConfigError(unknown)
    return config


def _config(parser: Ini, path: Path, secrets: bool) -> Config:
    base = path.resolve().parent
    smtp = config_servers.smtp(Section(parser, "smtp", secrets), base)
    imap = config_servers.imap(Section(parser, "imap", secrets), base, smtp.from_address)
    escalation = _escalation(Section(parser, "escalation"), _operations(Section(parser, "operations")))
    agent = _agent(Section(parser, "agent"), base)
    config_options.internal_only(Section(parser, "agent"), "ops_address", agent.ops_address, escalation)
    escalation = replace(
        escalation, drill=config_options.drill(Section(parser, "drill"), escalation, imap, smtp, agent)
    )
    ha = config_options.ha(Section(parser, "ha"))
    if ha is not None:  # every stamp names the member the coordination service knows
        agent = replace(agent, member=ha.member)
    return Config(
        path=path,
        imap=imap,
        smtp=smtp,
        escalation=escalation,
        agent=agent,
        warnings=_warnings(path, parser)
        + _address_warnings(Section(parser, "imap"), imap)
        + _domain_warnings(escalation),
        probe=config_options.probe(Section(parser, "probe")),
        ha=ha,
    )


def _warnings(path: Path, parser: configparser.ConfigParser) -> tuple[str, ...]:
    plain = [
        f"[{s}] password"
        for s in ("imap", "smtp")
        if parser.has_option(s, "password") and parser.get(s, "password").strip()
    ]
    try:
        readable_by_others = path.stat().st_mode & 0o004
    except OSError:
        return ()
    if plain and readable_by_others:
        return (
            f"{path} holds {' and '.join(plain)} and is readable by every user: chmod o-r it, "
            f"or use password_file / password_credential",
        )
    return ()


def _address_warnings(s: Section, imap: ImapConfig) -> tuple[str, ...]:
    if s.text("address") or EMAIL.match(imap.username):
        return ()
    return (
        f"{s.key('username')} {imap.username!r} is not an address and {s.key('address')} is unset: the watched "
        f"mailbox is taken to be {imap.address} ([smtp] from_address); set {s.key('address')} if it is not",
    )


def _domain_warnings(esc: EscalationConfig) -> tuple[str, ...]:
    """Settings that run, but would make the agent blind to an answer, or unsure whose a mail is."""
    out = []
    for tier in (Tier.T1, Tier.T2, Tier.T3):
        address = esc.tier_address(tier)
        if not in_domains(address, esc.responder_domains):
            out.append(
                f"[escalation] {tier.label.lower()}_address {address} is not in responder_domains: a reply from the "
                f"vendor's {tier.title} list ({domain_of(address)}) would not count as a response"
            )
    for internal in esc.internal_domains:
        for responder in esc.responder_domains:
            if in_domains(internal, (responder,)) or in_domains(responder, (internal,)):
                out.append(
                    f"[escalation] internal_domains holds {internal} and responder_domains holds {responder}: "
                    f"mail from {max(internal, responder, key=len)} counts as internal, never as the vendor's answer"
                )
    return tuple(out)


def _operations(s: Section) -> tuple[tuple[str, str], ...]:
    """[operations]: the SOP's country table, each entry replaceable (`uk = ...`) or added."""
    teams = dict(routing.OPERATIONS_TEAMS)
    for key in s.entries():
        teams[key.upper()] = s.address(key)
    return tuple(teams.items())  # the SOP's order, then additions


def _escalation(s: Section, operations: tuple[tuple[str, str], ...]) -> EscalationConfig:
    t2_after = s.window("t2_after", sop.T2_AFTER)
    t3_after = s.window("t3_after", sop.T3_AFTER)
    trusted = s.text("trusted_authserv_id")
    responders = s.domains("responder_domains", sop.RESPONDER_DOMAINS)
    internal = s.domains("internal_domains", required=True)
    both = sorted(set(responders) & set(internal))
    if both:
        raise ConfigError(f"{s.key('internal_domains')} and {s.key('responder_domains')} both hold {', '.join(both)}")
    return EscalationConfig(
        t1_address=s.address("t1_address", sop.T1_ADDRESS),
        t2_address=s.address("t2_address", sop.T2_ADDRESS),
        t3_address=s.address("t3_address", sop.T3_ADDRESS),
        t2_after=t2_after,
        t3_after=t3_after,
        responder_domains=responders,
        internal_domains=internal,
        trusted_authserv_id=trusted,
        exhausted_after=s.duration("exhausted_after", timedelta(minutes=30)),
        operations=operations,
        case_id_patterns=_case_id_patterns(s),
        stand_down=s.flag("stand_down", True),  # issue 21.5
        join_same_outage=s.flag("join_same_outage", True),  # issue 21.4
        # issue 21.3: the largest escalation the attached T1 may make (config.ini says why 10MB)
        attach_limit=s.size("attach_limit", attach.DEFAULT_LIMIT, 100_000, 1000**3),
    )


def _case_id_patterns(s: Section) -> tuple[str, ...]:
    """[escalation] case_id_patterns: one regex a line (a regex may hold any separator a list could use), each with
    exactly one group, the id; `none` learns no case ids. Unset or empty: the defaults (subjects.CASE_ID_PATTERNS)."""
    text = s.text("case_id_patterns")
    if text is None:
        return subjects.CASE_ID_PATTERNS
    if text.lower() == "none":
        return ()
    patterns = tuple(line.strip() for line in text.splitlines() if line.strip())
    for pattern in patterns:
        try:
            groups = re.compile(pattern).groups
        except re.error as e:
            raise ConfigError(f"{s.key('case_id_patterns')}: {pattern!r} is not a regular expression ({e})") from None
        if groups != 1:
            raise ConfigError(
                f"{s.key('case_id_patterns')}: {pattern!r} has {groups} groups; each pattern needs exactly one, "
                "the case id (write others as (?:...))"
            )
    return patterns


def _agent(s: Section, base: Path) -> AgentConfig:
    metrics_textfile = s.text("metrics_textfile")
    return AgentConfig(
        database=resolve(base, s.text("database", "state/escalation-agent.db")),
        poll_interval=s.seconds("poll_interval", 60, 1, 3600),
        dry_run=s.flag("dry_run", False),
        max_incident_age=s.duration("max_incident_age", timedelta(hours=24)),
        max_message_bytes=s.integer("max_message_bytes", 25 * 1024 * 1024, 1024, 1024**3),
        log_level=s.choice("log_level", ("debug", "info", "warning", "error"), "info"),
        unconfirmed_grace=s.duration("unconfirmed_grace", timedelta(minutes=2)),
        resend_after=s.duration("resend_after", timedelta(minutes=2)),
        metrics_port=s.integer("metrics_port", 0, 0, 65535),
        metrics_textfile=resolve(base, metrics_textfile) if metrics_textfile else None,
        heartbeat_url=s.url("heartbeat_url"),
        heartbeat_interval=s.duration("heartbeat_interval", timedelta(seconds=60)),
        heartbeat_command=tuple(shlex.split(s.text("heartbeat_command") or "")),
        webhook_url=s.url("webhook_url"),
        ops_address=s.address("ops_address") if s.text("ops_address") else None,
        blind_alert_after=s.duration("blind_alert_after", timedelta(minutes=10)),
        opened_notice=s.flag("opened_notice", True),
        member=socket.gethostname() or "unknown",  # the provenance's member: [ha] member, when set, takes its place
    )
