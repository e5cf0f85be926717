"""Records in, `EmailMessage` out: what every mail the agent writes shares (its envelope, its people), the notices
to our own people and the alarms to its operators. The T2 and T3 are agent.core.writing.escalation. Pure."""

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from agent.core.procedure.policy import Status
from agent.core.reading.headers import plain_address
from agent.core.reading.mail import in_domains
from agent.core.reading.text import one_line
from agent.core.sop import Tier
from agent.core.times import gmt
from agent.core.writing import mime, page
from agent.core.writing.page import Heading, Page, Quote

QUOTE_LIMIT = 200  # lines of the original quoted in the body; the whole of it is attached
SIGNATURE = "escalation-agent, watching this mailbox for the urgent-support procedure"
# Header values set with set_raw are written as we fold them. The email package would otherwise re-fold a line over
# 78 characters and, in an unstructured header such as In-Reply-To, turn a Message-ID too long for one line (an
# Exchange Online one: ~85 characters) into an RFC 2047 encoded word that no mail client threads on.
POLICY = email.policy.default.clone(refold_source="none")


@dataclass(frozen=True)
class Original:
    """The T1 as the incident stored it."""

    message_id: str
    subject: str
    sender: str
    recipients: tuple[str, ...]
    references: tuple[str, ...]
    sent_at: datetime
    text: str
    raw: bytes
    items: tuple[tuple[str, str], ...] = ()  # the SOP's items as (label, value), in the SOP's order
    acknowledged_at: datetime | None = None  # the vendor's case system sent a receipt then (no person's answer)
    size: int | None = None  # its size on the server, when `raw` is only its beginning (over max_message_bytes)
    joined: tuple["Original", ...] = ()  # later T1s about the same outage that joined this incident (issue 21.4)
    why_joined: str = ""  # of a joined T1: why (core/procedure/outage.py)


@dataclass(frozen=True)
class Answered:
    """The mail a notice answers (an engineer's command): it is quoted as "Your mail", and the answer is its reply."""

    message_id: str
    sender: str
    subject: str
    sent_at: datetime | None
    line: str  # the command as its sender wrote it


@dataclass(frozen=True)
class Step:
    """A rung already climbed: which tier, to which address, when."""

    tier: Tier
    address: str
    sent_at: datetime
    message_id: str | None = None
    status: Status | None = None  # how it was contacted: sent, by hand, or in a dry run


def new_message_id(from_address: str) -> str:
    return make_msgid(idstring="escalation", domain=from_address.rpartition("@")[2])


def our_people(original: Original, internal_domains: tuple[str, ...]) -> tuple[str, ...]:
    """The T1's sender and its internal recipients: the partner's people on the incident."""
    people = []
    for t1 in (original, *original.joined):  # a joined T1's people are the incident's too
        people += [t1.sender] + [a for a in t1.recipients if in_domains(a, internal_domains)]
    # Only plain addresses: `"x@evil.test, a"@partner.test` is internal by its domain but two recipients in a Cc.
    return tuple(dict.fromkeys(p.lower() for p in people if plain_address(p)))


def escalation_cc(
    original: Original, internal_domains: tuple[str, ...], watched: str, exclude: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Our people and the watched mailbox: everyone who must see the escalation."""
    skip = {a.lower() for a in exclude}
    people = our_people(original, internal_domains) + ((watched.lower(),) if plain_address(watched) else ())
    return tuple(a for a in dict.fromkeys(people) if a not in skip)


def notice_people(
    original: Original, internal_domains: tuple[str, ...], watched: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(To, Cc) of a notice: our people, never the vendor; the watched mailbox in Cc."""
    to = tuple(
        a for a in our_people(original, internal_domains) if in_domains(a, internal_domains) and a != watched.lower()
    )
    return to, (watched,)


def wire_size(msg: EmailMessage) -> int:
    """The mail's size as it goes over SMTP: CRLF line breaks."""
    return len(msg.as_bytes(policy=POLICY.clone(linesep="\r\n")))


def envelope(
    subject: str,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    from_address: str,
    message_id: str,
    now: datetime,
    thread: tuple[str, ...],
    parent: str,
) -> EmailMessage:
    """The headers of every mail the agent writes: ours, in the incident's thread, marked automatic."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr(("Escalation agent", from_address))
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg.set_raw("Subject", mime.subject_field(subject))
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    mime.thread_fields(msg, thread, parent)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us, please
    msg["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
    return msg


def t1_head(original: Original) -> tuple[tuple[str, str], ...]:
    """The T1's header block, as the mails quote it."""
    return (
        ("From", one_line(original.sender)),
        ("Sent", gmt(original.sent_at)),
        ("Subject", one_line(original.subject)),
        ("Message-ID", one_line(original.message_id)),
    )


def notice(
    original: Original,
    subject: str,
    body: str,
    *,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    from_address: str,
    message_id: str,
    now: datetime,
    answering: Answered | None = None,
) -> EmailMessage:
    """A mail to the partner's own people about their incident (never to the vendor), in its thread. `body` is
    the notice's words as notices.py writes them (read by page.blocks); the T1's header block follows them. The
    answer to a command replies to the command's mail and quotes that as "Your mail", the T1 below it."""
    title = f"{subject}: {original.subject or '(no subject)'}"
    thread = original.references + (original.message_id,)
    parent = original.message_id
    quoted_mails: tuple[Heading | Quote, ...] = (Heading("Your mail:"), Quote(t1_head(original)))
    if answering is not None:
        thread, parent = thread + (answering.message_id,), answering.message_id
        quoted_mails = (Heading("Your mail:"), Quote(_answered_head(answering)), Heading("The incident's T1:"))
        quoted_mails += (Quote(t1_head(original)),)
    msg = envelope(f"[escalation-agent] {title}", to, cc, from_address, message_id, now, thread, parent)
    blocks = (*page.blocks(body), *quoted_mails)
    return mime.write(msg, Page(one_line(title[:1].upper() + title[1:]), blocks, SIGNATURE))


def _answered_head(answered: Answered) -> tuple[tuple[str, str], ...]:
    return (
        ("From", one_line(answered.sender)),
        ("Sent", gmt(answered.sent_at) if answered.sent_at else "(no date)"),
        ("Subject", one_line(answered.subject)),
        ("Command", one_line(answered.line)[:200]),
    )


def alarm(
    subject: str,
    body: str,
    *,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    from_address: str,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """A mail about the agent itself to its operators (ops_address): no incident, so no thread and no T1 to quote.
    `body` is written as notices.py writes a notice's words (read by page.blocks); both parts, like every mail."""
    msg = envelope(f"[escalation-agent] {subject}", to, cc, from_address, message_id, now, (), "")
    return mime.write(msg, Page(one_line(subject[:1].upper() + subject[1:]), page.blocks(body), SIGNATURE))
