"""An incident's history as its engineers read it (the answer to #status): what people and the vendor did and
what reached the vendor, in short sentences. The audit log also records the agent's own machinery (a decision
re-made, an outbox row, a CC copy back); an engineer asked where the incident stands, not how the agent works."""

import re
import textwrap
from collections.abc import Iterable
from datetime import datetime

from agent.core.times import gmt

_SENDER = re.compile(r" from (\S+?)[,;: ]")
_TIER = ("T2", "T3")


def said(kind: str, detail: str) -> str | None:
    """One audit event in words for people, or None for the agent's machinery."""
    sender = _SENDER.search(detail + " ")
    who = sender.group(1) if sender else None
    if kind == "incident_opened":
        return "T1 seen" + (f" from {who}" if who else "")
    if kind == "sent" and detail[:2] in _TIER:
        return f"{detail[:2]} sent to the vendor"
    if kind == "dry_run" and detail[:2] in _TIER:
        return f"{detail[:2]} composed, not sent (dry run)"
    if kind == "escalation_manual":
        return "an escalation sent by hand" + (f" by {who}" if who else "")
    if kind == "escalation_bounced":
        return "an escalation bounced: " + detail
    if kind == "send_rejected":
        return "an escalation was rejected by the mail server: " + detail
    if kind == "responded":
        return "the vendor answered" + (f" ({who})" if who else "")
    if kind == "command":
        return detail
    if kind == "command_refused":
        return f"{detail.split(':')[0]}: not applied"
    if kind == "resolved":
        return f"resolved by hand ({detail.split(': ', 1)[-1]})"
    if kind == "notice_decided" and "'exhausted'" in detail:
        return "every tier tried, no response"
    return None


def recent(events: Iterable[tuple[datetime, str, str]], count: int = 5, width: int = 160) -> tuple[str, ...]:
    """The last `count` of (at, kind, detail) that people care about, each a line cut at a word, never inside one."""
    lines = []
    for at, kind, detail in events:
        text = said(kind, " ".join((detail or "").split()))
        if text:
            lines.append(textwrap.shorten(f"{gmt(at)}: {text}", width, placeholder=" …"))
    return tuple(lines[-count:])
