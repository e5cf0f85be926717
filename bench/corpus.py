"""The seeded mail generator (T1s, vendor replies, noise, the clients' corpus) and filling a mailbox with it."""

from __future__ import annotations

import base64
import email
import email.policy
import os
import random
import subprocess
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from harness import ALICE, REPO, SUPPORT, T1_ADDR, WATCHED, BenchDovecot

INTERNAL = ["alice", "bob", "carol", "dave", "erin", "frank"]
CORPUS = REPO / "tests" / "corpus"


# -- mails as people and machines write them ------------------------------------------------------------------
def complete_t1_body(n: int) -> str:
    """Every required SOP item: no missing-items notice, so the lateness test measures escalations only."""
    return (
        f"Hello,\n\nSince 11:15 GMT every CreateGiftCard request fails with F500 (case {n}).\n\n"
        "Contact phone number: +1-555-0100\nContact email: alice@partner.test\nContact name: Alice Engineer\n"
        f"Brief problem description: Beginning at approximately 11:15 GMT all requests are failing with an "
        f"F500 error (bench incident {n}).\nPartner ID: Acmes\nExample request ID: Acmes3324500H{n}\n"
        "Example API error response: 'F500' GeneralError\nMarketplace: US\n"
        "Timestamp of example request: 11:32:06 GMT\nTime of first failing request: 11:15:06 GMT\n"
        "Is the behavior consistent? Yes, every request since 11:15 GMT has been failing.\n"
        "Recent changes: No, we have not had any software changes in the last two months.\n\nAlice\n"
    )


def t1_mail(n: int, when: datetime, sender: str = ALICE, subject: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{sender.split('@')[0].title()} Engineer <{sender}>"
    msg["To"] = T1_ADDR
    msg["Cc"] = WATCHED
    msg["Subject"] = subject or f"Incentives API: all requests fail with F500 (bench {n})"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<bench-t1-{n}-{int(when.timestamp())}@partner.test>"
    msg.set_content(complete_t1_body(n))
    return msg


def reply_mail(
    t1: EmailMessage, n: int, when: datetime, sender: str = SUPPORT, body: str = "", headers: dict | None = None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = t1["From"]
    msg["Cc"] = WATCHED
    msg["Subject"] = "RE: " + str(t1["Subject"])
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<bench-re-{n}@{sender.split('@')[1]}>"
    msg["In-Reply-To"] = t1["Message-ID"]
    msg["References"] = t1["Message-ID"]
    for k, v in (headers or {}).items():
        msg[k] = v
    quoted = (
        "\n".join("> " + line for line in t1.get_body(("plain",)).get_content().splitlines())
        if isinstance(t1, EmailMessage) and t1.get_body(("plain",)) is not None
        else ""
    )
    msg.set_content(
        (body or "Thank you, we are looking into it and will update you within the hour.\n")
        + f"\nOn {t1['Date']}, {t1['From']} wrote:\n{quoted}\n"
    )
    return msg


LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex "
    "ea commodo consequat. "
).split()


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(LOREM, k=n))


_LINES = [" ".join(random.Random(i).choices(LOREM, k=10)) for i in range(4000)]
_BLOB = base64.encodebytes(random.Random(0).randbytes(130_000)).decode().splitlines(keepends=True)


