"""Delivery failure reports: which mail bounced, for whom, and why. Pure; never raises.

Two readings, one record. An RFC 3464 report (a message/delivery-status part) says everything in its own fields.
Every other format real MTAs send (an Exchange NDR as its IMAP service renders it, qmail's QSBMF, Exim's plain
text, old Gmail, Yahoo-style) is told apart here by who sent it and by its subject, and its failed recipients are
read by flufl.bounce. flufl.bounce names addresses; it is no yes/no classifier, so it never decides alone.
Measured on the formats in tests/corpus/field: it reads an Exim delay warning as a *permanent* failure, and finds
nothing in a Yahoo-style bounce or an Exchange 2003 NDR. Either way the original's Message-ID must be found (an
attached message/rfc822 or text/rfc822-headers part, or the header block a bounce quotes in its text), or there is
nothing to tie the report to.

Cheap for what is no bounce: ingest calls `read` for every automatic mail (out-of-office replies, lists), and a mail
without a delivery-status part or report-type, whose header block does not say a mail system wrote it, is answered
None before anything is parsed.
"""

import email
import email.header
import email.message
import email.parser
import email.policy
import email.utils
import re
from dataclasses import dataclass

from flufl.bounce import all_failures

from agent.core.reading.header_cut import header_block
from agent.core.reading.headers import plain_address
from agent.core.reading.mail import Reading
from agent.core.reading.text import decoded

