"""What each notice says: mails to the partner's own people about their incident, never to the vendor.
Each function returns (subject, body); `compose.notice` wraps them into the mail. Pure."""

from collections.abc import Sequence

from agent.core import routing
from agent.core.compose import Step
from agent.core.items import Item
from agent.core.policy import Status
from agent.core.sop import Tier
from agent.core.times import gmt

Text = tuple[str, str]


def missing_items(missing: Sequence[Item], t1_address: str) -> Text:
    lines = [f"  - {item.label} (for example: {item.example})" for item in missing]
    return (
        "T1 lacks required items",
        "Your T1 to the urgent-support line lacks items the vendor's procedure "
        "requires:\n\n" + "\n".join(lines) + "\n\nThe agent escalates on time all the same. Please send "
        f"them in this thread (reply to all on your T1, to {t1_address}) so that the vendor can act.",
    )


def misrouted(problem: str, marketplace: str | None, team: str | None, teams: tuple[tuple[str, str], ...]) -> Text:
    if team:
        where = f"the operations team for {marketplace}: {team}"
    else:
        listing: dict[str, list[str]] = {}
        for market, address in teams:
            listing.setdefault(address, []).append(market)
        where = "your local operations team (the marketplace could not be told from your mail):\n\n" + "\n".join(
            f"  {'/'.join(m):<10} {a}" for a, m in listing.items()
        )
    return (
        "not for the urgent line",
        f'Your mail to the urgent-support line is about the error "{problem}". '
        "The vendor's procedure says these errors are not technical and the urgent line cannot help "
        f"with them: please contact your account manager or {where}\n\nThe agent will not escalate "
        f"this mail. Planned outages and other non-urgent questions go to {routing.non_urgent_address}.",
    )


def t1_bounced(failed: tuple[str, ...], diagnostic: str) -> Text:
    who = ", ".join(failed) or "the urgent-support address"
    return (
        "T1 NOT delivered",
        f"Your T1 did not reach {who}: the mail server answered\n\n  {diagnostic}\n\n"
        "The vendor's support team has NOT been paged by it. Check the address and send it again, or "
        "call the vendor. The agent still escalates on schedule.",
    )


def escalation_bounced(tier: Tier, address: str, diagnostic: str) -> Text:
    return (
        f"{tier.label} escalation NOT delivered",
        f"The agent's {tier.label} escalation to {address} bounced: "
        f"the mail server answered\n\n  {diagnostic}\n\nPlease escalate by hand (mail or call the vendor).",
    )


def rejected(tier: Tier, address: str, error: str) -> Text:
    return (
        f"{tier.label} escalation rejected",
        f"The agent's {tier.label} escalation for this incident was "
        f"rejected by the mail server and will not be retried:\n\n  {error}\n\nPlease escalate by hand: "
        f"write to {address} in this thread.",
    )


_HOW: dict[Status | None, str] = {Status.MANUAL: " (by hand)", Status.DRY_RUN: " (dry run: not sent)"}


def exhausted(steps: Sequence[Step], silence: str) -> Text:
    lines = [f"{s.tier.label} sent {gmt(s.sent_at)} to {s.address}{_HOW.get(s.status, '')}" for s in steps]
    return (
        "every tier tried, no response",
        "Every tier of the vendor's escalation ladder has been tried and "
        f"nobody has answered in {silence} since the T3:\n\n"
        + "\n".join(f"  {s}" for s in lines)
        + "\n\nThe incident stays open: a late response is still recorded. Consider calling your account "
        "manager.",
    )
