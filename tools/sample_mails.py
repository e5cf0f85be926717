"""Write docs/notices.md: one of each mail the agent writes, made by the real code against the local
servers, with the SOP's 30-minute windows (the agent's clock is moved on, not waited for). Each mail's
HTML part is shown by headless Chromium (tools/browser.py) at a phone's width, as docs/mails/<kind>.png.

    python tools/sample_mails.py > docs/notices.md
"""

import email
import email.policy
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO)]

from test_procedure import dsn, fresh  # noqa: E402

from agent.adapters.config import load  # noqa: E402
from agent.adapters.store import Store  # noqa: E402
from agent.engine.clock import utcnow  # noqa: E402
from agent.engine.service import Agent  # noqa: E402
from support import BOB, LOCAL, T1_ADDR, USERS, WATCHED, reply, send, t1, write_config  # noqa: E402
from tools.browser import Browser  # noqa: E402
from tools.localmail import Dovecot, SmtpRelay  # noqa: E402

PHONE = 390  # CSS pixels: the width of the PNGs, a phone's
MAILS = REPO / "docs" / "mails"

TITLES = {
    "watching": "Watching (when an incident opens)",
    "reply": "The answer to a command (#status)",
    "T2": "The T2 escalation",
    "T3": "The T3 escalation",
    "missing_items": "Missing items",
    "misrouted": "Misrouted",
    "t1_bounced": "The T1 bounced",
    "t2_bounced": "The T2 bounced",
    "rejected_t2": "The T2 rejected for good",
    "exhausted": "Every tier tried",
    "untied": "A command not tied to the thread (a #stop found by its subject alone)",
    "stand_down_t3": "The stand-down (a #stop after the T3)",
}


def sample_database(work: Path) -> Path:
    """The agent's database after the sample run: three T1s, a bounce, the clock moved on three times, then a forged
    #stop and the genuine one."""
    with Dovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL) as relay:
        cfg = load(
            write_config(
                work,
                dovecot,
                relay,
                escalation_t2_after="30m",
                escalation_t3_after="30m",
                escalation_exhausted_after="30m",
                agent_opened_notice="true",
            )
        )
        start = utcnow()
        offset = [timedelta(0)]
        agent = Agent(cfg, Store(cfg.agent.database), clock=lambda: start + offset[0])
        complete, sparse, misroute = (
            t1(subject="CreateGiftCard returns F500 since 11:15 GMT"),
            fresh("missing_items.eml"),
            fresh("misroute_uk.eml"),
        )
        for msg in (complete, sparse, misroute):
            send(relay, msg)
        agent.cycle()
        send(relay, reply(complete, sender=BOB, body="#status\n\nSent from my iPhone\n", recipients=(WATCHED,)))
        time.sleep(0.3)
        agent.cycle()
        dovecot.deliver("watch", dsn(sparse, T1_ADDR, "carol@partner.test"))
        for minutes in (31, 62, 93):
            offset[0] = timedelta(minutes=minutes)
            agent.cycle()
            time.sleep(0.3)
        forged = reply(complete, sender=BOB, body="#stop\n", recipients=(WATCHED,))
        del forged["In-Reply-To"], forged["References"]  # found by its subject alone: no tie to the thread
        send(relay, forged)
        time.sleep(0.3)
        agent.cycle()
        genuine = reply(complete, sender=BOB, body="#stop the vendor phoned\n", recipients=(WATCHED,))
        dovecot.append("watch", genuine.as_bytes(), internaldate=start + offset[0])  # on the moved clock
        time.sleep(0.3)
        agent.cycle()
        agent.close()
    return Path(cfg.agent.database)


def samples(database: Path) -> list[tuple[str, email.message.EmailMessage]]:
    """The first mail of each kind in TITLES, escalations first, as the outbox stored it."""
    store, seen, out = Store(str(database)), set(), []
    for table in ("escalations", "notices"):
        for row in store.db[table].rows_where(order_by="id"):
            kind = row.get("kind") or f"T{row['tier']}"
            kind = "reply" if kind.startswith("reply ") else "untied" if kind.startswith("untied ") else kind
            if kind in seen or kind not in TITLES:
                continue
            seen.add(kind)
            out.append((kind, email.message_from_bytes(row["raw"], policy=email.policy.default)))
    store.close()
    return out


def main() -> None:
    mails = samples(sample_database(Path(tempfile.mkdtemp(prefix="ea-samples-"))))
    MAILS.mkdir(parents=True, exist_ok=True)
    with Browser() as browser:
        for kind, m in mails:
            browser.load(m.get_body(("html",)).get_content(), PHONE)
            browser.screenshot(MAILS / f"{kind.lower()}.png")
            if kind == "T2":
                browser.load(m.get_body(("html",)).get_content(), PHONE, dark=True)
                browser.screenshot(MAILS / "t2-dark.png")
    print("# The mails the agent writes\n")
    print(
        "One of each, made by the real code against the local test servers with the SOP's 30-minute "
        "windows (the agent's clock was moved on, not waited for). Regenerate with "
        "`python tools/sample_mails.py > docs/notices.md`; the addresses are the tests' `.test` ones.\n"
    )
    print(
        "Every mail is multipart/alternative: the text part below (first, for plain-text readers) and an HTML part, "
        "shown beside it as headless Chromium draws it at a phone's width (390 px). An escalation is multipart/mixed: "
        "that alternative, then the T1 as a message/rfc822 attachment. The HTML sets no background and no text "
        "colour but the mark of a missing item, so a client's dark mode reads it too "
        "([the T2 in dark mode](mails/t2-dark.png)).\n"
    )
    for kind, m in mails:
        print(f"## {TITLES[kind]}\n")
        print('<table><tr><td valign="top">\n\n```')
        for h in ("From", "To", "Cc", "Subject", "In-Reply-To", "Auto-Submitted"):
            if m[h]:
                print(f"{h}: {m[h]}")
        print()
        print(m.get_body(("plain",)).get_content().rstrip())
        attachments = [p.get_content_type() for p in m.iter_attachments()]
        if attachments:
            print(f"\n[attached: {', '.join(attachments)}]")
        print("```\n")
        image = f'<img src="mails/{kind.lower()}.png" width="{PHONE}" alt="{TITLES[kind]}, its HTML part">'
        print(f'</td><td valign="top">{image}</td></tr></table>\n')
    print(
        "## The auditors' page\n\nThe Datasette canned queries (datasette/metadata.json) open on their results; "
        "the incident timeline of the first sample incident at a laptop's width, made by "
        "`python tools/audit_page.py`:\n\n![The incident timeline in Datasette](audit-timeline.png)"
    )


if __name__ == "__main__":
    main()
