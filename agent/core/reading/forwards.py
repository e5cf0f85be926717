"""A vendor answer that an engineer forwards to the watched mailbox: the vendor answered the engineer alone (or
by phone, then in writing), and the forward is how the agent learns of it. Pure.

Two shapes: the answer attached (message/rfc822, Outlook's "forward as attachment"), or inline under the
quoted header block clients write ("---------- Forwarded message ---------", "Begin forwarded message:",
Outlook's "From: ... Sent: ..."). An inline one counts only under a forward's subject (Fwd:, FW:, WG:, TR:,
RV:, ...): a reply that quotes the vendor's automatic acknowledgement in Outlook's style looks just like a
forward otherwise, and must not stop the ladder.
"""

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime

import quotequail

from agent.core.reading.mail import Mail, Reading, parse

_FORWARD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)*(fwd?|fw|wg|tr|rv|enc|vl|doorst|転送|转发)\s*[:：]", re.IGNORECASE
)


@dataclass(frozen=True)
class Forwarded:
    """The forwarded mail, as far as a forward shows it."""

    sender: str
    subject: str
    thread_ids: tuple[str, ...]  # its In-Reply-To and References, when it came attached
    automatic: str | None  # why it was a machine's, when it shows that
    date: datetime | None = None
    inline: bool = False  # quoted in the forward's text, not attached: its headers are only what the text shows
    text: str = ""  # its words: a forwarded case-system receipt is no answer either (agent.core.reading.receipts)


def forwarded(raw: bytes | Reading, mail: Mail) -> Forwarded | None:
    """The mail `mail` forwards (attached first, else inline under a forward's subject), or None. `raw`: the mail's
    bytes, or the `Reading` of them (ingest's: cut to the limits once)."""
    reading = raw if isinstance(raw, Reading) else Reading(raw)
    return _attached(reading) or (_inline(mail.text) if _FORWARD_SUBJECT.match(mail.subject or "") else None)


def _attached(reading: Reading) -> Forwarded | None:
    try:
        msg = email.message_from_bytes(reading.bounded(), policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_content_type() != "message/rfc822":
                continue
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], email.message.Message):
                inner = parse(payload[0].as_bytes())
                return Forwarded(
                    inner.sender, inner.subject, inner.thread_ids, inner.automatic, inner.date, text=inner.text
                )
    except Exception:  # a forward the email package cannot read is no forward
        return None
    return None


def _inline(text: str) -> Forwarded | None:
    try:
        found = quotequail.unwrap(text or "")
    except Exception:
        return None
    if not found or found.get("type") != "forward" or not found.get("from"):
        return None
    head = f"From: {found['from']}\r\nSubject: {found.get('subject', '')}\r\n\r\n"
    inner = parse(head.encode("utf-8", "replace"), headers_only=True)
    return Forwarded(inner.sender, inner.subject, (), inner.automatic, inline=True, text=str(found.get("text") or ""))
