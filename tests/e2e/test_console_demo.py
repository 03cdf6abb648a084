"""``riskmon demo`` starts the console beside the worker and prints a login link: opened in a
browser, it logs in with no other step and shows the district's alerts as they come."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from local.embedded import free_port
from tests.support.browser import artefacts, chromium
from tests.support.harness import ROOT, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DEMO_ARGS = ("--enterprises", "120", "--seed", "3", "--rate", "300", "--seconds", "150")


def test_the_demo_opens_the_console(tmp_path: Path) -> None:
    console_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RISKMON_KAFKA_BOOTSTRAP", "RISKMON_REDIS_URL")
    }
    env |= {
        "RISKMON_WEB_PORT": str(free_port()),
        "RISKMON_CONSOLE_PORT": str(console_port),
        "RISKMON_RUN_FILE": str(tmp_path / "run.json"),
        "RISKMON_TICK_SECONDS": "0.5",
    }
    out_path = tmp_path / "demo.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "demo", *DEMO_ARGS, "--plan-seconds", "0"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def link() -> str | None:
            assert proc.poll() is None, out_path.read_text()
            found = re.search(r"log in: (http://\S+/login#token=rmk_\S+)", out_path.read_text())
            return found.group(1) if found else None

        url = wait_for(link, 180, what="the console's login link")
        assert f":{console_port}/" in url
        # The token is on no command line (the demo's or the console's).
        token = url.split("#token=", 1)[1]
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert token.encode() not in cmdline
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            expect(page.locator("h1")).to_contain_text("实时预警")
            expect(page.locator("#actor")).to_contain_text("token:demo-console")
            rows = page.locator('#feed tr[data-type="riskmon.alert.class_changed"]')
            expect(rows.first).to_be_visible(timeout=90_000)
            page.screenshot(path=str(artefacts(tmp_path) / "console-demo.png"), full_page=True)
            print(f"screenshot: {artefacts(tmp_path) / 'console-demo.png'}")
            # The demo's token is a supervisor's: the task board shows the D entries' tasks.
            page.goto(url.split("/login#", 1)[0] + "/board/tasks")
            page.wait_for_load_state()
            cards = page.locator('.column[data-state="created"] .card')
            for _ in range(30):  # tasks come as the history is fed: look again until one is
                if cards.count():
                    break
                page.wait_for_timeout(2_000)
                page.reload()
            expect(cards.first).to_be_visible()
            page.screenshot(path=str(artefacts(tmp_path) / "console-tasks.png"), full_page=True)
    finally:
        os.killpg(proc.pid, 2)  # Ctrl-C
        proc.wait(timeout=120)
    assert "nothing left running" in out_path.read_text()
