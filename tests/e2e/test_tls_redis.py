"""The worker, its local token and its audit log on a Redis reachable only over TLS and only as
an ACL user (``rediss://user:password@...`` and RISKMON_REDIS_SSL_CA_CERTS): the story is
scored, looked up through the API, and the commands work on it too. A client that does not
trust the server's certificate, or comes without the user, is turned away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from streams.redis_client import connect
from tests.support.harness import ROOT, Worker, wait_for
from tests.support.tls_redis import tls_redis

USCC = "91610112MA6TGQ1K2M"


def test_the_worker_scores_on_a_tls_redis_as_an_acl_user(
    worker: Worker, env: dict[str, str], tmp_path: Path
) -> None:
    with tls_redis(tmp_path) as server:
        tls = {"RISKMON_REDIS_URL": server.url, "RISKMON_REDIS_SSL_CA_CERTS": str(server.ca)}
        worker.env |= tls
        worker.start().wait_ready()
        sent = subprocess.run(
            [sys.executable, "-m", "cli", "send", str(ROOT / "examples" / "story.jsonl")],
            cwd=ROOT,
            env={**os.environ, **env, **tls},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sent.returncode == 0, sent.stderr
        doc = wait_for(
            lambda: (
                (r := worker.get(f"/enterprises/{USCC}"))[0] == 200
                and r[1]["asof"].startswith("2026-10-10")
                and r[1]
            ),
            90,
            what="the story scored",
        )
        assert doc["class"] == "A"
        listed = subprocess.run(
            [sys.executable, "-m", "cli", "token", "list"],
            cwd=ROOT,
            env={**os.environ, **env, **tls},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0 and "local:" in listed.stdout, listed.stderr
        with pytest.raises(redis.ConnectionError):
            connect(server.url).ping()  # the certificate is not trusted
        with pytest.raises(redis.AuthenticationError):
            connect(f"rediss://127.0.0.1:{server.port}/0", ssl_ca_certs=str(server.ca)).ping()
        worker.stop()
