"""Notices: mails to the partner's own people about their incident. At most one of each kind per
incident (the database's unique key), written to the outbox with its audit event."""

import json
import logging
from datetime import datetime

from agent import compose, items, routing
from agent.config import Config
from agent.mail import in_domains
from agent.policy import Status
from agent.store import Store
from agent.times import from_iso, iso

log = logging.getLogger("agent.notices")


def original_of(row: dict) -> compose.Original:
    """The T1 of an incident row, as composition wants it, with its SOP items in the SOP's order."""
    found = json.loads(row["items"] or "{}")
    return compose.Original(
        message_id=row["t1_message_id"], subject=row["subject"], sender=row["t1_sender"],
        recipients=tuple(json.loads(row["t1_recipients"])), references=tuple(row["t1_references"].split()),
        sent_at=from_iso(row["t1_sent_at"]), text=row["t1_text"], raw=row["t1_raw"],
        items=tuple((item.label, found[item.key]) for item in items.ITEMS if item.key in found))


def people(original: compose.Original, config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(To, Cc) of a notice: the T1's sender and internal recipients; the watched mailbox in Cc."""
    internal = config.escalation.internal_domains
    to = tuple(dict.fromkeys(a for a in (original.sender,) + original.recipients
                             if a and in_domains(a, internal) and a != config.imap.address))
    return to, (config.imap.address,)


def enqueue(store: Store, config: Config, incident_id: int, kind: str, subject: str, body: str,
            now: datetime, reason: str) -> int | None:
    """The notice's outbox row, once per (incident, kind); None when it was decided before."""
    if any(r["kind"] == kind for r in store.notice_rows(incident_id)):
        return None
    original = original_of(store.incident_row(incident_id))
    to, cc = people(original, config)
    if not to:
        store.event(now, "notice_skipped", f"notice '{kind}': no internal recipient to tell", incident_id, reason)
        return None
    message_id = compose.new_message_id(config.smtp.from_address)
    msg = compose.notice(original, subject, body, to=to, cc=cc, from_address=config.smtp.from_address,
                         message_id=message_id, now=now)
    with store.transaction():
        row_id = store.add_notice(dict(incident_id=incident_id, kind=kind, message_id=message_id,
                                       status=str(Status.PENDING), decided_at=iso(now),
                                       recipients=json.dumps([*to, *cc]), raw=msg.as_bytes()))
        store.event(now, "notice_decided", f"notice '{kind}' to {', '.join(to)}", incident_id, reason)
    log.info("notice decided incident=%s kind=%s message_id=%s", incident_id, kind, message_id)
    return row_id


# -- what each notice says ----------------------------------------------------------------------
def missing_items(missing: list[items.Item], t1_address: str) -> tuple[str, str]:
    lines = [f"  - {item.label} (for example: {item.example})" for item in missing]
    return ("T1 lacks required items", "Your T1 to the urgent-support line lacks items the vendor's procedure "
            "requires:\n\n" + "\n".join(lines) + "\n\nThe agent escalates on time all the same. Please send "
            f"them in this thread (reply to all on your T1, to {t1_address}) so that the vendor can act.")


def misrouted(problem: str, marketplace: str | None, team: str | None, teams: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    if team:
        where = f"the operations team for {marketplace}: {team}"
    else:
        listing = {}
        for market, address in teams:
            listing.setdefault(address, []).append(market)
        where = ("your local operations team (the marketplace could not be told from your mail):\n\n" +
                 "\n".join(f"  {'/'.join(m):<10} {a}" for a, m in listing.items()))
    return ("not for the urgent line", f"Your mail to the urgent-support line is about the error \"{problem}\". "
            "The vendor's procedure says these errors are not technical and the urgent line cannot help "
            f"with them: please contact your account manager or {where}\n\nThe agent will not escalate "
            f"this mail. Planned outages and other non-urgent questions go to {routing.non_urgent_address}.")


def t1_bounced(failed: tuple[str, ...], diagnostic: str) -> tuple[str, str]:
    who = ", ".join(failed) or "the urgent-support address"
    return ("T1 NOT delivered", f"Your T1 did not reach {who}: the mail server answered\n\n  {diagnostic}\n\n"
            "The vendor's support team has NOT been paged by it. Check the address and send it again, or "
            "call the vendor. The agent still escalates on schedule.")


def escalation_bounced(label: str, address: str, diagnostic: str) -> tuple[str, str]:
    return (f"{label} escalation NOT delivered", f"The agent's {label} escalation to {address} bounced: the mail "
            f"server answered\n\n  {diagnostic}\n\nPlease escalate by hand (mail or call the vendor).")


def exhausted(steps: list[str], silence: str) -> tuple[str, str]:
    return ("every tier tried, no response", "Every tier of the vendor's escalation ladder has been tried and "
            f"nobody has answered in {silence} since the T3:\n\n" + "\n".join(f"  {s}" for s in steps) +
            "\n\nThe incident stays open: a late response is still recorded. Consider calling your account "
            "manager.")