_MSGID = re.compile(r"<[^<>\s]+>")
_REPORT = re.compile(rb"message/delivery-status|report-type", re.IGNORECASE)  # what an RFC 3464 report needs
# Local parts only mail systems write from: MTAs, and Exchange's system mailbox (Exchange Online NDRs).
_DAEMONS = ("mailer-daemon", "postmaster", "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e")
# How failure reports' subjects begin (Exchange in its languages, Postfix, Exim, qmail, sendmail, Gmail, Yahoo).
_FAILURE_SUBJECT = re.compile(
    r"^\s*(undeliverable|unzustellbar|non remis|undelivered mail|mail delivery failed|delivery status notification "
    r"\(failure\)|failure notice|returned mail|delivery failure|undeliverable mail|mail delivery failure|"
    r"message not delivered|delivery has failed)",
    re.IGNORECASE,
)
# Delay warnings: not (yet) a failure. flufl.bounce reads some of them as permanent failures.
_DELAY_SUBJECT = re.compile(
    r"^\s*(delayed mail|warning:|delivery status notification \(delay\)|delivery delayed|mail delivery delayed|"
    r"delivery delay)",
    re.IGNORECASE,
)
_DELAY_TEXT = re.compile(
    r"has not yet been delivered|this is a warning only|will continue to be made|will continue for|"
    r"still trying|will (?:be )?retr(?:y|ied)|delivery attempts will continue",
    re.IGNORECASE,
)
# Where a bounce's own words end and the copy of the original begins.
_COPY = re.compile(
    r"^\s*(?:-{2,}.*(?:copy|original|returned|below|message follows).*|original message headers:.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_ID = re.compile(r"^[ \t>]*message-id[ \t]*:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_SMTP_REPLY = re.compile(r"(?<![\w.#-])5\d\d(?:[ -]#?5\.\d{1,3}\.\d{1,3})?\b[^\r\n]*")
_STATUS_CODE = re.compile(r"#5\.\d{1,3}\.\d{1,3}")
MAX_SCAN = 256 * 1024  # bytes of a non-standard bounce handed to flufl.bounce
MAX_TEXT = 64 * 1024  # characters of a bounce's own text searched for the server's words
DEFAULT_DIAGNOSTIC = "the receiving server refused it"


@dataclass(frozen=True)
class Bounce:
    original_message_id: str  # the Message-ID of the mail that could not be delivered
    failed: tuple[str, ...]  # the recipients it failed for (empty when the report does not say)
    diagnostic: str  # the server's words, for the notice


def parse(raw: bytes) -> Bounce | None:
    """The bounce in a delivery failure report, or None when this is no failure report we can tie to a mail."""
    return read(Reading(raw))


def read(reading: Reading) -> Bounce | None:
    """`parse`, over a mail being read (ingest's): its bytes as already cut to the limits."""
    try:
        return _parse(reading)
    except Exception:  # the email package and flufl.bounce raise on some mails: no bounce we can read
        return None


def _parse(reading: Reading) -> Bounce | None:
    report = _REPORT.search(reading.raw) is not None
    # The header block alone, its fields cut to the limits: what the cheap test below may cost.
    head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(header_block(reading.head_bounded()))
    subject = _decoded(str(head.get("Subject", "") or ""))
    if not report and not _from_mail_system(head, subject):
        return None  # every automatic mail comes here: most stop at this line
    # The mail as cut to the parser's limits: a huge or deeply nested report costs what any mail does.
    cut = reading.bounded()
    msg = email.message_from_bytes(cut, policy=email.policy.compat32)
    has_status, failed, diagnostic = False, [], []
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            has_status = True
            for block in _status_blocks(part):
                if block.get("action", "").lower() != "failed":
                    continue
                recipient = block.get("final-recipient") or block.get("original-recipient") or ""
                failed.append(recipient.rpartition(";")[2].strip().strip("<>").lower())
                if block.get("diagnostic-code"):
                    diagnostic.append(block["diagnostic-code"].partition(";")[2].strip())  # type ";" text
    original = _original_id(msg)
    if original is None:
        return None
    if has_status:  # RFC 3464: the report's own fields decide, and a delay or success report is no bounce
        if not failed and not _says_failure(msg, subject):
            return None
        text = " ".join(" ".join(diagnostic).split())[:300] or DEFAULT_DIAGNOSTIC
        return Bounce(original, tuple(a for a in failed if a), text)
    return _non_standard(msg, cut, head, subject, original)


def _non_standard(
    msg: email.message.Message, cut: bytes, head: email.message.Message, subject: str, original: str
) -> Bounce | None:
    """A bounce in a format of its own: a mail system wrote it, its subject or flufl.bounce says it failed."""
    if not _from_mail_system(head, subject) or _DELAY_SUBJECT.match(subject):
        return None
    own = _own_text(msg)
    # Its detectors read every line once per pattern (two seconds for 4 MB): they get the beginning of the mail,
    # where every format puts its own words. A copy of the original cut short loses nothing they read.
    scanned = msg if len(cut) <= MAX_SCAN else email.message_from_bytes(cut[:MAX_SCAN], policy=email.policy.compat32)
    try:
        temporary, permanent = all_failures(scanned)
    except Exception:  # a detector that trips over an odd mail: the subject may still tell
        temporary, permanent = frozenset(), frozenset()
    addresses = tuple(sorted({a for a in (_address(b) for b in permanent) if a}))
    if not _FAILURE_SUBJECT.match(subject):  # nothing but flufl.bounce's word: only a permanent failure counts
        if not addresses or temporary or _DELAY_TEXT.search(own):
            return None
    return Bounce(original, addresses, _diagnostic(own))


def _from_mail_system(head: email.message.Message, subject: str) -> bool:
    """The header block says a mail system wrote this: its sender, an Exim/Gmail failure header, or its subject."""
    sender = email.utils.parseaddr(str(head.get("From", "") or ""))[1].lower()
    return (
        sender.partition("@")[0] in _DAEMONS
        or head.get("X-Failed-Recipients") is not None
        or _FAILURE_SUBJECT.match(subject) is not None
    )


def _original_id(msg: email.message.Message) -> str | None:
    """The Message-ID of the mail that bounced: from an attached copy of it, else from the header block the
    report quotes in its text (qmail, Exim, old Gmail, Exchange's "Original message headers:")."""
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            found = _message_id_of(part)
            if found is not None:
                return found
    for text in _texts(msg):
        quoted = _QUOTED_ID.search(text)
        if quoted is not None:
            return quoted.group(1)
    return None


def _texts(msg: email.message.Message) -> list[str]:
    """The report's own text/plain parts, decoded; an attached original's parts are not the report's."""
    out: list[str] = []
    stack = [msg]
    while stack:
        part = stack.pop(0)
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            continue
        if part.is_multipart():
            stack[:0] = [p for p in (part.get_payload() or []) if isinstance(p, email.message.Message)]
            continue
        if part.get_content_type() != "text/plain":
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            try:
                out.append(data.decode(part.get_content_charset() or "latin-1", errors="replace"))
            except LookupError:  # a charset nobody knows: the addresses and codes are ASCII anyway
                out.append(data.decode("latin-1"))
    return out


def _own_text(msg: email.message.Message) -> str:
    """The report's own words, up to where the copy of the original begins."""
    text = "\n".join(_texts(msg))[:MAX_TEXT]
    copy = _COPY.search(text)
    return text[: copy.start()] if copy else text


def _diagnostic(text: str) -> str:
    """The server's words: its first 5xx reply with the lines folded under it (Postfix), else the line with an
    Exchange status code (`<host #5.1.1>`) and the one before it."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        found = _SMTP_REPLY.search(line)
        if found is not None:
            words = [found.group()]
            for folded in lines[i + 1 : i + 5]:
                if not folded.strip() or not folded[:1].isspace():
                    break
                words.append(folded)
            return " ".join(" ".join(words).split())[:300]
    lines = [line.strip() for line in lines if line.strip()]
    for i, line in enumerate(lines):
        if _STATUS_CODE.search(line):  # Exchange puts its words on the line before: join them
            return " ".join((f"{lines[i - 1]} {line}" if i else line).split())[:300]
    return DEFAULT_DIAGNOSTIC


def _address(value: bytes) -> str:
    address = value.decode("ascii", errors="replace").strip().strip("<>").lower()
    return address if plain_address(address) else ""


def _decoded(value: str) -> str:
    return " ".join(decoded(value).split())


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


def _says_failure(msg: email.message.Message, subject: str) -> bool:
    report = msg.get_param("report-type") or ""
    # A tuple only for an RFC 2231 parameter, and the email package decodes those only for names without a "-".
    assert isinstance(report, str)
    report = report.lower()
    subject = subject.lower()
    return report == "delivery-status" and any(w in subject for w in ("fail", "undeliver", "not delivered", "returned"))
