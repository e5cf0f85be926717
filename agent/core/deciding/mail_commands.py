"""Mail commands: engineers steer an incident from its thread. Pure: a mail's text in, a command out.

The command is the first non-empty line of the sender's own new text: above any quoted part (quotequail
finds "On ... wrote:" and "-----Original Message-----" blocks as Outlook, Gmail and Apple Mail write them;
`>` lines count as quoted too) and above the signature. A phone's "Sent from my iPhone" comes after it.
"""

import enum
import re
from dataclasses import dataclass
from datetime import timedelta

import quotequail

from agent.core.times import parse_duration

MAX_HOLD = timedelta(hours=24)
_COMMAND = re.compile(r"^#([A-Za-z]+)\b\s*(.*)$")
_SIGNATURE = re.compile(r"^(--|__+|-- )\s*$")


class Verb(enum.StrEnum):
    STOP = "stop"  # the incident is resolved: no tier is sent after it
    HOLD = "hold"  # the next escalation waits
    ESCALATE = "escalate"  # the next tier goes now
    RESUME = "resume"  # a closed incident is open again; its next window runs from now
    STATUS = "status"  # tell me where it stands


_VERBS = {
    "stop": Verb.STOP,
    "resolved": Verb.STOP,
    "resolve": Verb.STOP,
    "hold": Verb.HOLD,
    "escalate": Verb.ESCALATE,
    "resume": Verb.RESUME,
    "status": Verb.STATUS,
}


@dataclass(frozen=True)
class Command:
    verb: Verb
    note: str = ""
    hold_for: timedelta | None = None  # for HOLD


@dataclass(frozen=True)
class Malformed:
    """A line that reads as a command but is none (an unknown word, a hold without a duration): it changes
    nothing, and its sender is told why in one line."""

    line: str
    why: str


def new_text_lines(text: str) -> list[str]:
    """The sender's own lines: no quoted block, no `>` line, nothing from the signature on."""
    try:
        parts = quotequail.quote(text or "")
    except Exception:  # a parser's trouble must not cost the command: fall back to the `>` rule alone
        parts = [(True, text or "")]
    lines = []
    for line in "\n".join(part for shown, part in parts if shown).splitlines():
        if _SIGNATURE.match(line):
            break
        if line.strip() and not line.lstrip().startswith(">"):
            lines.append(line.strip())
    return lines


def read_command(text: str) -> Command | Malformed | None:
    """The command a mail's text carries, None when its first line of new text is no command at all."""
    lines = new_text_lines(text)
    if not lines:
        return None
    found = _COMMAND.match(lines[0])
    if found is None:
        return None
    word, rest = found.group(1).lower(), " ".join(found.group(2).split())
    verb = _VERBS.get(word)
    if verb is None:
        return Malformed(
            lines[0][:200],
            f"#{word} is not a command (the commands: #stop, #hold DURATION, #escalate, #resume, #status)",
        )
    if verb != Verb.HOLD:
        return Command(verb, rest[:500])
    duration_text, _, note = rest.partition(" ")
    hold_for, problem = hold_duration(duration_text)
    if hold_for is None:
        return Malformed(
            lines[0][:200], f"#hold needs a duration first: {problem}; e.g. #hold 30m or #hold 2h, at most 24h"
        )
    return Command(verb, note[:500], hold_for)


def hold_duration(text: str) -> tuple[timedelta | None, str]:
    """How long a hold lasts, or None and what is wrong (the mail command and the CLI each add their syntax)."""
    hold_for = parse_duration(text) if text else None
    if not text:
        return None, "none was given"
    if hold_for is None or hold_for <= timedelta(0):
        return None, f"{text[:40]!r} is not a duration"
    if hold_for > MAX_HOLD:
        return None, f"{text[:40]} is longer than 24h"
    return hold_for, ""
