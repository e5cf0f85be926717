"""What each notice says: mails to the partner's own people about their incident, never to the vendor.
Each function returns (subject, body); `compose.notice` makes the mail of them, in both parts. Pure.

A body is short paragraphs separated by a blank line; a block of "- " lines is a list, of "> " lines the
server's words quoted, of "label<TAB>value" lines a table (`page.blocks` reads them so). Text that comes from
outside (a server's answer, an address in a bounce) goes in through `one_line`, so it cannot start a block."""

from collections.abc import Sequence
from datetime import UTC, datetime

from agent.core.procedure import routing
from agent.core.procedure.items import Item
from agent.core.procedure.policy import Status
from agent.core.reading.text import one_line
from agent.core.sop import Tier
from agent.core.times import gmt, span
from agent.core.writing.compose import Step

Text = tuple[str, str]


def _body(*blocks: str) -> str:
    return "\n\n".join(blocks)


def missing_items(missing: Sequence[Item], t1_address: str) -> Text:
    return (
        "T1 lacks required items",
        _body(
            "Your T1 to the urgent-support line lacks items the vendor's procedure requires:",
            "\n".join(f"- {item.label} (for example: {one_line(item.example)})" for item in missing),
            "The agent escalates on time all the same.",
            f"Please send them in this thread (reply to all on your T1, to {one_line(t1_address)}) so that the "
            "vendor can act.",
        ),
    )


def misrouted(problem: str, marketplace: str | None, team: str | None, teams: tuple[tuple[str, str], ...]) -> Text:
    said = (
        f'Your mail to the urgent-support line is about the error "{one_line(problem)}". The vendor\'s procedure '
        "says these errors are not technical and the urgent line cannot help with them."
    )
    if team:
        market = one_line(marketplace or "")
        where = [f"Please contact your account manager or the operations team for {market}: {one_line(team)}"]
    else:
        listing: dict[str, list[str]] = {}
        for market, address in teams:
            listing.setdefault(one_line(address), []).append(one_line(market))
        where = [
            "Please contact your account manager or your local operations team (the marketplace could not be told "
            "from your mail):",
            "\n".join(f"{'/'.join(m)}\t{a}" for a, m in listing.items()),
        ]
    return (
        "not for the urgent line",
        _body(
            said,
            *where,
            "The agent will not escalate this mail.",
            f"Planned outages and other non-urgent questions go to {routing.non_urgent_address}.",
        ),
    )


def t1_bounced(failed: tuple[str, ...], diagnostic: str) -> Text:
    who = ", ".join(one_line(a) for a in failed) or "the urgent-support address"
    return (
        "T1 NOT delivered",
        _body(
            f"Your T1 did not reach {who}. The mail server answered:",
            f"> {one_line(diagnostic)}",
            "The vendor's support team has NOT been paged by it. Check the address and send it again, or call the "
            "vendor.",
            "The agent still escalates on schedule.",
        ),
    )


def escalation_bounced(tier: Tier, address: str, diagnostic: str) -> Text:
    return (
        f"{tier.label} escalation NOT delivered",
        _body(
            f"The agent's {tier.label} escalation to {one_line(address)} bounced. The mail server answered:",
            f"> {one_line(diagnostic)}",
            "Please escalate by hand (mail or call the vendor).",
        ),
    )


def rejected(tier: Tier, address: str, error: str) -> Text:
    return (
        f"{tier.label} escalation rejected",
        _body(
            f"The agent's {tier.label} escalation for this incident was rejected by the mail server and will not be "
            "retried. The server answered:",
            f"> {one_line(error)}",
            f"Please escalate by hand: write to {one_line(address)} in this thread.",
        ),
    )


_HOW: dict[Status | None, str] = {Status.MANUAL: " (by hand)", Status.DRY_RUN: " (dry run: not sent)"}


