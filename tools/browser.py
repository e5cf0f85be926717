"""Debian's headless Chromium, driven by selenium through /usr/bin/chromedriver: nothing is downloaded.

    with Browser() as browser:
        browser.load(html, width=390)          # a page at a phone's width
        browser.widths()                       # (document scrollWidth, innerWidth)
        browser.screenshot(Path("x.png"))      # the whole page

Chromium runs as root with --no-sandbox and a fresh profile, offline (no background networking, no component
updates, no sync). chromedriver is started in a process group of its own, which is ended by its id when the
Browser closes, so no Chromium outlives a run.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import tempfile
from pathlib import Path
from types import TracebackType

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--no-proxy-server",
)


def available() -> bool:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        return False
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return True


class Browser:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ea-chromium-"))
        self.driver = None
        self.service = None

    def __enter__(self) -> Browser:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={self.dir / 'profile'}"):
            options.add_argument(flag)
        self.service = Service(CHROMEDRIVER, popen_kw={"start_new_session": True})
        try:
            self.driver = webdriver.Chrome(options=options, service=self.service)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            process = getattr(self.service, "process", None)
            if process is not None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)  # our chromedriver's own group: what quit() left
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
            self.driver = None
            shutil.rmtree(self.dir, ignore_errors=True)

    def load(self, html: str, width: int, height: int = 800, dark: bool = False) -> None:
        """The page at a viewport of `width` CSS pixels: a phone's (mobile, its meta viewport honoured) under 600."""
        page = self.dir / "page.html"
        page.write_text(html, encoding="utf-8")
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        scheme = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": scheme})
        self.driver.get(page.as_uri())

    def open(self, url: str, width: int, height: int = 800) -> None:
        """A page served on this machine (loopback only), at a viewport of `width` CSS pixels."""
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        self.driver.get(url)

    def widths(self) -> tuple[int, int]:
        """(document scrollWidth, innerWidth): the first over the second means sideways scrolling."""
        return tuple(self.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]"))

    def script(self, source: str, *args: object) -> object:
        return self.driver.execute_script(source, *args)

    def screenshot(self, path: Path) -> None:
        """The whole page, beyond the viewport, as a PNG."""
        width, height = self.driver.execute_script(
            "return [window.innerWidth, Math.ceil(document.body.getBoundingClientRect().bottom + window.scrollY)]"
        )
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        path.write_bytes(base64.b64decode(shot["data"]))
