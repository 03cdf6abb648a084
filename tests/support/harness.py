"""Running the real worker as a separate process, and reading topics back, for e2e tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from cli import runfile
from local.embedded import free_port
from streams.handler import Record

ROOT = Path(__file__).parents[2]  # the repository


class Worker:
    """``riskmon run`` in its own process group, pointed at the test's servers and topics."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.web = f"http://127.0.0.1:{self.env['RISKMON_WEB_PORT']}"

    def start(self) -> Worker:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "run"],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown code runs, nothing is committed."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return int(self.proc.returncode)

    def token(self) -> str | None:
        """The run's local admin token, from its run file (None before it is written)."""
        port = int(self.env["RISKMON_WEB_PORT"])
        run = runfile.read(runfile.path_for(Path(self.env["RISKMON_RUN_FILE"]), port))
        return None if run is None else run.token

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        """Status and body of ``GET path`` with ``token`` (default: the run's own)."""
        credential = token or self.token()
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        request = urllib.request.Request(self.web + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                body = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            body, status = exc.read(), exc.code
        ctype_json = body[:1] in (b"{", b"[")
        return status, json.loads(body) if ctype_json else body.decode()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"worker not ready in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 60) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


def worker_env(
    *, bootstrap: str, redis_url: str, prefix: str, tmp: Path, partitions: int = 4
) -> dict[str, str]:
    return {
        "RISKMON_KAFKA_BOOTSTRAP": bootstrap,
        "RISKMON_REDIS_URL": redis_url,
        "RISKMON_REDIS_PREFIX": prefix,
        "RISKMON_GROUP_ID": f"riskmon-{prefix}",
        "RISKMON_EVENTS_TOPIC": f"{prefix}.events",
        "RISKMON_ALERTS_TOPIC": f"{prefix}.alerts",
        "RISKMON_TASKS_TOPIC": f"{prefix}.tasks",
        "RISKMON_DLQ_TOPIC": f"{prefix}.events.dlq",
        "RISKMON_REMINDERS_TOPIC": f"{prefix}.reminders",
        "RISKMON_AUDIT_TOPIC": f"{prefix}.audit",
        "RISKMON_PARTITIONS": str(partitions),
        "RISKMON_WEB_PORT": str(free_port()),
        "RISKMON_DATA_DIR": str(tmp / "faust-data"),
        "RISKMON_RUN_FILE": str(tmp / "run.json"),
        "RISKMON_TICK_SECONDS": "0.5",
        "RISKMON_IDLE_SECONDS": "0",
        "RISKMON_LOG_LEVEL": "warn",
    }


def read_topic(bootstrap: str, topic: str, timeout: float = 30) -> list[Record]:
    """Every record of ``topic`` from the beginning to its current end, per partition in order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[Record] = []
        deadline = time.monotonic() + timeout
        # Read to the reported end, then on until the topic is quiet: Tansu reports the end of a
        # multi-record batch as its base offset + 1, so end_offsets alone can stop short.
        quiet = 0
        while quiet < 2 or any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout}s")
            batch = consumer.poll(timeout_ms=300)
            quiet = 0 if batch else quiet + 1
            for msgs in batch.values():
                for m in msgs:
                    out.append(
                        Record(
                            topic=m.topic,
                            partition=m.partition,
                            offset=m.offset,
                            key=m.key,
                            value=m.value,
                            timestamp=m.timestamp / 1000,
                            headers=list(m.headers or []),
                        )
                    )
        out.sort(key=lambda r: (r.partition, r.offset))
        return out
    finally:
        consumer.close()


def wait_for(predicate: Any, timeout: float, interval: float = 0.5, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}: last={last!r}")


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The consumer group's committed offset of each partition of ``topic``."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic}
