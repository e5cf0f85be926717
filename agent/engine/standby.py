"""The warm standby ([ha]) around the cycle: the role each cycle, the fence before each send, and ops told once per
outage of the coordination service.

The fence, right before a send, is two checks: the lease (`Lease.clearance`: asked of the coordination service itself,
never of this member's memory) and the mailbox (another member's copy of the same mail, found by its provenance: the
mail was sent; it is recorded so and not sent again). A standby never sends: it holds back what its own ingest
decided (a notice) until it holds the lease, and then the mailbox says whether the old holder sent it.

Coordination service down: the holder keeps sending while half its lease is provably left (from the time the service
last confirmed it, on the monotonic clock: nobody can take the lease while the service is down), then stops; a standby
never takes over without the service. What falls due meanwhile goes out once, when the service is back. No member
falls back to sending alone: a network partition would then make two senders, and a duplicate to the vendor's
leadership is a failure as real as a missed T2. Each member tells ops_address once per outage it sees (a partition
may cut one member only); that mail goes to our own people, so it needs no lease.
"""

import email.parser
import email.policy
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.adapters import selfwatch
from agent.adapters.imap import Mailbox
from agent.adapters.rows import AlarmRow, EscalationRow, NoticeRow, OutboxRow
from agent.adapters.store import Store
from agent.core.errors import MailboxError
from agent.core.procedure.policy import Outgoing, Status
from agent.core.reading import provenance
from agent.core.settings import Config
from agent.core.times import from_iso, gmt, iso, span
from agent.core.writing import notices
from agent.engine import enqueue, outbox
from agent.engine.lease import Alone, Clearance, Lease, Role, open_lease, shown

log = logging.getLogger("agent.service")

NEED = 2.0  # seconds of lease a send must have left, at least: one SMTP transaction to a relay nearby


def need(lease_seconds: float) -> float:
    """The lease a send must have left: half of it. A holder then sends only in the first half of what it was granted,
    and a member can take over only when all of it has run out; so the CC copy of the old holder's last send has half
    a lease to come back into the mailbox before the new holder's fence looks for it."""
    return max(NEED, lease_seconds / 2)


COORDINATION = ("coordination", "coordination_back")  # alarms every member sends, lease or not


