"""``riskmon console`` as a newcomer runs it: after ``riskmon run``, with nothing configured,
it finds the run's broker and Redis in the run file; and over HTTPS its session cookie is
``Secure``."""

from __future__ import annotations

import http.client
import json
import re
import ssl
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.certs import self_signed
from tests.support.console import ConsoleProcess
from tests.support.harness import Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_the_console_finds_a_running_worker_in_its_run_file(
    worker: Worker, env: dict[str, str], tmp_path: Path
) -> None:
    worker.start().wait_ready()
    alone = {
        k: v for k, v in env.items() if k not in ("RISKMON_KAFKA_BOOTSTRAP", "RISKMON_REDIS_URL")
    }
    alone["RISKMON_ACKS_TOPIC"] = f"{env['RISKMON_REDIS_PREFIX']}.acks"
    console = ConsoleProcess(alone, tmp_path / "console.log", args=["--print-login"]).start()
    try:
        link = wait_for(
            lambda: re.search(r"log in: (\S+#token=(rmk_\S+))", console.log()), 30, what="the link"
        )
        assert link.group(1).startswith(console.url + "/login#token=")
        token = worker.token()
        assert link.group(2) == token  # the run's local admin token, from its run file
        request = urllib.request.Request(
            console.url + "/alerts", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert json.loads(resp.read()) == {"alerts": [], "next": None}
    finally:
        console.stop()


def test_over_https_the_session_cookie_is_secure(
    env: dict[str, str], tmp_path: Path, worker: Worker
) -> None:
    worker.start().wait_ready()
    cert, key = self_signed(tmp_path)
    tls_env = {**env, "RISKMON_WEB_TLS_CERTFILE": str(cert), "RISKMON_WEB_TLS_KEYFILE": str(key)}
    tls_env["RISKMON_ACKS_TOPIC"] = f"{env['RISKMON_REDIS_PREFIX']}.acks"
    console = ConsoleProcess(tls_env, tmp_path / "console.log", ca=cert).start()
    try:
        token = worker.token()
        assert token is not None
        host, port = console.url.removeprefix("https://").split(":")
        conn = http.client.HTTPSConnection(
            host, int(port), context=ssl.create_default_context(cafile=str(cert)), timeout=10
        )
        body = urllib.parse.urlencode({"token": token, "next": "/"})
        conn.request(
            "POST",
            "/login",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": console.url},
        )
        resp = conn.getresponse()
        cookie = resp.getheader("Set-Cookie") or ""
        assert resp.status == 303 and resp.getheader("Location") == "/"
        assert cookie.startswith("riskmon_console=")
        assert {"HttpOnly", "Secure", "SameSite=Strict"} <= {
            part.strip() for part in cookie.split(";")
        }
        conn.close()
    finally:
        console.stop()
