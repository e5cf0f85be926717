"""The auditors' report, export and Datasette pictures from a database a real agent wrote (the `audit_db` fixture:
three incidents through the real agent, Dovecot and SMTP), and the page as Debian's headless Chromium draws it at a
laptop's and a phone's width: nothing wider than the page, every chart drawn with a size."""

import asyncio
import base64
import json
import re
from html import escape
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_ops import audit_db  # noqa: F401 (the fixture)

from agent.adapters.records import Records
from agent.cli import charts, cli, review
from agent.core.story.timeline import Windows
from agent.engine import audit
from tools.browser import Browser

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def built(audit_db, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("report") / "report.html"
    done = CliRunner().invoke(cli, ["-c", str(audit_db["config"].path), "report", "--out", str(out)])
    assert done.exit_code == 0, done.output
    return dict(audit_db, html=out.read_text(encoding="utf-8"), said=done.output)


def test_the_page_is_evidence_the_head_hash_and_verify_at_build_time(built):
    verdict = audit.verify(built["store"])
    assert verdict.ok and verdict.head
    html = built["html"]
    assert f'Chain head: <span class="hash">{verdict.head}</span>' in html
    assert "PASSED" in html and escape(verdict.sentence()) in html
    assert f"head {verdict.head}" in built["said"]


def test_the_page_loads_nothing_and_runs_nothing(built):
    html = built["html"]
    assert "<script" not in html.lower()
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert "<link" not in html.lower() and "@import" not in html and "url(" not in html
    for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html):
        svg = base64.b64decode(data).decode()
        assert "<script" not in svg and "<image" not in svg and "@import" not in svg  # nothing fetched inside either
        assert not re.findall(r"""(?:xlink:)?href="(?:https?:)?//""", svg)


def test_each_incident_is_drawn_with_its_time_to_first_answer(built):
    html = built["html"]
    for incident_id in (1, 2, 3):
        assert f'id="incident-{incident_id}"' in html
    pictures = re.findall(r'<section class="incident" id="incident-(\d+)">.*?</section>', html, re.DOTALL)
    assert pictures == ["2", "3", "1"]  # the latest T1 first: 1 and 3 were sent 30 s before 2
    section_1 = html.split('id="incident-1"', 1)[1].split("</section>", 1)[0]
    assert '<div class="wait">no answer</div>' in section_1 and "no answer yet" in section_1
    section_3 = html.split('id="incident-3"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<div class="wait">\d+s</div>', section_3) and "manager@vendor.test" in section_3


def test_the_export_carries_the_same_head_hash(built, tmp_path):
    head = audit.verify(built["store"]).head
    runner = CliRunner()
    done = runner.invoke(cli, ["-c", str(built["config"].path), "export", "--format", "json", "--since", "1d"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.output)
    assert document["audit"]["head_hash"] == head and document["audit"]["audit_verify"] == "passed"
    assert [i["id"] for i in document["incidents"]] == [1, 3, 2]  # by the T1's send time
    assert {m["kind"] for m in document["mails"]} >= {"t1", "response", "own"}
    archive = tmp_path / "export.zip"
    done = runner.invoke(cli, ["-c", str(built["config"].path), "export", "--format", "csv", "--out", str(archive)])
    assert done.exit_code == 0 and f"head {head}" in done.output


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_fits_and_every_chart_is_drawn(built, width):
    with Browser() as browser:
        browser.load(built["html"], width)
        scroll, inner = browser.widths()
        assert inner == width and scroll <= inner, f"{scroll} px wide at {width} px"
        widest = browser.script(
            "return Math.max(0, ...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= inner, f"an element reaches {widest} px at {width} px"
        sizes = browser.script(
            "return [...document.querySelectorAll('img.chart')].map(i => "
            "[i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width, "
            "i.getBoundingClientRect().height])"
        )
    assert len(sizes) == 2 + 3
    for complete, natural_w, natural_h, w, h in sizes:
        assert complete and natural_w > 0 and natural_h > 0 and 0 < w <= inner and h > 0


def test_datasette_shows_each_incident_with_the_same_picture(built):
    from datasette.app import Datasette

    metadata = json.loads((REPO / "datasette" / "metadata.json").read_text())
    metadata["plugins"] = {"incident-pictures": {"config": str(built["config"].path)}}

    async def fetch():
        ds = Datasette([str(built["path"])], metadata=metadata, plugins_dir=str(REPO / "datasette" / "plugins"))
        await ds.invoke_startup()
        page = await ds.client.get("/escalation-agent/incident_pictures")
        svg = await ds.client.get("/-/incident-picture/escalation-agent/3.svg")
        missing = await ds.client.get("/-/incident-picture/escalation-agent/99.svg")
        return page, svg, missing

    page, svg, missing = asyncio.run(fetch())
    assert page.status_code == 200
    for incident_id in (1, 2, 3):
        link = f'<a href="/-/incident-picture/escalation-agent/{incident_id}.svg"><img src='
        assert link in page.text
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert missing.status_code == 404 and "no incident 99" in missing.text
    policy = built["config"].escalation.policy()
    records = Records.open(built["path"])
    try:
        same = review.one(records, Windows(policy.t2_after, policy.t3_after), 3)
    finally:
        records.close()
    assert svg.text == charts.incident_svg(same)  # the same drawing as the report's
