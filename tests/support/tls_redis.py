"""A redis-server of the test's own, reachable only over TLS and only as an ACL user."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from local.embedded import free_port
from streams.redis_client import connect
from tests.support.certs import self_signed

USER, PASSWORD = "riskmon", "acl-pass-for-tests"


@dataclass(frozen=True)
class TlsRedis:
    url: str  # rediss://user:password@127.0.0.1:port/0
    ca: Path
    port: int


@contextmanager
def tls_redis(directory: Path) -> Iterator[TlsRedis]:
    """Start redis-server (from PATH) with TLS only and ``default`` off; stop it after."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not on PATH (Debian package redis-server)")
    cert, key = self_signed(directory, "redis-tls")
    port = free_port()
    conf = directory / "redis-tls.conf"
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f"tls-port {port}",
                f"tls-cert-file {cert}",
                f"tls-key-file {key}",
                f"tls-ca-cert-file {cert}",
                "tls-auth-clients no",
                'save ""',
                "appendonly no",
                f"dir {directory}",
                "user default off",
                f"user {USER} on >{PASSWORD} ~* &* +@all",
            ]
        )
        + "\n"
    )
    log = (directory / "redis-tls.log").open("wb")
    proc = subprocess.Popen([binary, str(conf)], stdout=log, stderr=subprocess.STDOUT)
    url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if connect(url, ssl_ca_certs=str(cert)).ping():
                    break
            except redis.RedisError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield TlsRedis(url, cert, port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
