"""End to end: a producer that is not ours publishes the story; alerts, tasks, dead letters and
the class come out where a warning centre and an operator look for them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from tests.support.builders import STORY_ALERTS
from tests.support.harness import ROOT, Worker, read_topic, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

STORY = ROOT / "examples" / "story.jsonl"
USCC = "91610112MA6TGQ1K2M"
INVALID_USCC = "91350203M0001QAY9B"


def publish_with_librdkafka(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    # librdkafka defaults to CRC32; murmur2_random agrees with Kafka's Java client.
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "acks": "all"})
    for key, value in records:
        p.produce(topic, key=key, value=value)
    assert p.flush(30) == 0


@pytest.mark.parametrize("decode_processes", ["0", "1"], ids=["inline", "decode-process"])
def test_story_end_to_end(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, decode_processes: str
) -> None:
    worker.env["RISKMON_DECODE_PROCESSES"] = decode_processes
    worker.start().wait_ready()
    story = [line for line in STORY.read_bytes().splitlines() if line.strip()]
    bad_uscc = orjson.dumps({**orjson.loads(story[1]), "id": "x-1", "subject": INVALID_USCC})
    records = [(USCC.encode(), line) for line in story]
    records += [(INVALID_USCC.encode(), bad_uscc), (USCC.encode(), b"<html>not json</html>")]
    publish_with_librdkafka(kafka_bootstrap, env["RISKMON_EVENTS_TOPIC"], records)

    def class_changes() -> list[dict[str, object]]:
        docs = [
            orjson.loads(r.value) for r in read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])
        ]
        # (supervision's alerts share the topic: the task falling overdue, for one)
        return [d for d in docs if d["type"] == "riskmon.alert.class_changed"]

    docs = wait_for(
        lambda: len(c := class_changes()) >= 6 and c, 60, what="six class-change alerts"
    )
    docs.sort(key=lambda d: d["time"])
    assert [(d["data"]["old_class"], d["data"]["new_class"]) for d in docs] == STORY_ALERTS
    d_alert = docs[2]
    assert d_alert["type"] == "riskmon.alert.class_changed"
    assert d_alert["subject"] == USCC
    assert d_alert["data"]["cause"]["type"] == "serious_violation.added"
    assert d_alert["data"]["reasons"][0]["event_type"] == "serious_violation.added"
    assert d_alert["data"]["model_version"] == "default-2026.1"

    def triggers() -> list[str]:
        tasks = read_topic(kafka_bootstrap, env["RISKMON_TASKS_TOPIC"])
        return [orjson.loads(t.value)["data"]["trigger"] for t in tasks]

    # one task per trigger: the observation period's interview and on-site task, the listing's
    # on-site task, and the spot-check plan's
    want = ["observation_interview", "observation_trigger", "serious_violation", "random_plan"]
    found = wait_for(lambda: len(t := triggers()) >= 4 and t, 30, what="the story's tasks")
    assert sorted(found) == sorted(want)

    dead = wait_for(
        lambda: len(d := read_topic(kafka_bootstrap, env["RISKMON_DLQ_TOPIC"])) >= 2 and d,
        30,
        what="two dead letters",
    )
    by_reason = {dict(r.headers)["dlq_reason"].decode(): r for r in dead}
    assert set(by_reason) == {"invalid_uscc", "not_json"}
    assert by_reason["not_json"].value == b"<html>not json</html>"  # unchanged bytes
    assert by_reason["invalid_uscc"].value == bad_uscc
    h = dict(by_reason["not_json"].headers)
    assert h["dlq_topic"].decode() == env["RISKMON_EVENTS_TOPIC"]
    assert int(h["dlq_offset"]) >= 0 and int(h["dlq_partition"]) >= 0

    status, doc = worker.get(f"/enterprises/{USCC}")
    assert status == 200
    assert doc["class"] == "A"
    assert doc["model_version"] == "default-2026.1"
    cancelled = {c["event_type"] for c in doc["contributions"] if c["cancelled"]}
    assert cancelled == {"penalty.imposed", "abnormal_list.added", "serious_violation.added"}
    assert doc["profile"]["division_code"] == "610112"
    assert worker.get("/enterprises/91110000600037341L")[0] == 404
    assert worker.get(f"/enterprises/{INVALID_USCC}")[0] == 400

    status, text = worker.get("/metrics")
    assert status == 200
    assert 'riskmon_dead_letters_total{reason="invalid_uscc"} 1.0' in text
    assert 'riskmon_class_transitions_total{from_class="C",to_class="D"} 1.0' in text

    lookup = subprocess.run(
        [sys.executable, "-m", "cli", "lookup", USCC],
        env={**_env_for_cli(env)},
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert lookup.returncode == 0, lookup.stderr
    assert f"{USCC}  class A" in lookup.stdout
    assert "cancelled  serious_violation.added" in lookup.stdout

    assert worker.stop() == 0


def _env_for_cli(env: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, **env}


def test_riskmon_send_publishes_the_story(
    worker: Worker, env: dict[str, str], tmp_path: Path
) -> None:
    worker.start().wait_ready()
    sent = subprocess.run(
        [sys.executable, "-m", "cli", "send", str(STORY)],
        env=_env_for_cli(env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert sent.returncode == 0, sent.stderr
    lines = [line for line in STORY.read_bytes().splitlines() if line.strip()]
    assert f"sent {len(lines)} event(s)" in sent.stdout
    status_doc = wait_for(
        lambda: (
            (r := worker.get(f"/enterprises/{USCC}"))[0] == 200
            and r[1]["asof"].startswith("2026-10-10")
            and r[1]
        ),
        60,
        what="the story applied",
    )
    assert status_doc["class"] == "A"


def test_send_refuses_an_invalid_file_and_sends_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(STORY.read_text().splitlines()[0] + "\n{not json\n")
    sent = subprocess.run(
        [sys.executable, "-m", "cli", "send", str(bad)],
        env=_env_for_cli(env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert sent.returncode == 2
    assert "line 2: not_json" in sent.stderr
    assert "nothing sent" in sent.stderr