class Standby:
    def __init__(
        self,
        config: Config,
        store: Store,
        mailbox: Mailbox,
        clock: Callable[[], datetime],
        lease: Alone | Lease | None = None,
    ):
        self.config, self.store, self.mailbox, self.clock = config, store, mailbox, clock
        self.lease = lease if lease is not None else open_lease(config)
        self.recorded: Role | None = None  # the role last written to the audit log
        self.held: Clearance | None = None  # why the last send was held back, if it was
        self.down_at: datetime | None = None  # since when the coordination service cannot be reached

    @property
    def on(self) -> bool:
        return isinstance(self.lease, Lease)

    def role(self, now: datetime) -> Role:
        """The role for this cycle (the lease is refreshed or acquired now), changes recorded in the audit log."""
        role = self.lease.tick(force=True)
        if role != self.recorded and self.on:
            holder = "this member" if role == Role.LEADER else "another member, or none"
            text = f"member {self.lease.member} is now {role}: the lease is held by {holder}"
            log.info("ha: %s", text)
            self.store.event(now, "ha_role", text, None, self.lease.trouble or "the coordination service said so")
            self.recorded = role
        return role

    # -- the fence ----------------------------------------------------------------------------------------------------
    def fence(self, kind: Outgoing, row: OutboxRow, mark: provenance.Provenance | None) -> Status | None:
        """None: send it now. Status.PENDING: held back (not the lease holder). Status.SENT: another member's copy of
        it is in the mailbox, recorded as sent. `mark`: the stamp its mail carries, which its copy carries too
        (notice-<kind>, answer-<verb>, t2, t3)."""
        self.held = None
        lease = self.lease
        if not isinstance(lease, Lease) or (isinstance(row, AlarmRow) and row.kind in COORDINATION):
            return None
        clearance = lease.clearance(need(lease.seconds))
        if not clearance.may_send:
            self.held = clearance
            log.info("ha: %s held back: %s", outbox.label(kind, row), clearance.value)
            return Status.PENDING
        if row.incident_id is None:  # an alarm about this member itself
            return None
        incident_id = row.incident_id
        t1 = self.store.incident_record(incident_id).t1_message_id
        if mark is not None:
            what = mark.kind
        else:  # a stamp that does not read: a notice's kind names what its copy carries
            assert isinstance(row, NoticeRow)
            what = provenance.of_notice(row.kind)[0]
        try:
            copies = self.mailbox.copies(provenance.HEADER, what, t1, self.config.smtp.from_address)
        except MailboxError as e:
            return self._unsearchable(kind, row, str(e))
        # the same mail, not only the same kind: two answers to #status, two joined T1s' notices, differ here
        same = (mark.key, mark.command) if mark is not None else (None, None)
        found = [
            c
            for c in map(_copy, copies)
            if c is not None and c[3].kind == what and c[3].incident == t1 and (c[3].key, c[3].command) == same
        ]
        found = [c for c in found if self._ours(c[0], incident_id)]
        if not found:
            # the search may have taken a while on a large mailbox: the lease is asked again, right before the send
            clearance = lease.clearance(need(lease.seconds))
            if not clearance.may_send:
                self.held = clearance
                log.info("ha: %s held back after the search: %s", outbox.label(kind, row), clearance.value)
                return Status.PENDING
            return None
        message_id, at, _, mark = min(found, key=lambda c: c[1])
        _sent_elsewhere(self.store, kind, row, message_id, at, mark.member or "unknown", self.clock())
        return Status.SENT

    def _ours(self, message_id: str, incident_id: int) -> bool:
        """A stamp is text anyone can write: a copy counts only if ingest took it for the agent's own mail (our From,
        believed where DMARC is checked) in this incident's thread. A forged one must never stop a T2."""
        if selfwatch.own_mail_in(self.store, message_id, incident_id):
            return True
        log.warning(
            "ha: %s carries the provenance of incident %s but is not our own mail in it", message_id, incident_id
        )
        return False

    def _unsearchable(self, kind: Outgoing, row: OutboxRow, error: str) -> Status | None:
        """The mailbox cannot be searched for another member's copy. An escalation goes out once it is past its
        deadline by unconfirmed_grace, as without [ha] while the mailbox is unreadable; anything else waits."""
        grace = self.config.agent.unconfirmed_grace
        due = row.due_at if isinstance(row, EscalationRow) else None
        if kind == Outgoing.ESCALATION and due and self.clock() >= from_iso(due) + grace:
            log.warning("ha: %s sent without the mailbox check (%s)", outbox.label(kind, row), error)
            return None
        self.held = Clearance.UNREACHABLE
        what = outbox.label(kind, row)
        log.info("ha: %s held back: the mailbox cannot be searched for another member's copy (%s)", what, error)
        return Status.PENDING

    # -- the coordination service down: ops told once per outage ---------------------------------------------------
    def watch(self, now: datetime) -> None:
        if not isinstance(self.lease, Lease):
            return
        lease, service = self.lease, shown(self.lease.ha.coordination_url)
        if lease.trouble is not None:
            self.down_at = self.down_at or now
            if now - self.down_at >= timedelta(seconds=lease.seconds):  # by now no holder may send
                subject, body = notices.coordination_lost(
                    lease.member, service, self.down_at, now, lease.trouble, span(lease.ha.lease)
                )
                detail = f"member {lease.member} cannot reach {service} since the outage began ({lease.trouble})"
                enqueue.alarm(
                    self.store, self.config, "coordination", self.down_at, subject, body, detail, now, lease.trouble
                )
            return
        if self.down_at is not None:
            since, self.down_at = self.down_at, None
            if _alarmed(self.store, since):
                subject, body = notices.coordination_back(lease.member, service, since, now)
                detail = f"member {lease.member} reaches {service} again"
                enqueue.alarm(self.store, self.config, "coordination_back", since, subject, body, detail, now)

    def close(self) -> None:
        self.lease.close()


def _sent_elsewhere(
    store: Store, kind: Outgoing, row: OutboxRow, message_id: str, sent_at: datetime, member: str, now: datetime
) -> None:
    """A pending row whose mail another member (or this one, before it lost its database) already sent: its copy, by
    its provenance, is in the mailbox. Recorded as sent then, under the copy's Message-ID, and never sent again."""
    what, ours = outbox.label(kind, row), row.message_id
    taken = store.outbox_by_message_id(message_id) is not None  # already a row of ours: keep our own id on this one
    with store.transaction():
        store.update_outbox(
            kind,
            row.id,
            status=str(Status.SENT),
            message_id=ours if taken else message_id,
            sent_at=iso(sent_at),
            confirmed_at=iso(now),
            last_error=f"not sent: member {member} sent it first ({message_id}; ours was {ours})",
        )
        store.event(
            now,
            "sent_by_member",
            f"{what} {message_id} sent by member {member} at {gmt(sent_at)}: its copy is in the watched mailbox",
            row.incident_id,
            "found by its provenance right before the send; not sent again",
        )
    log.info("not sent: %s found sent by member %s incident=%s", what, member, row.incident_id)


def _alarmed(store: Store, since: datetime) -> bool:
    return selfwatch.has_alarm(store, "coordination", since)


def _copy(found: tuple[bytes, datetime | None]) -> tuple[str, datetime, str, provenance.Provenance] | None:
    """(Message-ID, arrival, raw value, provenance) of a copy found by the search; None when it is not one."""
    fields, arrived = found
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(fields)
    message_id, value = headers.get("Message-ID"), headers.get(provenance.HEADER)
    mark = provenance.read(" ".join(str(value).split())) if value else None
    if not message_id or mark is None or arrived is None:
        return None
    return " ".join(str(message_id).split()), arrived, str(value), mark
