"""Each mail's HTML part as a real browser draws it: Debian's headless Chromium, driven through /usr/bin/chromedriver
(tools/browser.py; scripts/setup installs both). At a phone's width (390 px) and a desktop's (1000 px) no mail needs
sideways scrolling, not even with a 90-character Message-ID and a 60-character address; at the desktop's the SOP
table keeps to its 640 px column; in a dark mode the client's own colours show it. The auditors' Datasette page
opens on its results and fits a laptop."""

import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from test_compose import HOSTILE_T1, T0, hostile_t2, notice_mails, t2

from agent.core.procedure.items import ITEMS
from agent.core.procedure.policy import Status
from agent.core.sop import Tier
from agent.core.writing import notices
from agent.core.writing.compose import Original, Step, notice
from agent.core.writing.escalation import escalation
from tools.browser import Browser

pytestmark = pytest.mark.integration
WIDTHS = (390, 1000)
LONG_ID = "<" + "0123456789" * 7 + "abcde@partner.test>"  # 90 characters, no dot to break at
LONG_ADDRESS = "alice.engineer.on.call.for.the.incentives.apis1@partner.test"  # 60 characters
assert len(LONG_ID) == 90 and len(LONG_ADDRESS) == 60

COMPLETE = replace(
    HOSTILE_T1,
    subject="CreateGiftCard returns F500 since 11:15 GMT",
    text="Contact phone number: +1-555-0100\nPartner ID: Acmes\n",
    items=tuple((i.label, f"the {i.label.lower()} as the T1 gives it") for i in ITEMS if not i.physical_only),
)
LONG = Original(
    LONG_ID,
    "API down " + "x" * 80,
    LONG_ADDRESS,
    ("urgent@vendor.test", LONG_ADDRESS),
    (LONG_ID,),
    T0,
    "A line of the T1 with a long word: " + "y" * 150 + "\n",
    b"From: " + LONG_ADDRESS.encode() + b"\r\nMessage-ID: " + LONG_ID.encode() + b"\r\n\r\nbody\r\n",
    items=(("Contact email", LONG_ADDRESS), ("Example request ID", "Z" * 90)),
)


def escalate(original, tier, steps):
    return escalation(
        original,
        tier,
        steps,
        timedelta(minutes=30),
        to=f"{tier.label.lower()}@vendor.test",
        cc=(LONG_ADDRESS, "watch@partner.test"),
        from_address="agent@partner.test",
        message_id=LONG_ID,
        now=steps[-1].sent_at + timedelta(minutes=30),
    )


def mails():
    t1 = Step(Tier.T1, "urgent@vendor.test", T0, LONG_ID)
    t2_step = Step(Tier.T2, LONG_ADDRESS, T0 + timedelta(minutes=30), LONG_ID, Status.SENT)
    long_notice = notice(
        LONG,
        *notices.exhausted((t1, t2_step), "30 minutes"),
        to=(LONG_ADDRESS,),
        cc=("watch@partner.test",),
        from_address="agent@partner.test",
        message_id=LONG_ID,
        now=T0,
    )
    return {
        "T2": escalate(COMPLETE, Tier.T2, (t1,)),
        "T3": escalate(COMPLETE, Tier.T3, (t1, t2_step)),
        "T2, no items": t2(),
        "T2, hostile T1": hostile_t2(),
        "T3, long ids": escalate(LONG, Tier.T3, (t1, t2_step)),
        "notice, long ids": long_notice,
        **{f"notice {kind}": msg for kind, msg in notice_mails().items()},
        "T2, API check": api_checked(),
    }


def api_checked():
    """A T2 with the [probe] evidence: the sentence with a long untrusted evidence line, and a full strip."""
    from agent.core.procedure import probe

    runs = [
        probe.Run(T0 + timedelta(seconds=47 * i), i > 33, "F500 GeneralError requestId=" + "R" * 120) for i in range(37)
    ]
    t1 = Step(Tier.T1, "urgent@vendor.test", T0, LONG_ID)
    return escalation(
        COMPLETE,
        Tier.T2,
        (t1,),
        timedelta(minutes=30),
        to="t2@vendor.test",
        cc=(LONG_ADDRESS,),
        from_address="agent@partner.test",
        message_id=LONG_ID,
        now=T0 + timedelta(minutes=30),
        api_check=probe.summarise(runs),
    )


MAILS = mails()


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def html_of(msg) -> str:
    return msg.get_body(("html",)).get_content()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(MAILS))
def test_no_mail_scrolls_sideways(browser, name, width):
    browser.load(html_of(MAILS[name]), width)
    scroll, inner = browser.widths()
    assert inner == width  # a phone's viewport zooms out (grows) to show a page wider than itself
    assert scroll <= inner, f"{name}: {scroll} px wide at {width} px"
    widest = browser.script(
        "return Math.max(0, ...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= inner, f"{name}: an element reaches {widest} px at {width} px"


@pytest.mark.parametrize("name", ["T2", "T3", "T3, long ids"])
def test_the_sop_table_is_compact_at_a_desktops_width(browser, name):
    browser.load(html_of(MAILS[name]), 1000)
    table = browser.script("return document.querySelector('table[border=\"1\"]').getBoundingClientRect().width")
    assert 300 <= table <= 640
    cells = browser.script('return document.querySelectorAll(\'table[border="1"] th, table[border="1"] td\').length')
    assert cells >= 2 * 12


def _luminance(rgb: str) -> float:
    r, g, b = (int(x) / 255 for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("name", ["T2", "T2, no items", "notice t1_bounced", "notice misrouted_all", "T2, API check"])
def test_a_dark_mode_shows_the_clients_own_colours(browser, name):
    browser.load(html_of(MAILS[name]), 390, dark=True)
    backgrounds = browser.script(
        "return [...document.querySelectorAll('body, body *')].map(e => getComputedStyle(e).backgroundColor)"
    )
    assert set(backgrounds) == {"rgba(0, 0, 0, 0)"}  # nothing painted behind the text
    canvas = browser.script("return getComputedStyle(document.documentElement).backgroundColor")
    text = browser.script("return getComputedStyle(document.querySelector('p')).color")
    assert _luminance(canvas) < 0.2 and _luminance(text) > 0.8, (canvas, text)
    browser.load(html_of(MAILS[name]), 390)
    text = browser.script("return getComputedStyle(document.querySelector('p')).color")
    assert _luminance(text) < 0.2  # the same page, light


def test_the_audit_timeline_opens_on_its_results_and_fits_a_laptop(browser):
    from tools.audit_page import LAPTOP, audit_database, serve

    with tempfile.TemporaryDirectory(prefix="ea-audit-") as work, serve(audit_database(Path(work))) as base:
        browser.open(f"{base}/incident_timeline?id=1", LAPTOP)
        scroll, inner = browser.widths()
        assert scroll <= inner == LAPTOP
        assert browser.script("return document.querySelector('textarea, pre.wrapped-sql')") is None  # no SQL shown
        headers = browser.script(
            "return [...document.querySelectorAll('table.rows-and-columns th')].map(e => e.innerText)"
        )
        assert headers[:4] == ["at", "kind", "detail", "reason"]
        assert browser.script("return document.querySelectorAll('table.rows-and-columns tbody tr').length") > 10


def test_the_original_in_every_mail_is_quoted_in_a_blockquote():
    for name, msg in MAILS.items():
        markup = html_of(msg)
        assert markup.count("<blockquote") == 1 + ("bounced" in name or "rejected" in name), name
    assert "&lt;t1@partner.test&gt;" in html_of(MAILS["T2, no items"])