def exhausted(steps: Sequence[Step], silence: str) -> Text:
    return (
        "every tier tried, no response",
        _body(
            "Every tier of the vendor's escalation ladder has been tried and "
            f"nobody has answered in {silence} since the T3:",
            "\n".join(
                f"- {s.tier.label} sent {gmt(s.sent_at)} to {one_line(s.address)}{_HOW.get(s.status, '')}"
                for s in steps
            ),
            "The incident stays open: a late response is still recorded.",
            "Consider calling your account manager.",
        ),
    )


COMMANDS_HELP = "\n".join(
    [
        "- #stop [note] (or #resolved): the incident is resolved, no tier is sent after it",
        "- #hold 30m [note] (up to 24h): the next escalation waits until then",
        "- #escalate [note]: the next tier goes now",
        "- #resume [note]: a resolved or responded incident is open again",
        "- #status: where it stands",
    ]
)


def watching(t2_due: datetime, local: str | None) -> Text:
    """The one notice an incident's people get when it opens: the agent saw the T1, and how to steer it."""
    when = gmt(t2_due) + (f" ({one_line(local)} your time)" if local else "")
    return (
        "watching your T1",
        _body(
            "The escalation agent saw your T1 and is watching its thread for the vendor's answer.",
            f"If the vendor has not answered by {when}, the agent sends the T2 to the vendor's management, "
            "then the T3 after its own window.",
            "When the vendor answers by phone or only to you, steer it from your mail client: reply in this "
            "thread with one of these as the first line of your mail:",
            COMMANDS_HELP,
            "A vendor's answer forwarded to the watched mailbox counts as the response.",
        ),
    )


def api_recovered(since: datetime, passes: int, hold: bool) -> Text:
    """The API check passes again while the incident is open: one mail in the thread per recovery."""
    then = (
        "While it keeps answering, the next tier waits (hold_on_recovery); if it fails again, the ladder goes on."
        if hold
        else "The ladder goes on as before: the next tier is sent on time unless the incident is stopped."
    )
    return (
        "the API answers again",
        _body(
            f"The API answers again since {gmt(since)}: the agent's API check passed {passes} times in a row.",
            "If the incident is over, reply #stop in this thread (with a note if you like).",
            then,
        ),
    )


def joined(incident_id: int, first_t1: str, t2_due: datetime | None, why: str) -> Text:
    """The one notice a second T1's sender gets when it joined an open incident about the same outage (issue 21.4)."""
    when = f"T2 due at {t2_due.astimezone(UTC):%H:%M} GMT" if t2_due is not None else "T2 already sent"
    return (
        f"joined incident {incident_id}; {when}",
        _body(
            f"Your T1 reports the outage that incident {incident_id} is already escalating "
            f"({one_line(why)}), so it joined that incident instead of starting a second ladder.",
            f"The first T1 is {one_line(first_t1)}. "
            + (
                f"If the vendor has not answered either mail by {gmt(t2_due)}, the agent sends the T2, naming both "
                "mails, with you in Cc."
                if t2_due is not None
                else "Later escalations name both mails, with you in Cc."
            ),
            "A vendor answer in either thread counts as the response, and the mail commands work in either thread. "
            "If this is another outage, write a new T1 that says what differs (partner id, marketplace or error).",
        ),
    )


def command_reply(title: str, body: str) -> Text:
    """The answer to an engineer's command: what was done and what happens next, in one or two sentences."""
    blocks = []
    for block in body.split("\n\n")[:3]:  # paragraphs, and "- " lists (the last events, for #status)
        lines = [one_line(line)[:200] for line in block.splitlines() if line.strip()]
        words = [line for line in lines if not line.startswith("- ")]
        items = [line for line in lines if line.startswith("- ")]
        blocks += [b for b in (" ".join(words), "\n".join(items)) if b]
    return (title, _body(*blocks, "The commands:", COMMANDS_HELP))


