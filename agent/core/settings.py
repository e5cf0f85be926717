"""The agent's settings as frozen dataclasses: what config.ini says, once read and checked."""

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from agent.core import sop
from agent.core.procedure.policy import Policy
from agent.core.reading import subjects
from agent.core.writing import attach


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str
    username: str
    password: str | None = field(repr=False)  # None only with auth = xoauth2
    folders: tuple[str, ...]
    address: str  # the watched mailbox's own address: escalations CC it
    timeout: float
    ca_file: str | None
    idle: bool = True  # IMAP IDLE on the first folder, where the server offers it
    auth: str = "password"  # or "xoauth2": a fresh token from oauth2_token_command on every connect
    oauth2_token_command: tuple[str, ...] = ()
    # Old mail that names neither the escalation ladder nor this agent is passed over by the server's SEARCH
    # (core/reading/folder.py Involved); false: every old mail's header fields are read, for an untrusted SEARCH.
    narrow_old_mail: bool = True


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None = field(repr=False)
    from_address: str
    timeout: float
    ca_file: str | None
    auth: str = "password"
    oauth2_token_command: tuple[str, ...] = ()


@dataclass(frozen=True)
class DrillConfig:
    """[drill]: a synthetic incident's own ladder, all internal test mailboxes with short windows."""

    t1_address: str
    t2_address: str
    t3_address: str
    t2_after: timedelta
    t3_after: timedelta
    from_address: str  # who sends the drill's T1, as an engineer would: not the agent's own From

    def tier_address(self, tier: sop.Tier) -> str:
        return {1: self.t1_address, 2: self.t2_address, 3: self.t3_address}[int(tier)]


@dataclass(frozen=True)
class EscalationConfig:
    t1_address: str
    t2_address: str
    t3_address: str
    t2_after: timedelta
    t3_after: timedelta
    responder_domains: tuple[str, ...]
    internal_domains: tuple[str, ...]
    trusted_authserv_id: str | None = None  # when set: sender domains count only with DMARC/DKIM from it
    exhausted_after: timedelta = timedelta(minutes=30)  # no response this long after the T3: tell our people
    operations: tuple[tuple[str, str], ...] = ()  # marketplace -> operations team address, for misroutes
    # Regexes with one group each: the vendor's case id in a subject or body ([escalation] case_id_patterns).
    case_id_patterns: tuple[str, ...] = subjects.CASE_ID_PATTERNS

    def operations_team(self, marketplace: str | None) -> str | None:
        return dict(self.operations).get((marketplace or "").upper())

    # issue 21.3: bytes, the largest escalation the attached T1 may make (agent.core.writing.attach)
    attach_limit: int = attach.DEFAULT_LIMIT
    join_same_outage: bool = True  # a second T1 about an open incident's outage joins it (core/procedure/outage.py)

    drill: DrillConfig | None = None  # [drill]: its T1 address opens drill incidents, which climb its ladder
    # -- issue 21.5: after an engineer's stop past the T1, the tiers contacted are told "no further action needed"
    stand_down: bool = True

    def policy(self, drill: bool = False) -> Policy:
        """The ladder's windows, as decide() takes them: the [drill] ladder's for a drill incident."""
        ladder = self.drill if drill and self.drill is not None else self
        return Policy(ladder.t2_after, ladder.t3_after, self.exhausted_after)

    def tier_address(self, tier: sop.Tier, drill: bool = False) -> str:
        """The tier's address: the drill ladder's for a drill incident."""
        if drill:
            if self.drill is None:  # a drill must never reach the vendor: no [drill] ladder, no address
                raise ValueError("a drill incident, but there is no [drill] ladder")
            return self.drill.tier_address(tier)
        return {1: self.t1_address, 2: self.t2_address, 3: self.t3_address}[int(tier)]

    @property
    def t1_addresses(self) -> tuple[str, ...]:
        """The addresses a T1 is written to: the urgent line's, and the drill's."""
        return (self.t1_address,) + ((self.drill.t1_address,) if self.drill is not None else ())


@dataclass(frozen=True)
class AgentConfig:
    database: Path
    poll_interval: int
    dry_run: bool
    max_incident_age: timedelta
    max_message_bytes: int
    log_level: str
    unconfirmed_grace: timedelta  # mailbox unreadable at a deadline: escalate anyway after this long
    resend_after: timedelta  # a send cut short by a crash: looked for in the mailbox this long first
    metrics_port: int = 0  # Prometheus /metrics on 127.0.0.1:PORT; 0: off
    metrics_textfile: Path | None = None  # or a file for node_exporter's textfile collector
    heartbeat_url: str | None = None  # a dead-man's switch: GET after good cycles, GET .../fail after bad ones
    heartbeat_interval: timedelta = timedelta(seconds=60)
    heartbeat_command: tuple[str, ...] = ()  # or a command, run with "ok" or "fail" as its last argument
    webhook_url: str | None = None  # a chat channel's incoming webhook: one line per incident event
    ops_address: str | None = None  # told when the mailbox has been unreadable for blind_alert_after
    blind_alert_after: timedelta = timedelta(minutes=10)
    opened_notice: bool = True  # when an incident opens, its people are told the agent watches, and how to steer
    # Who sends, as every mail's provenance names it (core/reading/provenance.py): the host name; [ha] member if set
    member: str = "unknown"


# -- [probe]: the API check (agent/core/procedure/probe.py, agent/engine/probe.py, docs/probe.md) ---------------
@dataclass(frozen=True)
class ProbeConfig:
    command: tuple[str, ...] = ()  # exit 0: the API works; anything else: it fails; its first output line: evidence
    url: str | None = None  # or/and an HTTP(S) GET that must answer url_status
    url_status: int = 200
    interval: timedelta = timedelta(seconds=60)
    timeout: timedelta = timedelta(seconds=10)
    always: bool = False  # probe all the time, not only while an incident is open
    recovered_after: int = 3  # passes in a row that make the API count as answering again
    hold_on_recovery: bool = False  # while it answers again, the next tier waits


@dataclass(frozen=True)
class HaConfig:
    """[ha]: the warm standby. Only the member holding the lease in the coordination service decides and sends."""

    coordination_url: str  # a tooz backend URL: etcd3+http://host:2379, zookeeper://, redis://, kubernetes://...
    member: str  # this member's name (default: the host name); it signs the provenance of every mail it sends
    lease: timedelta = timedelta(seconds=15)  # a holder silent this long is replaced


@dataclass(frozen=True)
class Config:
    path: Path
    imap: ImapConfig
    smtp: SmtpConfig
    escalation: EscalationConfig
    agent: AgentConfig
    warnings: tuple[str, ...] = ()  # things to fix that do not stop the agent
    probe: ProbeConfig | None = None  # [probe]: None when neither command nor url is set
    ha: HaConfig | None = None  # [ha]: a warm standby through a coordination service; None: this member alone
