"""Which mail the agent sent, machine-readable, in a header of its own: what it is (`t2`, `t3`, `notice-<kind>`, ...),
which incident (its T1's Message-ID) and which member sent it. The mailbox then holds the record of every send, so a
standby (or a host that lost its database) knows what was sent. A minimal version: issue 22.1 owns this module."""

import re
from dataclasses import dataclass

HEADER = "X-Escalation-Agent-Provenance"

_FIELD = re.compile(r"\s*([a-z0-9_-]+)\s*=\s*([^;]*?)\s*(?:;|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Provenance:
    kind: str
    incident: str  # the T1's Message-ID, with its angle brackets
    member: str


def stamp(kind: str, t1_message_id: str, member: str) -> str:
    """The header's value; `kind=...; incident=...` comes first, so that an IMAP HEADER search can look for it."""
    return f"kind={kind}; incident={t1_message_id}; member={member}"


def read(value: str) -> Provenance | None:
    """The header's value read back; None when it is not one of ours."""
    fields = {k.lower(): v for k, v in _FIELD.findall(" ".join(value.split()))}
    if not fields.get("kind") or not fields.get("incident"):
        return None
    return Provenance(fields["kind"], fields["incident"], fields.get("member", ""))
