"""Write docs/report.png: `escalation-agent report` over the demo's database, as headless Chromium (tools/browser.py)
shows it at a laptop's width.

The database is the one tools/demo.py leaves in demo-run/ (the demo is run first when there is none, or with
--demo): two incidents, one that climbed T1 -> T2 -> T3 and one the vendor answered in seconds.

    python tools/report_page.py [--demo]
"""

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tools.browser import Browser  # noqa: E402

LAPTOP = 1280  # CSS pixels
DEMO = REPO / "demo-run"


def main() -> None:
    if "--demo" in sys.argv or not (DEMO / "state.db").exists():
        subprocess.run([sys.executable, str(REPO / "tools" / "demo.py")], check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="ea-report-") as work:
        page = Path(work) / "report.html"
        command = [sys.executable, "-m", "agent", "-c", str(DEMO / "config.ini"), "report", "--out", str(page)]
        print(subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout.strip())
        with Browser() as browser:
            browser.load(page.read_text(encoding="utf-8"), LAPTOP)
            width, inner = browser.widths()
            browser.screenshot(REPO / "docs" / "report.png")
    print(f"docs/report.png: the demo's report at {inner} px, page {width} px wide")


if __name__ == "__main__":
    main()
