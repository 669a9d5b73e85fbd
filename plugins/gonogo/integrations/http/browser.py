"""A page in a real headless browser: the system's Chromium driven by Playwright.

Playwright's sync API runs an event loop on greenlets and threads of its own;
pytest's process is no place for it (nor for a browser download: only the
browser already installed, ``/usr/bin/chromium`` by default, is used). So
:func:`check_page` runs this module as ``python -m gonogo.integrations.http.browser`` in a
child process with a deadline, and reads the JSON it prints: the HTTP status,
each expected element's text, console errors, uncaught page errors and the
screenshot's path."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gonogo.errors import ProbeError

CHROMIUM = Path(os.environ.get("GONOGO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@dataclass
class PageReport:
    """What the browser saw."""

    url: str
    status: int | None = None
    title: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    """Selector -> the element's text, for each expected element found."""
    missing: list[str] = field(default_factory=list)
    """Expected selectors with no visible element."""
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    screenshot: str | None = None
    error: str | None = None
    """The page could not be loaded or waited for at all."""

    def problems(self) -> list[str]:
        found = []
        if self.error:
            found.append(self.error)
        if self.status is not None and not 200 <= self.status < 400:
            found.append(f"page answered HTTP {self.status}")
        if self.missing:
            found.append(f"elements not rendered: {', '.join(self.missing)}")
        found += [f"console error: {message}" for message in self.console_errors]
        found += [f"page error: {message}" for message in self.page_errors]
        return found


def check_page(
    url: str,
    *,
    selectors: list[str],
    screenshot: Path,
    wait_for: str | None = None,
    timeout_s: float = 30.0,
    chromium: Path = CHROMIUM,
) -> PageReport:
    """Open ``url`` in headless Chromium and report on it.

    ``wait_for`` is a selector that must appear before the page counts as
    rendered (a script finished filling it in). The whole visit, browser
    start included, is bounded by ``timeout_s``."""
    if not chromium.exists():
        raise ProbeError(
            f"no browser at {chromium}; install Debian's chromium (apt-get install chromium) "
            "or set GONOGO_CHROMIUM to its path"
        )
    command = [
        sys.executable,
        "-m",
        "gonogo.integrations.http.browser",
        url,
        "--screenshot",
        str(screenshot),
        "--timeout",
        str(timeout_s),
        "--chromium",
        str(chromium),
    ]
    for selector in selectors:
        command += ["--selector", selector]
    if wait_for:
        command += ["--wait-for", wait_for]
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s + 30, env=env, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise ProbeError(f"browser did not finish with {url} within {timeout_s + 30:g} s") from e
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise ProbeError(
            f"browser process failed (exit {done.returncode}): {done.stderr.strip()[-400:]}"
        )
    data: dict[str, Any] = json.loads(lines[-1])
    return PageReport(**data)


def _visit(args: argparse.Namespace) -> PageReport:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    report = PageReport(url=args.url)
    timeout_ms = args.timeout * 1000
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium,
            headless=True,
            args=list(CHROMIUM_ARGS),
            timeout=timeout_ms,
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout_ms)
            page.on(
                "console",
                lambda msg: report.console_errors.append(msg.text) if msg.type == "error" else None,
            )
            page.on("pageerror", lambda error: report.page_errors.append(str(error)))
            try:
                response = page.goto(args.url, wait_until="load")
                report.status = response.status if response else None
                if args.wait_for:
                    page.wait_for_selector(args.wait_for, state="attached")
                page.wait_for_load_state("networkidle")
            except PlaywrightError as e:
                report.error = f"page did not load: {str(e).splitlines()[0]}"
            report.title = page.title()
            for selector in args.selector:
                element = page.query_selector(selector)
                if element is None or not element.is_visible():
                    report.missing.append(selector)
                else:
                    report.texts[selector] = element.inner_text().strip()[:500]
            page.screenshot(path=args.screenshot, full_page=True)
            report.screenshot = args.screenshot
        finally:
            browser.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gonogo.integrations.http.browser")
    parser.add_argument("url")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--selector", action="append", default=[])
    parser.add_argument("--wait-for", default=None)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--chromium", default=str(CHROMIUM))
    args = parser.parse_args(argv)
    report = _visit(args)
    print(json.dumps(report.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
