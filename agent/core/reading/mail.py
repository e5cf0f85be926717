"""Raw bytes -> `Mail`, the record every later stage works on. Pure: no I/O, never raises, and bounded.

A mail is cut to the limits of `agent.core.reading.limits` before any parser sees it (`bounded`), so that what one
hostile or broken mail costs does not depend on its size or shape: mail-parser and the email package have quadratic
and recursive paths (parameter parsing, nested multiparts, huge address lists) and no timeouts. Every limit hit
leaves a line in `Mail.defects`; any exception from the parsers becomes a `Mail` read from a cheap header scan.
"""

import email.header
import email.message
import email.parser
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import mailparser

from agent.core.reading import limits
from agent.core.reading.automatic import automatic
from agent.core.reading.bodies import bodies, readable
from agent.core.reading.header_cut import MAX_ADDRESSES, header_block
from agent.core.reading.headers import (
    Header,
    address_pairs,
    addresses,
    date_offset,
    first_address,
    reader,
    thread_index,
)
from agent.core.reading.message_ids import message_ids, original_message_id
from agent.core.reading.provenance import HEADER as PROVENANCE
from agent.core.reading.provenance import MAX_VALUE as provenance_limit
from agent.core.reading.text import SURROGATE, clean
from agent.core.reading.text import decoded as _decoded
from agent.core.times import aware_utc

MAX_REFERENCES = 100  # Message-IDs kept from In-Reply-To and from References
MAX_DEFECTS = 20

_YEAR = re.compile(r"(?<![\d+-])\d{4}(?!\d)")  # four digits, not a zone's (+0100)
_IDENTITY_FIELDS = ("From", "To", "Cc", "Date", "Subject", "In-Reply-To", "References")


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
    # The Message-ID the sender gave it, where a relay replaced it (Outlook.com, Gmail): None when not rewritten.
    original_message_id: str | None = None
    date_offset: int | None = None  # the Date header's zone, minutes east of UTC: the sender's local time
    provenance: str = ""  # the X-Escalation-Agent-Provenance value as found (agent.core.reading.provenance reads it)

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


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def in_domains(address: str, domains: tuple[str, ...]) -> bool:
    """True when the address's domain is one of `domains` or a subdomain of one."""
    d = domain_of(address)
    return any(d == x or d.endswith("." + x) for x in domains)


def synthetic_message_id(raw: bytes, header: Callable[[str], str] | None = None) -> str:
    """A stable id for a mail that has none, so it is still seen once: a hash of the fields that say which mail
    it is, so that its header fields alone (old mail is fetched so) and the whole mail give the same id; of its
    bytes only when it has none of them."""
    values = [" ".join(header(name).split()) for name in _IDENTITY_FIELDS] if header else []
    return bytes_message_id("\n".join(values).encode("utf-8", "surrogateescape") if any(values) else raw)


def bytes_message_id(data: bytes) -> str:
    """The id made of these bytes. Of a whole mail's bytes, it is the id that earlier versions of the agent gave a
    mail without a Message-ID: a re-map still finds the rows they recorded."""
    return f"<{hashlib.sha256(data).hexdigest()[:32]}@no-message-id.invalid>"


def header_message_id(fields: bytes) -> str | None:
    """The Message-ID in a mail's header fields alone (a FETCH of `BODY[HEADER.FIELDS (MESSAGE-ID)]`), read as
    `parse` reads it; None when there is none, and `parse` then gives it a `synthetic_message_id`."""
    try:
        msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(fields)
    except Exception:
        return None
    ids = message_ids(reader(msg)("Message-ID"))
    return ids[0] if ids else None


def bounded(raw: bytes, *, headers_only: bool = False) -> tuple[bytes, tuple[str, ...]]:
    """The mail as it may be handed to a parser, and the limits it was over. Within every limit that is `raw`
    itself; over one, it is what `parse` reads: the mail cut to the limits, attachments' contents left out."""
    cut, defects = limits.cut(raw, headers_only)
    return (cut if defects else raw), defects


def parse(raw: bytes, *, headers_only: bool = False) -> Mail:
    """Parse a mail. Never raises. With `headers_only` the body is not read: for mail fetched without its body
    (old, or over the size cap). Ingest reads a mail through a `Reading`: its header block, its body only if needed.

    The header fields are always read by the email package's header parser, so a mail reads the same however much
    of it was fetched; mail-parser reads the body of a whole mail."""
    reading = Reading(raw)
    return reading.headers() if headers_only else reading.whole()


