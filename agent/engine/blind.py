"""The agent watching itself: when the mailbox has been unreadable for blind_alert_after (a refused login, a
failing token command, a server down, a folder gone), one alarm to ops_address says since when, why, which
incidents are open and when their next deadlines are; one more mail says when it can read again. At most one of
each per outage: the alarms table's unique key (kind, outage start) holds it, whatever the code does.

"Unreadable since" outlives a restart: it is the last good read of every folder (`mailbox_state.synced_at`,
touched here after each full read, at most every TOUCH_EVERY), or the open alarm's outage. The heartbeat's
outcome is kept too, as an audit event on each change, so that `status` (another process) can say it."""

import logging
from datetime import datetime, timedelta

from agent.adapters import selfwatch
from agent.adapters.rows import AlarmRow
from agent.adapters.store import Store
from agent.core.procedure.policy import Outgoing, Status, decide
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.core.times import from_iso, gmt, span
from agent.core.writing import notices
from agent.engine import enqueue, outbox
from agent.engine.health import Troubles
from agent.engine.heartbeat import Heartbeat
from agent.engine.ladder import policy_of

log = logging.getLogger("agent.service")

TOUCH_EVERY = timedelta(seconds=10)  # how stale `synced_at` may be while all is well: one small write at most
HEARTBEAT_KINDS = ("heartbeat_ok", "heartbeat_failing")


class Watchman:
    def __init__(self, config: Config, store: Store, troubles: Troubles, started_at: datetime):
        self.config, self.store, self.troubles = config, store, troubles
        self.started_at = started_at
        self.since: datetime | None = None  # while the mailbox cannot be read: since when (the last good read)
        self._touched: datetime | None = None
        beat = selfwatch.last_event(store, HEARTBEAT_KINDS)
        self._beat: str | None = beat.kind if beat else None

    # -- what each sync says -------------------------------------------------------------------------------------
    def read(self, now: datetime) -> None:
        """Every folder was read: the last good read is recorded; an outage that was alarmed about is over."""
        after_outage, first = self.since is not None, self._touched is None
        every = min(TOUCH_EVERY, self.config.agent.blind_alert_after / 4)  # "since" is never off by much
        if after_outage or first or self._touched is None or now - self._touched >= every:
            with self.store.transaction():
                selfwatch.touch_folders(self.store, self.config.imap.folders, now)
            self._touched = now
        if after_outage or first:  # an outage is over, or the agent (re)started: was one alarmed about?
            alarmed = selfwatch.open_blind(self.store)
            if alarmed is not None:
                self._all_clear(alarmed, now)
        self.since = None
        self._confirm(now)

    def unreadable(self, now: datetime, last_read: datetime | None) -> None:
        """A sync failed. `last_read`: this process's last full read, if it had one."""
        if self.since is not None:
            return
        alarmed = selfwatch.open_blind(self.store)  # an outage alarmed about before a restart goes on
        if alarmed is not None:
            self.since = from_iso(alarmed.outage)
        else:
            stored = selfwatch.last_good_read(self.store, self.config.imap.folders)
            self.since = last_read or stored or self.started_at

    def due_at(self) -> datetime | None:
        """When the alarm is due, while one is to come (the loop wakes for it)."""
        if self.since is None or not self.config.agent.ops_address:
            return None
        return self.since + self.config.agent.blind_alert_after

    def check(self, now: datetime) -> int | None:
        """The blind alarm's outbox row, when the outage has lasted blind_alert_after and none was decided for it."""
        due = self.due_at()
        if self.since is None or due is None or now < due or selfwatch.open_blind(self.store) is not None:
            return None
        reason = self.troubles.now("imap") or "the IMAP server could not be read"
        grace = span(self.config.agent.unconfirmed_grace)
        subject, body = notices.blind(self.config.imap.address, self.since, now, reason, self.waiting(now), grace)
        detail = (
            f"cannot read the watched mailbox since {gmt(self.since)} ({reason}); {self.config.agent.ops_address} told"
        )
        return enqueue.alarm(self.store, self.config, "blind", self.since, subject, body, detail, now, reason)

    def waiting(self, now: datetime) -> list[notices.Waiting]:
        """The open (real) incidents with what is due next and when, as decide() says now."""
        policy = policy_of(self.config)
        out: list[notices.Waiting] = []
        for incident, _ in self.store.open_incidents():
            if incident.drill:
                continue
            d = decide(incident, policy, now)
            what = "exhausted notice" if incident.tier >= Tier.T3 else Tier(int(incident.tier) + 1).label
            out.append((incident.id, self.store.incident_record(incident.id).subject, what, d.due_at))
        return out

    def _all_clear(self, alarmed: AlarmRow, now: datetime) -> None:
        since = from_iso(alarmed.outage)
        detail = f"can read the watched mailbox again (unreadable since {gmt(since)}, for {span(now - since)})"
        if alarmed.status == Status.PENDING:  # it never went out: nobody needs the all-clear
            with self.store.transaction():
                self.store.update_outbox(
                    Outgoing.ALARM,
                    alarmed.id,
                    status=str(Status.CANCELLED),
                    last_error="not sent: the mailbox could be read again first",
                )
                self.store.event(now, "sight", detail, None, "the blind alarm had not gone out: cancelled")
            return
        subject, body = notices.sight(self.config.imap.address, since, now, self.waiting(now))
        enqueue.alarm(self.store, self.config, "sight", since, subject, body, detail, now, alarmed.reason)

    def _confirm(self, now: datetime) -> None:
        """An alarm's CC copy came back through the watched mailbox (ingest recorded it as our own mail)."""
        for row in selfwatch.unconfirmed_alarms(self.store):
            if self.store.has_message(row.message_id):
                assert row.sent_at is not None  # it was sent: its time is recorded
                with self.store.transaction():
                    outbox.confirm(self.store, row.message_id, from_iso(row.sent_at), now)

    # -- the heartbeat ---------------------------------------------------------------------------------------------
    def heartbeat(self, beat: Heartbeat, now: datetime) -> None:
        """The heartbeat's outcome, as an audit event when it changed: `status` reads it from another process."""
        if beat.courier is None:
            return
        trouble = self.troubles.now("heartbeat")
        if trouble:
            kind, detail = "heartbeat_failing", trouble
        elif beat.courier.delivered:
            kind, detail = "heartbeat_ok", f"the monitor took the last beat ({beat.state})"
        else:
            return
        if kind != self._beat:
            self.store.event(now, kind, detail, None, "the heartbeat's outcome changed")
            self._beat = kind