def untied(line: str) -> Text:
    """The one line for a command mail not tied to the incident's thread (agent.core.deciding.ties): it names nothing
    of the
    incident, for its sender may be anyone who wrote the claimed address into a From."""
    said = one_line(line)[:80]
    return (f"{said} not applied", f"{said} not applied: reply to the T1 or to one of the agent's mails.")


# -- alarms: mails about the agent itself, to [agent] ops_address ------------------------------------------------
Waiting = tuple[int, str, str, datetime | None]  # an open incident: id, subject, what is due next, when


def _waiting(incidents: Sequence[Waiting]) -> list[str]:
    if not incidents:
        return ["No incident is open."]
    return [
        "Open incidents and their next deadlines:",
        "\n".join(
            f'- Incident {i} ("{one_line(subject)[:80] or "(no subject)"}"): '
            + (f"{one_line(what)} due {gmt(due)}" if due else "no deadline")
            for i, subject, what, due in incidents
        ),
    ]


def blind(watched: str, since: datetime, now: datetime, reason: str, incidents: Sequence[Waiting], grace: str) -> Text:
    """The mailbox has been unreadable for blind_alert_after: since when, why, what is open, and what that means."""
    return (
        "cannot read the watched mailbox",
        _body(
            f"The escalation agent has not been able to read the watched mailbox {one_line(watched)} since "
            f"{gmt(since)} ({span(now - since)} ago).",
            "Why (the last answer it got):",
            f"> {one_line(reason) or 'unknown'}",
            "While it cannot read the mailbox it cannot see replies: a vendor's answer, an engineer's command or a "
            f"new T1 goes unseen until it can. Escalations still go out, {grace} after their deadline, each saying "
            "that replies could not be checked.",
            *_waiting(incidents),
            "Check the IMAP server, the mailbox's login (password or OAuth2 token command) and the watched folders; "
            "the agent's log (journalctl -u escalation-agent) has the details. One more mail follows when the agent "
            "can read the mailbox again.",
        ),
    )


def sight(watched: str, since: datetime, back: datetime, incidents: Sequence[Waiting]) -> Text:
    """The mailbox can be read again after a blind alarm: the outage is over."""
    return (
        "can read the watched mailbox again",
        _body(
            f"The escalation agent can read the watched mailbox {one_line(watched)} again since {gmt(back)}. It could "
            f"not from {gmt(since)}, for {span(back - since)}.",
            "It has read the mail that arrived meanwhile: replies sent in that time count again.",
            *_waiting(incidents),
            "No further mail about this outage.",
        ),
    )


# -- [ha]: the coordination service ----------------------------------------------------------------------------------
def coordination_lost(member: str, service: str, since: datetime, now: datetime, reason: str, lease: str) -> Text:
    """This member cannot reach the coordination service that holds the lease: no member may send meanwhile."""
    return (
        f"{one_line(member)} cannot reach the coordination service",
        _body(
            f"Member {one_line(member)} of the escalation agent has not been able to reach the coordination service "
            f"{one_line(service)} since {gmt(since)} ({span(now - since)} ago).",
            "Why (the last answer it got):",
            f"> {one_line(reason) or 'unknown'}",
            "Only the member holding the lease sends; a holder that cannot renew it stops sending within its lease "
            f"({lease}), and no member takes over without the service. So no escalation goes out until the "
            "service is back: the agent then sends what fell due meanwhile, once. It keeps reading the mailbox.",
            "Please bring the coordination service back, or send due escalations by hand (the agent counts a tier "
            "sent by hand).",
        ),
    )


def coordination_back(member: str, service: str, since: datetime, back: datetime) -> Text:
    return (
        f"{one_line(member)} reaches the coordination service again",
        _body(
            f"Member {one_line(member)} reaches the coordination service {one_line(service)} again since {gmt(back)}. "
            f"It could not from {gmt(since)}, for {span(back - since)}.",
            "The member holding the lease sends again what is due. No further mail about this outage.",
        ),
    )
