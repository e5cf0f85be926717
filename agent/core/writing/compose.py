"""Records in, `EmailMessage` out: the escalation mail as the procedure wants it. Pure."""

import email
import email.policy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from agent.core.procedure import items as sop_items
from agent.core.procedure import probe
from agent.core.procedure.policy import Status
from agent.core.reading.headers import plain_address
from agent.core.reading.mail import in_domains
from agent.core.reading.text import one_line
from agent.core.sop import Tier
from agent.core.times import gmt, span
from agent.core.writing import attach, mime, page
from agent.core.writing.page import Bullets, Heading, Page, Para, Quote, Strip, Table

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


ATTACH_MARGIN = 4_000  # the attachment part's own header lines and the longer sentence that names what is left out


def escalation(original: Original, tier: Tier, steps: tuple[Step, ...], window: timedelta, **kw: Any) -> EmailMessage:
    """The T2 or T3 mail (`escalation_forms`' first)."""
    return escalation_forms(original, tier, steps, window, **kw)[0]


def escalation_forms(
    original: Original,
    tier: Tier,
    steps: tuple[Step, ...],
    window: timedelta,
    *,
    to: str,
    cc: tuple[str, ...],
    from_address: str,
    message_id: str,
    now: datetime,
    caveat: str | None = None,
    api_check: probe.Summary | None = None,
    attach_limit: int = attach.DEFAULT_LIMIT,
    smaller: bool = False,
) -> tuple[EmailMessage, EmailMessage | None]:
    """The T2 or T3 mail. `steps` are the tiers already contacted, T1 first. The attached T1 never makes it larger
    than `attach_limit` (agent.core.writing.attach). With `smaller`, also the form sent at once after the server
    refused the
    first as too large: the T1's header and text only, or, if the first was that already, no attachment (the quote
    stays); None when the first attached nothing (or `smaller` is not asked for). `api_check`: [probe] since the T1."""
    subject = f"[{tier.label} escalation] {original.subject or '(no subject)'}"
    ids = original.references + tuple(j.message_id for j in original.joined) + tuple(s.message_id or "" for s in steps)

    def build(attached: attach.Attachment) -> EmailMessage:
        msg = envelope(subject, (to,), cc, from_address, message_id, now, ids, original.message_id)
        body = escalation_page(original, tier, steps, window, now, caveat, api_check, attached.says())
        return mime.write(msg, body, attached=attached.raw)

    msg, attached = _fitted(original, attach_limit, build, text_only=False)
    if not smaller or attached.form == attach.Form.NONE:
        return msg, None
    if attached.form in (attach.Form.TEXT, attach.Form.HEADER):
        return msg, build(attach.Attachment(attach.Form.NONE, None, attached.size))
    return msg, _fitted(original, attach_limit, build, text_only=True)[0]


def _fitted(
    original: Original, limit: int, build: Callable[[attach.Attachment], EmailMessage], text_only: bool
) -> tuple[EmailMessage, attach.Attachment]:
    """The mail with as much of the T1 attached as keeps it within `limit`, measured as the SMTP server counts it."""
    size = max(original.size or 0, len(original.raw))
    bare = build(attach.Attachment(attach.Form.NONE, None, size))
    room = limit - wire_size(bare) - ATTACH_MARGIN
    for _ in range(3):
        attached = attach.fit(original.raw, room, original.size, text_only)
        if attached.raw is None:
            break
        msg = build(attached)
        over = wire_size(msg) - limit
        if over <= 0:
            return msg, attached
        room -= over + ATTACH_MARGIN  # re-encoding grew it (line breaks made CRLF, headers re-folded)
    nothing = attach.Attachment(attach.Form.NONE, None, size)
    return build(nothing), nothing


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


