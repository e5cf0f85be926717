"""Records in, `EmailMessage` out: the escalation mail as the procedure wants it. Pure."""

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, format_datetime, make_msgid

from agent.mail import clean, in_domains
from agent.sop import Tier
from agent.times import gmt, span

QUOTE_LIMIT = 200  # lines of the original quoted in the body; the whole of it is attached


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


@dataclass(frozen=True)
class Step:
    """A rung already climbed: which tier, to which address, when."""

    tier: Tier
    address: str
    sent_at: datetime
    message_id: str | None = None


def new_message_id(from_address: str) -> str:
    return make_msgid(idstring="escalation", domain=from_address.rpartition("@")[2])


def escalation_cc(original: Original, internal_domains: tuple[str, ...], watched: str,
                  exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The T1's sender and internal recipients, and the watched mailbox: the people who must see it."""
    people = [original.sender] + [a for a in original.recipients if in_domains(a, internal_domains)]
    people.append(watched)
    skip = {a.lower() for a in exclude}
    return tuple(a for a in dict.fromkeys(p.lower() for p in people if p) if a not in skip)


def escalation(original: Original, tier: Tier, steps: tuple[Step, ...], window: timedelta, *,
               to: str, cc: tuple[str, ...], from_address: str, message_id: str, now: datetime,
               caveat: str | None = None) -> EmailMessage:
    """The T2 or T3 mail. `steps` are the tiers already contacted, T1 first."""
    msg = EmailMessage()
    msg["From"] = formataddr(("Escalation agent", from_address))
    msg["To"] = to
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = clean(f"[{tier.label} escalation] {original.subject or '(no subject)'}")
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    chain = list(dict.fromkeys(original.references + tuple(s.message_id for s in steps if s.message_id)))
    msg["In-Reply-To"] = chain[-1] if chain else original.message_id
    if chain:
        msg["References"] = " ".join(chain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us, please
    msg["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
    msg.set_content(escalation_body(original, tier, steps, window, now, caveat), cte="quoted-printable")
    msg.add_attachment(_as_message(original.raw), filename="original-T1.eml")
    return msg


def escalation_body(original: Original, tier: Tier, steps: tuple[Step, ...], window: timedelta, now: datetime,
                    caveat: str | None = None) -> str:
    last = steps[-1]
    lines = [
        f"This is an automatic {tier.label} ({tier.title}) escalation under the Incentives API emergency",
        "support procedure, sent by the partner's escalation agent on behalf of the people in Cc.",
        "",
    ]
    for s in steps:
        by = f" by {original.sender}" if s.tier == Tier.T1 else ""
        lines.append(f"{s.tier.label} sent {gmt(s.sent_at)} to {s.address}{by}.")
    after = "" if last.tier == Tier.T1 else f" after the {last.tier.label} escalation"
    lines += [
        f"No response in {span(window)}{after}.",
        f"Escalating to {tier.label} ({tier.title}) at {gmt(now)}.",
        *([caveat] if caveat else []),
        "",
        "Please reply to all, so that the engineers in Cc see your answer.",
        "",
        "The original message (attached in full):",
        "",
        f"  From:       {original.sender}",
        f"  Sent:       {gmt(original.sent_at)}",
        f"  Subject:    {original.subject}",
        f"  Message-ID: {original.message_id}",
        "",
    ]
    body = original.text.strip().splitlines() or ["(the original has no text body)"]
    quoted = ["> " + line.rstrip() if line.strip() else ">" for line in body[:QUOTE_LIMIT]]
    if len(body) > QUOTE_LIMIT:
        quoted.append(f"> [... {len(body) - QUOTE_LIMIT} more lines in the attachment]")
    return "\n".join(lines + quoted) + "\n"


def _as_message(raw: bytes) -> EmailMessage:
    """The T1 as a message/rfc822 part; a mail too broken to re-serialise goes in as its headers."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        msg.as_bytes()
        return msg
    except Exception:
        head = raw.split(b"\n\n", 1)[0]
        return email.message_from_bytes(head + b"\n\n[body omitted: it could not be re-encoded]\n",
                                        policy=email.policy.default)


def notice(original: Original, subject: str, body: str, *, to: tuple[str, ...], cc: tuple[str, ...],
           from_address: str, message_id: str, now: datetime) -> EmailMessage:
    """A mail to the partner's own people about their incident (never to the vendor), in its thread."""
    msg = EmailMessage()
    msg["From"] = formataddr(("Escalation agent", from_address))
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = clean(f"[escalation-agent] {subject}: {original.subject or '(no subject)'}")
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = original.message_id
    msg["References"] = " ".join(dict.fromkeys(original.references + (original.message_id,)))
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    quoted = "\n".join(f"  {k:<11} {v}" for k, v in (("From:", original.sender), ("Sent:", gmt(original.sent_at)),
                                                      ("Subject:", original.subject), ("Message-ID:", original.message_id)))
    msg.set_content(f"{body.rstrip()}\n\nYour mail:\n{quoted}\n\n-- \nescalation-agent, watching this mailbox "
                    f"for the urgent-support procedure\n", cte="quoted-printable")
    return msg
