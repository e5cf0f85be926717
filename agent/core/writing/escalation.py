"""The T2 or T3 mail as the procedure wants it: the SOP's items first, what happened, the original quoted, and as
much of the T1 attached as fits `attach_limit` (agent.core.writing.attach). Pure."""

from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from agent.core.procedure import items as sop_items
from agent.core.procedure import probe
from agent.core.reading.text import one_line
from agent.core.sop import Tier
from agent.core.times import gmt, span
from agent.core.writing import attach, mime, page
from agent.core.writing.compose import QUOTE_LIMIT, Original, Step, envelope, t1_head, wire_size
from agent.core.writing.page import Bullets, Heading, Page, Para, Quote, Strip, Table

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


def quoted(text: str, limit: int = QUOTE_LIMIT) -> tuple[str, ...]:
    """The lines of the original's text the mail quotes: at most `limit`, the whole of it is attached."""
    body = text.strip().splitlines() or ["(the original has no text body)"]
    lines = [line.rstrip() for line in body[:limit]]
    if len(body) > limit:
        lines.append(f"[... {len(body) - limit} more lines not quoted]")
    return tuple(lines)
