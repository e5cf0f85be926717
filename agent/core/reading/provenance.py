"""The provenance every mail of the agent carries, so that the mailbox itself says what was sent. Pure.

    X-Escalation-Agent-Provenance: kind=t2; incident=<the T1's Message-ID>; member=host-a

`kind` is `t2` or `t3` (an escalation), `notice-<kind>` (a notice to our people: `notice-watching`,
`notice-exhausted`...), `answer-<verb>` (the answer to an engineer's command, with `command=<its Message-ID>`), or
`alarm-<kind>` (a mail about the agent itself, which names no incident). `member` is who sent it: the host name, or
[ha] member. An agent whose database does not know such a mail (an older or lost database, another member's send)
counts it as sent (agent.core.deciding.adoption), once the mail is shown to be its own: a header alone proves
nothing, anyone can write one (docs/rebuild.md).
"""

import re
from dataclasses import dataclass

from agent.core.sop import Tier

HEADER = "X-Escalation-Agent-Provenance"
MAX_VALUE = 1000  # characters of a header value read: a longer one is no stamp of ours
MAX_KEY = 300  # characters of a notice's outbox kind kept in its stamp
_NAME = re.compile(r"[^A-Za-z0-9._-]")
_KIND = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
_MEMBER = re.compile(r"[A-Za-z0-9._-]{1,64}")
_MSGID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,248}>")
_FIELD = re.compile(r"([a-z]+)=(<[^<>]*>|[^;\s]*)")
TIER_KINDS = {"t2": Tier.T2, "t3": Tier.T3}


@dataclass(frozen=True)
class Provenance:
    kind: str
    incident: str | None  # the T1's Message-ID; None for an alarm
    member: str  # "" when the stamp named none
    command: str | None = None  # an answer's command mail (its Message-ID)
    key: str | None = (
        None  # a notice's kind exactly as the outbox keeps it (`joined <Message-ID>`, `api_recovered ...`)
    )

    @property
    def tier(self) -> Tier | None:
        """The tier an escalation's stamp names; None for any other mail."""
        return TIER_KINDS.get(self.kind)

    @property
    def notice(self) -> str | None:
        """The notice's kind as the outbox keeps it (one of each per incident); None for a tier or an alarm."""
        if self.kind.startswith("notice-"):
            return self.key or self.kind.removeprefix("notice-")
        if self.kind.startswith("answer-") and self.command is not None:
            return f"reply {self.command}"  # core.effects.command: one answer per command mail
        return None


def member_name(name: str) -> str:
    """A member's name as a stamp carries it: letters, digits, `.`, `_`, `-`, at most 64 characters."""
    return _NAME.sub("_", name.strip())[:64] or "unknown"


def kind_name(name: str) -> str:
    return _NAME.sub("_", name.strip().lower())[:80] or "unknown"


def of_notice(kind: str, verb: str | None = None) -> tuple[str, str | None]:
    """(the stamp's kind, the command's Message-ID) of a notice of this outbox kind; `verb`: the command it answers.
    A kind that names its mail (`joined <Message-ID>`, `untied <address>`, `api_recovered <time>`) is stamped by its
    first word, the whole of it in `key`."""
    if kind.startswith("reply "):
        return f"answer-{kind_name(verb or 'command')}", kind.removeprefix("reply ").strip()
    return f"notice-{kind_name(kind.split(' ', 1)[0])}", None


def stamp(kind: str, t1_message_id: str | None, member: str, command: str | None = None, key: str | None = None) -> str:
    """The header's value, on one line. `key`: a notice's outbox kind, percent-encoded, when it is not the stamp's
    kind alone (one of each kind per incident: adoption and the fence find the row by it)."""
    fields = [f"kind={kind_name(kind)}"]
    if t1_message_id and _MSGID.fullmatch(t1_message_id):
        fields.append(f"incident={t1_message_id}")
    fields.append(f"member={member_name(member)}")
    if command and _MSGID.fullmatch(command):
        fields.append(f"command={command}")
    if key and kind_name(kind).startswith("notice-") and f"notice-{kind_name(key)}" != kind_name(kind):
        fields.append(f"key={_quoted(key[:MAX_KEY])}")
    return "; ".join(fields)


_PLAIN = re.compile(r"[A-Za-z0-9._@+-]")
_ESCAPE = re.compile(r"%([0-9A-F]{2})")


def _quoted(text: str) -> str:
    """Percent-encoded UTF-8: no blank, `;`, `=` or angle bracket is left to end a field or look like a Message-ID."""
    return "".join(c if _PLAIN.fullmatch(c) else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def _unquoted(text: str) -> str:
    try:
        return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text).encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return ""


def folded(value: str) -> str:
    """The value as it is written into a mail (`set_raw`): folded after each field, never inside a Message-ID, so
    that no mail system re-folds a long one (an Exchange Message-ID is ~85 characters) into an encoded word."""
    return ";\n ".join(value.split("; "))


def read(value: str | None) -> Provenance | None:
    """The stamp in a header value as any mail system delivered it (folded, re-spaced); None when it is none of
    ours: no value, too long, no readable kind. The first of each field counts; unknown fields are ignored."""
    if not value or len(value) > MAX_VALUE:
        return None
    text = " ".join(value.split())  # unfolded
    fields: dict[str, str] = {}
    for name, found in _FIELD.findall(text):
        fields.setdefault(name, found)
    kind = fields.get("kind", "")
    if not _KIND.fullmatch(kind):
        return None
    incident = fields.get("incident")
    command = fields.get("command")
    member = fields.get("member", "")
    key = _unquoted(fields.get("key", "")) if kind.startswith("notice-") else ""
    return Provenance(
        kind,
        incident if incident and _MSGID.fullmatch(incident) else None,
        member if _MEMBER.fullmatch(member) else "",
        command if command and _MSGID.fullmatch(command) else None,
        key
        if key and key.split(" ", 1)[0] and kind_name(key.split(" ", 1)[0]) == kind.removeprefix("notice-")
        else None,
    )


def ours_by_shape(message_id: str, from_address: str) -> bool:
    """Is this a Message-ID as the agent makes them (compose.new_message_id: `<time.pid.random.escalation@domain>`,
    the domain of its From address)? A shape anyone can copy: it is one check among several, never proof alone."""
    domain = re.escape(from_address.rpartition("@")[2].lower())
    return re.fullmatch(rf"<\d+\.\d+\.\d+\.escalation@{domain}>", message_id.lower()) is not None
