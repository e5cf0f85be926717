"""A mail of the agent's own that its database does not know, found in the mailbox: what it was counts as sent. Pure.

The mailbox is the record (docs/rebuild.md). An agent whose database is empty, restored from an older backup, or
another member's, reads the copies of the agent's sends in the watched mailbox like any mail; their provenance
(agent.core.reading.provenance) says what each was. A tier found counts as that tier sent at the mail's time (the next
window runs from it); a notice found counts as that notice sent. Neither is sent again.

A header is text anyone can write, so a mail counts only when everything about it is the agent's: its From is the
agent's address (which classify already refused, as `untrusted`, when [escalation] trusted_authserv_id is set and
the domain's authentication failed), its Message-ID has the agent's shape and domain, it is a copy that came back
through the watched mailbox's Cc, its provenance names the incident whose thread it is in, an escalation went To
that tier's address, and it was sent after the T1.
"""

import enum
from datetime import datetime, timedelta

from agent.core.deciding.effect import Adopt, Arrival, Confirm, Effect, Event
from agent.core.procedure.policy import Incident
from agent.core.reading import provenance
from agent.core.reading.mail import Mail
from agent.core.reading.provenance import Provenance
from agent.core.settings import Config
from agent.core.times import gmt

# The agent's Date is its own clock when it composed the mail; the copy reaches the mailbox seconds later. A Date
# further from the server's INTERNALDATE than this is not believed: the mail counts from when it arrived.
SEND_TOLERANCE = timedelta(minutes=10)


class Verdict(enum.StrEnum):
    ADOPT = "the agent's own mail: counted as sent"
    NOT_FROM_US = "not from the agent's own address"
    NOT_OUR_ID = "its Message-ID is not one the agent makes"
    NO_INCIDENT = "its provenance names no incident"
    OTHER_INCIDENT = "its provenance names another incident than the thread it is in"
    NO_COPY = "the watched mailbox is not among its recipients: no copy of a send of ours"
    NOT_TO_TIER = "an escalation's provenance, but not To that tier's address"
    UNKNOWN_KIND = "its provenance names nothing the outbox keeps"
    BEFORE_T1 = "sent before the incident's T1"


def sent_at(mail: Mail, internaldate: datetime | None, now: datetime) -> datetime:
    """When the mail was sent: its Date when plausible against the server's INTERNALDATE, else INTERNALDATE; never
    later than `now`."""
    arrived = min(internaldate or now, now)
    if mail.date is not None and arrived - SEND_TOLERANCE <= mail.date <= arrived + SEND_TOLERANCE:
        return min(mail.date, now)
    return arrived


def vouch(mail: Mail, found: Provenance, incident: Incident, settings: Config, at: datetime) -> Verdict:
    """Is this mail, which carries `found`, the agent's own send for this incident?"""
    if mail.sender != settings.smtp.from_address.lower():
        return Verdict.NOT_FROM_US
    if not provenance.ours_by_shape(mail.original_message_id or mail.message_id, settings.smtp.from_address):
        return Verdict.NOT_OUR_ID
    if found.incident is None:
        return Verdict.NO_INCIDENT
    if found.incident != incident.t1_message_id:
        return Verdict.OTHER_INCIDENT
    if settings.imap.address.lower() not in mail.recipients:
        return Verdict.NO_COPY
    if found.tier is not None:
        address = settings.escalation.tier_address(found.tier, incident.drill).lower()
        if address not in mail.to:
            return Verdict.NOT_TO_TIER
    elif found.notice is None:
        return Verdict.UNKNOWN_KIND
    if at < incident.t1_sent_at:
        return Verdict.BEFORE_T1
    return Verdict.ADOPT


def adopted(arrival: Arrival, incident: Incident, settings: Config, now: datetime) -> list[Effect]:
    """The effects of a mail from the agent's own address that the database does not know."""
    mail = arrival.mail
    found = provenance.read(mail.provenance)
    if found is None:  # no stamp (an older version's send, or a person's mail from that address): as before
        return [Confirm(mail.message_id, mail.date or now, mail.original_message_id)]
    # Read after the commands already applied, so sent after them: times in whole seconds must not say otherwise (a
    # T2 sent in the second its #escalate came would seem asked for again, and the T3 would go at once). A
    # millisecond after: the store keeps milliseconds.
    steered = (incident.steering.escalate_at, incident.steering.resumed_at)
    after = [t + timedelta(milliseconds=1) for t in steered if t is not None and t < now]
    at = min(max([sent_at(mail, arrival.internaldate, now), *after]), now)
    verdict = vouch(mail, found, incident, settings, at)
    what = found.tier.label if found.tier is not None else f"notice '{found.notice or found.kind}'"
    detail = f"{what} {mail.message_id} from {mail.sender or 'no sender'} (member {found.member or 'unknown'})"
    if verdict != Verdict.ADOPT:
        return [Event("provenance_refused", f"{detail}: {verdict}", "not counted as sent")]
    if found.tier is not None:
        ours = incident.escalation(found.tier)
        if ours is not None and ours.status.done:  # two copies went out before this database knew either
            return [
                Event(
                    "duplicate_seen",
                    f"{detail}, sent {gmt(at)}: the {what} was already {ours.status} as {ours.message_id}",
                    "a second copy of a tier: nothing more is sent",
                )
            ]
    own_id = mail.original_message_id or mail.message_id  # a relay may have replaced ours: the row keeps ours
    return [Adopt(found.tier, found.notice, own_id, at, found.member or "unknown", mail.recipients, arrival.raw)]
