"""Delivery status notifications (RFC 3464): which mail bounced, for whom, and why. Pure."""

import email
import email.message
import email.policy
import re
from dataclasses import dataclass

from agent.core.mail import bounded

_MSGID = re.compile(r"<[^<>\s]+>")
_REPORT = re.compile(rb"message/delivery-status|report-type", re.IGNORECASE)  # what a result needs


@dataclass(frozen=True)
class Bounce:
    original_message_id: str  # the Message-ID of the mail that could not be delivered
    failed: tuple[str, ...]  # the recipients it failed for (empty when the report does not say)
    diagnostic: str  # the server's words, for the notice


def parse(raw: bytes) -> Bounce | None:
    """The bounce in a delivery report, or None when this is no failure report we can tie to a mail."""
    if not _REPORT.search(raw):
        return None  # neither a delivery-status part nor a report-type: every automatic mail comes here
    try:  # the mail as cut to the parser's limits: a huge or deeply nested report costs what any mail does
        msg = email.message_from_bytes(bounded(raw)[0], policy=email.policy.compat32)
    except Exception:
        return None
    original, failed, diagnostic = None, [], []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in _status_blocks(part):
                if block.get("action", "").lower() != "failed":
                    continue
                recipient = block.get("final-recipient") or block.get("original-recipient") or ""
                failed.append(recipient.rpartition(";")[2].strip().strip("<>").lower())
                if block.get("diagnostic-code"):
                    diagnostic.append(block["diagnostic-code"].rpartition(";")[2].strip())
        elif ctype in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _message_id_of(part)
    if original is None or (not failed and not _says_failure(msg)):
        return None
    text = " ".join(" ".join(diagnostic).split())[:300] or "the receiving server refused it"
    return Bounce(original, tuple(a for a in failed if a), text)


def _status_blocks(part: email.message.Message) -> list[dict[str, str]]:
    """The per-recipient field blocks of a message/delivery-status part, names in lower case."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses each block as a header-only message (never a str)
        return [{k.lower(): " ".join(str(v).split()) for k, v in b.items()} for b in payload if not isinstance(b, str)]
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in str(payload).splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
        elif ":" in line and not line[0].isspace():
            name, _, value = line.partition(":")
            current[name.strip().lower()] = value.strip()
    return blocks + ([current] if current else [])


def _message_id_of(part: email.message.Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], email.message.Message):
        value = payload[0].get("Message-ID", "")
    else:
        head = str(payload).split("\n\n", 1)[0]
        value = email.message_from_string(head + "\n\n").get("Message-ID", "")
    found = _MSGID.findall(str(value))
    return found[0] if found else None


def _says_failure(msg: email.message.Message) -> bool:
    report = msg.get_param("report-type") or ""
    # A tuple only for an RFC 2231 parameter, and the email package decodes those only for names without a "-".
    assert isinstance(report, str)
    report = report.lower()
    subject = str(msg.get("Subject", "")).lower()
    return report == "delivery-status" and any(w in subject for w in ("fail", "undeliver", "not delivered", "returned"))
