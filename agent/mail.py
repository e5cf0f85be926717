"""Raw bytes -> `Mail`, the record every later stage works on. Pure: no I/O, never raises on bad mail."""

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import mailparser

_MSGID = re.compile(r"<[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|tr|sv|antw|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)
_AUTO_PRECEDENCE = ("auto_reply", "bulk", "junk", "list")
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


@dataclass(frozen=True)
class Mail:
    message_id: str
    subject: str
    sender: str  # the From address, lower case; "" when there is none
    sender_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None  # aware UTC; None when missing or unparseable
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    thread_index: str | None  # Outlook's conversation key: the first 22 bytes of Thread-Index
    automatic: str | None  # why this mail was sent by a machine, or None for a person's mail
    text: str  # the readable body, for quoting
    html: str  # the HTML body as sent, "" when there is none: SOP items often come as an HTML table
    size: int
    defects: tuple[str, ...]

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + tuple(a for a in self.cc if a not in self.to)

    @property
    def participants(self) -> frozenset[str]:
        return frozenset((self.sender,) + self.recipients) - {""}

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The Message-IDs this mail says it follows: In-Reply-To first, then References newest first."""
        seen = dict.fromkeys(self.in_reply_to + tuple(reversed(self.references)))
        return tuple(seen)


def clean(text: str | None) -> str:
    """Drop control characters (CR, LF, NUL...): untrusted text may end up in a header we write."""
    return _CONTROL.sub(" ", text or "").strip()


def normalise_subject(subject: str) -> str:
    """`RE: Fwd: AW: API down` -> `api down`: the thread key of last resort."""
    return " ".join(_SUBJECT_PREFIX.sub("", subject or "").split()).lower()


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def in_domains(address: str, domains: tuple[str, ...]) -> bool:
    """True when the address's domain is one of `domains` or a subdomain of one."""
    d = domain_of(address)
    return any(d == x or d.endswith("." + x) for x in domains)


def message_ids(text: str | None) -> tuple[str, ...]:
    return tuple(_MSGID.findall(text or ""))


def synthetic_message_id(raw: bytes) -> str:
    """A stable id for a mail that has none, so it is still seen once."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@no-message-id.invalid>"


def parse(raw: bytes, *, headers_only: bool = False) -> Mail:
    """Parse a mail; `headers_only` for mails over the size cap (their body is not read)."""
    if headers_only:
        raw = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\r\n\r\n"
    parsed = mailparser.parse_from_bytes(raw)
    msg = parsed.message

    def header(name: str) -> str:
        try:
            return str(msg.get(name, "") or "")
        except Exception:  # a header the email package cannot decode is as good as absent
            return ""

    ids = message_ids(header("Message-ID"))
    sender_name, sender = _first_address(parsed.from_)
    return Mail(
        message_id=ids[0] if ids else synthetic_message_id(raw),
        subject=clean(parsed.subject),
        sender=sender,
        sender_name=clean(sender_name),
        to=_addresses(parsed.to),
        cc=_addresses(parsed.cc),
        date=_aware(parsed.date),
        in_reply_to=message_ids(header("In-Reply-To")),
        references=message_ids(header("References")),
        thread_index=_thread_index(header("Thread-Index")),
        automatic=_automatic(header, sender),
        text="" if headers_only else _text(parsed),
        html="" if headers_only else "\n".join(parsed.text_html or []),
        size=len(raw),
        defects=tuple(str(d) for d in parsed.defects)[:20],
    )


def _first_address(pairs) -> tuple[str, str]:
    for name, address in pairs or ():
        if "@" in (address or ""):
            return name or "", clean(address).lower()
    return "", ""


def _addresses(pairs) -> tuple[str, ...]:
    out = dict.fromkeys(clean(a).lower() for _, a in (pairs or ()) if a and "@" in a)
    return tuple(out)


def _aware(value) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _thread_index(value: str) -> str | None:
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True)
    except (ValueError, TypeError):
        return None
    # 22 bytes: a reserved byte, 5 bytes of time and a 16-byte GUID shared by the whole conversation.
    return base64.b64encode(decoded[:22]).decode() if len(decoded) >= 22 else None


def _automatic(header, sender: str) -> str | None:
    auto_submitted = header("Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted.split(';')[0]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated"):
        if header(name):
            return f"{name} header"
    precedence = header("Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if "multipart/report" in header("Content-Type").lower():
        return "delivery report (multipart/report)"
    if sender.partition("@")[0] in _BOUNCE_SENDERS:
        return f"delivery report (from {sender})"
    return None


def _text(parsed) -> str:
    plain = "\n".join(t for t in (parsed.text_plain or []) if t)
    if plain.strip():
        return plain
    markup = "\n".join(parsed.text_html or [])
    text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", markup)))
    return "\n".join(line.rstrip() for line in text.splitlines())
