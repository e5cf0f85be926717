"""The drill's pure parts: its T1, written as an engineer writes one (every SOP item, the watched mailbox in Cc,
nothing marking it automatic), and how each step of a drill is printed. Pure."""

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from agent.core.settings import DrillConfig
from agent.core.writing.compose import POLICY
from agent.core.writing.mime import subject_field, write
from agent.core.writing.page import Page, Para, Table

HEADER = "X-Escalation-Agent-Drill"


INTRO = "This is a DRILL of the escalation path (escalation-agent drill): nothing is failing, no action is needed."


def t1_items(sender: str, now: datetime) -> tuple[tuple[str, str], ...]:
    """Every item the procedure requires, so that the drill's T1 needs no missing-items notice."""
    at = now.strftime("%H:%M:%S GMT")
    return (
        ("Contact phone number", "+1-555-0100"),
        ("Contact email", sender),
        ("Contact name", "Escalation Drill"),
        ("Brief problem description", f"DRILL. Beginning at {at} every request fails with an F500 error (synthetic)."),
        ("Partner ID", "DRILL"),
        ("Example request ID", f"DRILL{now.strftime('%Y%m%d%H%M%S')}"),
        ("Example API error response", "'F500' GeneralError (synthetic)"),
        ("Marketplace", "US"),
        ("Timestamp of example request", at),
        ("First failing request", at),
        ("Is the behavior consistent?", "Yes, every request of this drill fails."),
        ("Recent changes", "none; this is a drill."),
    )


def t1(drill: DrillConfig, watched: str, message_id: str, now: datetime) -> EmailMessage:
    """The drill's T1: from [drill] from_address to [drill] t1_address, the watched mailbox in Cc. Nothing marks it
    automatic (an automatic mail opens no incident); the header below only tells a reader what it is."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr(("Escalation drill", drill.from_address))
    msg["To"] = drill.t1_address
    msg["Cc"] = watched
    msg.set_raw("Subject", subject_field(f"[DRILL] escalation-agent drill {now.strftime('%Y-%m-%d %H:%M:%S')} GMT"))
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg[HEADER] = "yes"
    items: tuple[tuple[str, str | None], ...] = t1_items(drill.from_address, now)
    return write(msg, Page("Escalation drill", (Para(INTRO), Table(items))))


@dataclass(frozen=True)
class Step:
    """One step of a drill: whether it passed, when (seconds since the drill began), and what was seen."""

    name: str
    ok: bool
    at: float
    detail: str


def line(step: Step) -> str:
    return f"[{' ok ' if step.ok else 'FAIL'}] {step.name:<18} +{step.at:7.1f}s  {step.detail}"


def late(at: datetime, due: datetime) -> str:
    """`1.2s after its deadline`, for a step that has a deadline."""
    seconds = (at - due).total_seconds()
    return f"{seconds:.1f}s after its deadline" if seconds >= 0 else f"{-seconds:.1f}s BEFORE its deadline"