def escalation_page(
    original: Original,
    tier: Tier,
    steps: tuple[Step, ...],
    window: timedelta,
    now: datetime,
    caveat: str | None = None,
    api_check: probe.Summary | None = None,
    attached: str = "The original T1 is attached in full.",
) -> Page:
    """The SOP's items first (what the vendor acts on), then what happened, then the original quoted."""
    last = steps[-1]
    timeline = [
        f"{s.tier.label} sent {gmt(s.sent_at)} to {s.address}{f' by {original.sender}' if s.tier == Tier.T1 else ''}."
        for s in steps
    ]
    timeline[1:1] = [
        f"A second T1 about the same outage, sent {gmt(j.sent_at)} by {one_line(j.sender)} "
        f"({one_line(j.message_id)}), joined this incident: {one_line(j.why_joined)}."
        for j in original.joined
    ]
    after = "" if last.tier == Tier.T1 else f" after the {last.tier.label} escalation"
    timeline.append(f"No response in {span(window)}{after}.")
    if original.acknowledged_at is not None:
        timeline.append(acknowledgement(original.acknowledged_at, steps))
    timeline.append(f"Escalating to {tier.label} ({tier.title}) at {gmt(now)}.")
    blocks: list[page.Block] = [
        Para(
            f"Automatic {tier.label} ({tier.title}) escalation under the Incentives API emergency support "
            f"procedure, on behalf of the people in Cc."
        ),
        Heading("Incident details (the procedure's items):"),
        Table(sop_rows(original), "MISSING", "(required by the procedure)"),
        Heading("What happened (times in GMT):"),
        Bullets(tuple(timeline)),
        *_api_check(api_check),
        *([Para(caveat)] if caveat else []),
        Para("Please reply to all, so that the engineers in Cc see your answer.", strong=True),
        Heading("The original message:"),
        Para(attached),
        Quote(t1_head(original), quoted(original.text)),
    ]
    return Page(f"{tier.label} escalation: {one_line(original.subject) or '(no subject)'}", tuple(blocks))


def _api_check(summary: probe.Summary | None) -> tuple[page.Block, ...]:
    """The evidence of the API check ([probe]): one sentence, then the strip of its recent runs."""
    if summary is None:
        return ()
    shown = len(summary.strip)
    caption = f"The last {shown} probes, oldest first" if shown > 1 else "The one probe so far"
    return (Para(probe.sentence(summary)), Strip(summary.strip, caption))


def acknowledgement(at: datetime, steps: tuple[Step, ...]) -> str:
    """What the escalations say of a case system's receipt: it is no answer. It acknowledged the last mail sent
    before it (the T1, or a T2 that went to another case system)."""
    before = [s for s in steps if s.sent_at <= at]
    acknowledged = before[-1].tier.label if before else Tier.T1.label
    return f"The vendor's system acknowledged the {acknowledged} at {gmt(at)}; no person has answered."


def sop_rows(original: Original) -> tuple[tuple[str, str | None], ...]:
    """The SOP's items in its order: each the T1 gives, and None for each required one it lacks (the card number
    only when the T1 is about physical cards, as items.missing says)."""
    given = {label: one_line(value) for label, value in original.items if one_line(value)}
    physical = sop_items.is_physical(original.text)
    rows: list[tuple[str, str | None]] = []
    for item in sop_items.ITEMS:
        if item.label in given:
            rows.append((item.label, given.pop(item.label)))
        elif item.required and (physical or not item.physical_only):
            rows.append((item.label, None))
    return tuple(rows) + tuple(given.items())


def t1_head(original: Original) -> tuple[tuple[str, str], ...]:
    """The T1's header block, as the mails quote it."""
    return (
        ("From", one_line(original.sender)),
        ("Sent", gmt(original.sent_at)),
        ("Subject", one_line(original.subject)),
        ("Message-ID", one_line(original.message_id)),
    )


def quoted(text: str, limit: int = QUOTE_LIMIT) -> tuple[str, ...]:
    """The lines of the original's text the mail quotes: at most `limit`, the whole of it is attached."""
    body = text.strip().splitlines() or ["(the original has no text body)"]
    lines = [line.rstrip() for line in body[:limit]]
    if len(body) > limit:
        lines.append(f"[... {len(body) - limit} more lines not quoted]")
    return tuple(lines)


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
