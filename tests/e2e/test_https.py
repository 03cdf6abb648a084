"""The API over HTTPS, served by the worker itself with a certificate (RISKMON_WEB_TLS_*): a
client that trusts the certificate gets its answers, with the token; plain HTTP gets none; and
the run file tells the commands to use https."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

from cli import runfile
from tests.support.certs import self_signed
from tests.support.harness import Worker


def test_the_api_serves_https_with_its_certificate(worker: Worker, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    worker.env |= {"RISKMON_WEB_TLS_CERTFILE": str(cert), "RISKMON_WEB_TLS_KEYFILE": str(key)}
    worker.start()
    https = worker.web.replace("http://", "https://")
    trusting = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 90
    while True:
        assert worker.proc is not None and worker.proc.poll() is None, worker.log_tail()
        try:
            with urllib.request.urlopen(f"{https}/readyz", context=trusting, timeout=2) as r:
                if r.status == 200:
                    break
        except (OSError, urllib.error.URLError):
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.5)
    token = worker.token()
    request = urllib.request.Request(
        f"{https}/enterprises/91610112MA6TGQ1K2M", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        urllib.request.urlopen(request, context=trusting, timeout=5)
    except urllib.error.HTTPError as exc:  # unknown yet: 404, over TLS, past the guard
        assert exc.code == 404 and json.loads(exc.read())["error"] == "unknown enterprise"
    # a client that does not trust the certificate is refused; plain HTTP gets no answer
    try:
        urllib.request.urlopen(f"{https}/healthz", context=ssl.create_default_context(), timeout=5)
        raise AssertionError("an untrusted certificate was accepted")
    except urllib.error.URLError as exc:
        assert isinstance(exc.reason, ssl.SSLCertVerificationError)
    try:
        with urllib.request.urlopen(f"{worker.web}/healthz", timeout=5) as r:
            raise AssertionError(f"plain HTTP answered {r.status}")
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    run = runfile.read(
        runfile.path_for(Path(worker.env["RISKMON_RUN_FILE"]), int(worker.env["RISKMON_WEB_PORT"]))
    )
    assert run is not None and run.web == https