def lines(rng: random.Random, n: int) -> str:
    """About n words, ten to a line, from a pool of lines (50,000 mails must be written in seconds)."""
    return "\n".join(rng.choices(_LINES, k=max(1, n // 10)))


def blob(rng: random.Random, size: int) -> str:
    """An attachment of about `size` bytes, base64 in 76-character lines."""
    start = rng.randrange(0, 100)
    return "".join(_BLOB[start : start + size // 57])


def paragraphs(rng: random.Random, n: int) -> str:
    return "\n\n".join(lines(rng, rng.randint(30, 90)) for _ in range(n))


def raw(headers: list[tuple[str, str]], body: str, content_type: str = "text/plain; charset=us-ascii") -> bytes:
    """A mail as a mail client writes it, built as text (the email package is too slow for 50,000 of them)."""
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    if not content_type.startswith("multipart/"):
        head += "Content-Transfer-Encoding: 7bit\n"
    return f"{head}MIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}".encode()


def multipart(kind: str, boundary: str, parts: list[tuple[str, str]]) -> tuple[str, str]:
    """(content type, body) of a multipart of (part header block, part body)."""
    body = "".join(f"--{boundary}\n{h}\n\n{b}\n" for h, b in parts) + f"--{boundary}--\n"
    return f'multipart/{kind}; boundary="{boundary}"', body


def date(when: datetime) -> str:
    return format_datetime(when)


def t1_raw(rng: random.Random, n: int, when: datetime, sender: str) -> tuple[bytes, str, str, str]:
    """A generated T1 (half of them with an HTML table part): raw, Message-ID, subject, plain text."""
    subject = f"Incentives API: {words(rng, 4)} ({n})"
    mid = f"<bench-t1-{n}@partner.test>"
    text = complete_t1_body(n)
    headers = [
        ("From", f"{sender.split('@')[0].title()} Engineer <{sender}>"),
        ("To", T1_ADDR),
        ("Cc", WATCHED),
        ("Subject", subject),
        ("Date", date(when)),
        ("Message-ID", mid),
    ]
    if rng.random() < 0.5:
        rows = "".join(
            f"<tr><td>{line.split(':', 1)[0]}</td><td>{line.split(':', 1)[1]}</td></tr>"
            for line in text.splitlines()
            if ": " in line
        )
        html = f"<html><body><p>Hello,</p><table border=1>{rows}</table><p>Alice</p></body></html>"
        ctype, body = multipart(
            "alternative",
            f"=_alt_{n}",
            [("Content-Type: text/plain; charset=us-ascii", text), ("Content-Type: text/html; charset=us-ascii", html)],
        )
        return raw(headers, body, ctype), mid, subject, text
    return raw(headers, text), mid, subject, text


def reply_raw(
    n: int,
    when: datetime,
    t1_mid: str,
    subject: str,
    quoted: str,
    sender: str = SUPPORT,
    body: str = "",
    extra: tuple = (),
) -> bytes:
    headers = [
        ("From", sender),
        ("To", ALICE),
        ("Cc", WATCHED),
        ("Subject", "RE: " + subject),
        ("Date", date(when)),
        ("Message-ID", f"<bench-re-{n}@{sender.split('@')[1]}>"),
        ("In-Reply-To", t1_mid),
        ("References", t1_mid),
        *extra,
    ]
    quote = "\n".join("> " + line for line in quoted.splitlines())
    text = (
        body or "Thank you, we are looking into it and will update you within the hour."
    ) + f"\n\nOn {date(when)}, someone wrote:\n{quote}\n"
    return raw(headers, text)


def noise_raw(rng: random.Random, n: int, when: datetime) -> bytes:
    """What else lands in a shared mailbox: internal chatter, newsletters, notifications, files, vendor news."""
    kind = rng.choices(["chat", "newsletter", "notification", "attachment", "vendor_info"], [35, 25, 20, 10, 10])[0]
    me = f"{rng.choice(INTERNAL)}@partner.test"
    base = [("Date", date(when))]
    if kind == "chat":
        return raw(
            [
                ("From", me),
                ("To", f"{rng.choice(INTERNAL)}@partner.test"),
                ("Cc", WATCHED),
                ("Subject", f"{words(rng, 4).capitalize()} ({n})"),
                *base,
                ("Message-ID", f"<bench-chat-{n}@partner.test>"),
            ],
            paragraphs(rng, rng.randint(1, 4)) + "\n",
        )
    if kind == "newsletter":
        text = paragraphs(rng, rng.randint(3, 8))
        html = "".join(f"<tr><td style='padding:8px;font-family:Arial'>{p}</td></tr>" for p in text.split("\n\n"))
        ctype, body = multipart(
            "alternative",
            f"=_news_{n}",
            [
                ("Content-Type: text/plain; charset=us-ascii", text),
                (
                    "Content-Type: text/html; charset=us-ascii",
                    f"<html><body><table width='600'>{html}</table></body></html>",
                ),
            ],
        )
        return raw(
            [
                ("From", "news@newsletter.test"),
                ("To", WATCHED),
                ("Subject", f"Weekly digest {n}: {words(rng, 5)}"),
                *base,
                ("Message-ID", f"<bench-news-{n}@newsletter.test>"),
                ("Precedence", "bulk"),
                ("List-Unsubscribe", "<mailto:unsubscribe@newsletter.test>"),
            ],
            body,
            ctype,
        )
    if kind == "notification":
        return raw(
            [
                ("From", "noreply@monitoring.test"),
                ("To", WATCHED),
                ("Subject", f"[ALERT] {words(rng, 3)} latency above threshold ({n})"),
                *base,
                ("Message-ID", f"<bench-alert-{n}@monitoring.test>"),
                ("Auto-Submitted", "auto-generated"),
            ],
            f"Alert {n} fired at {when:%H:%M:%S} GMT.\n{lines(rng, 40)}\n",
        )
    if kind == "attachment":
        ctype, body = multipart(
            "mixed",
            f"=_mix_{n}",
            [
                ("Content-Type: text/plain; charset=us-ascii", "Please find the report attached.\n\n" + lines(rng, 40)),
                (
                    f"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
                    f'Content-Disposition: attachment; filename="report-{n}.pdf"',
                    blob(rng, rng.randint(20_000, 120_000)),
                ),
            ],
        )
        return raw(
            [
                ("From", me),
                ("To", WATCHED),
                ("Subject", f"Report {n}: {words(rng, 3)}"),
                *base,
                ("Message-ID", f"<bench-report-{n}@partner.test>"),
            ],
            body,
            ctype,
        )
    return raw(
        [
            ("From", "info@vendor.test"),
            ("To", WATCHED),
            ("Subject", f"Incentives API maintenance notice {n}"),
            *base,
            ("Message-ID", f"<bench-info-{n}@vendor.test>"),
        ],
        paragraphs(rng, 2) + "\n",
    )


def corpus_t1(rng: random.Random, n: int, when: datetime, templates: list[bytes]) -> tuple[bytes, str, str, str]:
    """One of the clients' T1s in tests/corpus (encodings, HTML tables, forwards, misroutes), made unique."""
    msg = email.message_from_bytes(rng.choice(templates), policy=email.policy.compat32)
    subject = f"{msg.get('Subject', '')} [{n}]"
    for name in ("Message-ID", "Date", "Subject"):
        del msg[name]
    mid = f"<bench-ct1-{n}@partner.test>"
    msg["Message-ID"], msg["Date"], msg["Subject"] = mid, date(when), subject
    return msg.as_bytes(), mid, subject, "(the original T1)"


def mixed_corpus(count: int, seed: int, end: datetime, span: timedelta) -> list[tuple[bytes, datetime]]:
    """`count` mails of a shared escalation mailbox, oldest first: about 10% of the threads start with a T1 (a
    third of them from the clients' corpus), with their vendor responses, auto-replies and internal follow-ups;
    the rest is noise. Every T1 is older than max_incident_age, as on a first start over years of mail."""
    rng = random.Random(seed)
    templates = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    start = end - span
    out: list[tuple[datetime, int, bytes]] = []
    n = 0
    while len(out) < count + count // 10:
        n += 1
        when = (start + timedelta(seconds=rng.uniform(0, span.total_seconds() - 86400 * 3))).replace(microsecond=0)
        if rng.random() >= 0.10:
            out.append((when, n, noise_raw(rng, n, when)))
            continue
        sender = f"{rng.choice(INTERNAL)}@partner.test"
        if rng.random() < 0.33 and templates:
            data, mid, subject, text = corpus_t1(rng, n, when, templates)
        else:
            data, mid, subject, text = t1_raw(rng, n, when, sender)
        out.append((when, n, data))
        if rng.random() < 0.3:
            w = when + timedelta(seconds=40)
            out.append(
                (
                    w,
                    n,
                    reply_raw(
                        n * 10 + 1,
                        w,
                        mid,
                        subject,
                        "",
                        "noreply@vendor.test",
                        "We received your request.",
                        (("Auto-Submitted", "auto-replied"),),
                    ),
                )
            )
        if rng.random() < 0.3:
            w = when + timedelta(minutes=25)
            out.append((w, n, reply_raw(n * 10 + 2, w, mid, subject, text, sender, "Any update?")))
        if rng.random() < 0.7:
            w = (when + timedelta(minutes=rng.uniform(5, 90))).replace(microsecond=0)
            out.append((w, n, reply_raw(n * 10 + 3, w, mid, subject, text)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [(data, when) for when, _, data in out[:count]]


# -- filling a mailbox without APPEND -------------------------------------------------------------------------
def fill_maildir(dovecot: BenchDovecot, user: str, mails: list[tuple[bytes, datetime]]) -> float:
    """Write Maildir files (as Dovecot's LMTP would: LF line ends, ,S= and ,W= sizes, mtime = INTERNALDATE)
    into cur/ of the user's INBOX, then `doveadm force-resync`; returns the seconds it took."""
    started = time.perf_counter()
    uid, gid = dovecot.mail_owner()
    maildir = dovecot.root / "home" / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    host = "bench"
    for i, (raw, when) in enumerate(mails):
        data = raw.replace(b"\r\n", b"\n")
        ts = int(when.timestamp())
        virtual = len(data) + data.count(b"\n")  # RFC822.SIZE counts CRLF line ends
        name = f"{ts}.M{i:06d}P{os.getpid()}.{host},S={len(data)},W={virtual}:2,"
        path = maildir / "cur" / name
        path.write_bytes(data)
        os.utime(path, (ts, ts))
        os.chown(path, uid, gid)
    for p in [maildir, *(maildir / s for s in ("cur", "new", "tmp"))]:
        os.chown(p, uid, gid)
    res = subprocess.run(
        ["doveadm", "-c", str(dovecot.conf), "force-resync", "-u", user, "INBOX"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if res.returncode != 0:
        raise RuntimeError(f"doveadm force-resync failed: {res.stderr}")
    return time.perf_counter() - started