class Reading:
    """One mail's bytes, cut to the limits once (`limits.Cut`) and each part parsed once: the header block when
    first asked, the body only if asked. The cut bytes are what every other reader of the mail gets (`bounded`,
    `head_bounded`): a bounce report, the Authentication-Results, a forwarded answer."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self._cut = limits.Cut(raw)
        self._fields: Mail | None = None  # the header fields, with the defects reading them found and no other
        self._headers: Mail | None = None
        self._whole: Mail | None = None

    def headers(self) -> Mail:
        """The mail from its header block alone: text and html empty."""
        if self._headers is None:
            fields = self._read_fields()
            self._headers = replace(fields, defects=_defects(self._cut.head()[1] + fields.defects))
        return self._headers

    def whole(self) -> Mail:
        """The mail with its body read (mail-parser over the mail as cut)."""
        if self._whole is None:
            fields = self._read_fields()
            cut, defects = self._cut.whole()
            self._whole = _with_text(replace(fields, defects=_defects(defects + fields.defects)), cut)
        return self._whole

    def head_bounded(self) -> bytes:
        """The header block as a parser may see it: `bounded(raw, headers_only=True)`."""
        cut, defects = self._cut.head()
        return cut if defects else self.raw

    def bounded(self) -> bytes:
        """The whole mail as a parser may see it: `bounded(raw)`."""
        cut, defects = self._cut.whole()
        return cut if defects else self.raw

    def _read_fields(self) -> Mail:
        if self._fields is None:
            self._fields = _fields(self.raw, self._cut.head()[0])
        return self._fields


def _fields(raw: bytes, cut: bytes) -> Mail:
    """The header fields of the mail as cut; its defects are only those reading them found."""
    try:
        return _from_headers(raw, cut, ())
    except Exception as e:
        return _mail(
            raw,
            message_id="",
            subject="",
            sender=("", ""),
            to=(),
            cc=(),
            date=None,
            header=lambda _: "",
            text="",
            html="",
            defects=(f"reading the headers failed ({type(e).__name__})",),
        )


def _with_text(mail: Mail, cut: bytes) -> Mail:
    """The mail with its text and HTML read from the mail as cut. Never raises."""
    try:
        parsed = mailparser.parse_from_bytes(cut)
        plain, markup = bodies(parsed.message)
        text, found = readable(plain, markup), tuple(str(d) for d in parsed.defects)
    except Exception as e:  # mail-parser and the email package raise on some mails: the headers are still read
        return replace(
            mail, defects=_defects(mail.defects + (f"mail-parser failed ({type(e).__name__}): read the headers only",))
        )
    return replace(
        mail,
        text=SURROGATE.sub("\ufffd", text),
        html=SURROGATE.sub("\ufffd", markup),
        defects=_defects(mail.defects + found),
    )


def _from_headers(raw: bytes, cut: bytes, defects: tuple[str, ...]) -> Mail:
    """The header fields alone, from the email package's cheapest parser: a third of mail-parser's cost on a header
    block (most of a mailbox is only ever read this far, and a first start reads years of it), and it decodes what
    mail-parser leaves encoded (an encoded word in quotes, as Foxmail writes a name)."""
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(header_block(cut))
    header = reader(msg)

    try:
        date = email.utils.parsedate_to_datetime(header("Date"))
    except Exception:
        date = None
    if date is not None and date.tzinfo is None and "-0000" not in header("Date"):
        date = None  # no zone: local time in a zone nobody knows. "-0000" is UTC (RFC 5322 3.3), naive here too
    if any(int(year) < 1900 for year in _YEAR.findall(header("Date"))):
        date = None  # RFC 5322 3.3: a year is 1900 or later; the email package reads "0000" as the two-digit "00"
    return _mail(
        raw,
        message_id=header("Message-ID"),
        subject=_decoded(header("Subject")),
        sender=first_address(address_pairs(header("From"))),
        to=addresses(address_pairs(header("To"))),
        cc=addresses(address_pairs(header("Cc"))),
        date=date,
        header=header,
        text="",
        html="",
        defects=defects,
    )


def _mail(
    raw: bytes,
    *,
    message_id: str,
    subject: str,
    sender: tuple[str, str],
    to: tuple[str, ...],
    cc: tuple[str, ...],
    date: object,  # whatever the parser made of the Date header: aware_utc keeps only a datetime
    header: Header,
    text: str,
    html: str,
    defects: tuple[str, ...],
) -> Mail:
    ids = message_ids(message_id)
    references = message_ids(header("References"))
    in_reply_to = message_ids(header("In-Reply-To"))
    if len(references) > MAX_REFERENCES:  # RFC 5322 3.6.4: keep the first and the most recent
        references = references[:1] + references[-(MAX_REFERENCES - 1) :]
        defects += (f"References over {MAX_REFERENCES} Message-IDs: kept the first and the last {MAX_REFERENCES - 1}",)
    if len(in_reply_to) > MAX_REFERENCES:
        in_reply_to = in_reply_to[:MAX_REFERENCES]
        defects += (f"In-Reply-To over {MAX_REFERENCES} Message-IDs: kept the first {MAX_REFERENCES}",)
    if len(to) > MAX_ADDRESSES or len(cc) > MAX_ADDRESSES:
        to, cc = to[:MAX_ADDRESSES], cc[:MAX_ADDRESSES]
        defects += (f"over {MAX_ADDRESSES} addresses in To or Cc: kept the first {MAX_ADDRESSES}",)
    return Mail(
        message_id=ids[0] if ids else synthetic_message_id(raw, header),
        subject=clean(subject),
        sender=sender[1],
        sender_name=clean(sender[0]),
        to=to,
        cc=cc,
        date=aware_utc(date),
        in_reply_to=in_reply_to,
        references=references,
        thread_index=thread_index(header("Thread-Index")),
        automatic=automatic(header, sender[1]),
        text=SURROGATE.sub("\ufffd", text),
        html=SURROGATE.sub("\ufffd", html),
        size=len(raw),
        defects=_defects(defects),
        original_message_id=original_message_id(header, ids[0] if ids else ""),
        date_offset=date_offset(header("Date")),
        provenance=header(PROVENANCE)[: provenance_limit + 1],
    )


def _defects(defects: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(clean(d)[:500] for d in defects))[:MAX_DEFECTS]
