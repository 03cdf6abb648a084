"""Headless Chromium for the console's browser tests: Debian's chromium (Playwright's own
browser download is not used), and where screenshots go."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from tests.support import binaries

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """The system's chromium: a missing one fails the test under CI (which installs it) and
    skips it elsewhere, saying why (``tests/support/binaries.py``)."""
    return binaries.chromium()


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def artefacts(tmp_path: Path) -> Path:
    """Where screenshots go: ``RISKMON_TEST_ARTEFACTS`` (CI keeps it), else the test's tmp."""
    given = os.environ.get("RISKMON_TEST_ARTEFACTS")
    where = Path(given) if given else tmp_path / "artefacts"
    where.mkdir(parents=True, exist_ok=True)
    return where
