"""Spot-check plans (``riskmon plan``): draw from the live store, publish, record, list.

* :func:`draw_live` reads the directory from Redis (``supervision/store/directory.py``) at the
  store's newest event time (``scoring.store.newest_asof``), applies the preset's exclusions
  and the scope (``supervision/eligibility.py``) and draws (``supervision/plan.py``). A pool too
  small for a task raises ``DrawError`` here, before anything is sent.
* :func:`publish` sends one ``riskmon.task.planned`` CloudEvent per task to the events topic
  (source ``PLANS_SOURCE``, id the task id, key and subject the USCC, time the plan's as-of
  time), so publishing a plan twice sends the very same events and the worker, which turns
  each into a ``riskmon.task.created`` (trigger ``random_plan``), drops the repeats.
* Publishing a plan makes its inspectors the enterprises' previous ones (``sup:last``), so a
  new draw from the store afterwards is a different plan (no inspector twice in a row): to send
  a plan again, publish its file (``riskmon plan publish``), which verifies it first.
* :func:`record` writes the plan's summary (:func:`summary`) to the plans topic, keyed by the
  plan id: every draw, published or not. :func:`list_plans` reads them back, latest per plan.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import redis

from jobs.topic_reader import read_to_end
from schemas.codec import CreditEvent, dumps, encode_event, loads
from schemas.events import PLANS_SOURCE, EventType, TaskPlanned
from scoring.store import Keys, newest_asof
from supervision.eligibility import eligible
from supervision.exceptions import PlanError
from supervision.inspectors import Inspector
from supervision.plan import make_plan
from supervision.preset import Preset
from supervision.scope import Scope
from supervision.store.directory import read_directory

__all__ = [
    "EmptyStoreError",
    "draw_live",
    "list_plans",
    "publish",
    "read_plan",
    "record",
    "summary",
    "task_events",
]

#: How long a command waits for the broker to answer at all.
_CONNECT_MS = 10_000


class EmptyStoreError(PlanError):
    """The store holds no enterprise with a class: there is nothing to draw from."""


def draw_live(
    client: redis.Redis,
    prefix: str,
    partitions: int,
    *,
    name: str,
    preset: Preset,
    scope: Scope,
    pool: Sequence[Inspector],
    conflicts: Mapping[str, frozenset[str]],
    seed: int,
    per_task: int,
) -> dict[str, Any]:
    """The plan drawn from the store under ``prefix`` now (see the module). Raises
    :class:`EmptyStoreError`, ``DrawError``, or redis-py's errors."""
    asof = newest_asof(client, Keys(prefix), partitions)
    directory, versions = [], Counter[str]()
    for listing, version in read_directory(client, prefix, partitions, asof):
        directory.append(listing)
        versions[version] += 1
    if not directory or not asof:
        raise EmptyStoreError(f"no enterprise with a class under prefix {prefix!r}: run a worker")
    snapshot, excluded = eligible(directory, preset, scope, asof, conflicts)
    return make_plan(
        name=name,
        preset=preset,
        scope=scope,
        seed=seed,
        per_task=per_task,
        # The classes drawn from are those of the model the states were written under (more
        # than one only while a reclassification is under way).
        model_version=",".join(sorted(versions)),
        asof=asof,
        snapshot=snapshot,
        pool=pool,
        excluded=excluded,
    )


def task_events(plan: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """The ``riskmon.task.planned`` events of ``plan``, as (key, value) records (pure)."""
    when = dt.datetime.fromisoformat(str(plan["asof"]))
    out = []
    for t in plan["tasks"]:
        event = CreditEvent(
            id=t["task_id"],
            source=PLANS_SOURCE,
            type=EventType.TASK_PLANNED,
            subject=t["uscc"],
            time=when,
            data=TaskPlanned(
                task_id=t["task_id"],
                plan_id=plan["plan_id"],
                class_at_draw=t["class"],
                inspectors=list(t["inspectors"]),
                domain=str(plan.get("domain", "")),
            ),
        )
        out.append((t["uscc"].encode(), encode_event(event)))
    return out


def summary(plan: Mapping[str, Any], *, published: bool, drawn_at: str) -> dict[str, Any]:
    """What the plans topic keeps of a draw: the plan without its snapshot, pool and tasks'
    inspectors; ``drawn_at`` is the wall-clock time of the draw (ISO 8601)."""
    return {
        "plan_id": plan["plan_id"],
        "name": plan["name"],
        "preset": plan["preset"],
        "seed": plan["seed"],
        "per_task": plan["per_task"],
        "scope": plan["scope"],
        "domain": plan["domain"],
        "model_version": plan["model_version"],
        "asof": plan["asof"],
        "directory_digest": plan["directory_digest"],
        "inspector_digest": plan["inspector_digest"],
        "strata": plan["strata"],
        "tasks": len(plan["tasks"]),
        "published": published,
        "drawn_at": drawn_at,
    }


def _producer(bootstrap: str, config: Mapping[str, Any] | None) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        linger_ms=5,
        bootstrap_timeout_ms=_CONNECT_MS,
        **(config or {}),
    )


def publish(
    plan: Mapping[str, Any],
    bootstrap: str,
    events_topic: str,
    config: Mapping[str, Any] | None = None,
) -> int:
    """Send the plan's task events (:func:`task_events`) and wait for the broker's acks; how
    many. ``config``: kafka-python's TLS and SASL arguments
    (``streams.connections.kafka_python_config``). Raises kafka-python's ``KafkaError``."""
    records = task_events(plan)
    producer = _producer(bootstrap, config)
    try:
        for key, value in records:
            producer.send(events_topic, key=key, value=value)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return len(records)


def record(
    plan: Mapping[str, Any],
    bootstrap: str,
    plans_topic: str,
    partitions: int,
    *,
    published: bool,
    config: Mapping[str, Any] | None = None,
) -> None:
    """Write the plan's :func:`summary` to ``plans_topic`` (created if missing), keyed by its
    id. Raises kafka-python's ``KafkaError`` or ``TopicError``."""
    from streams.topics import TopicSpec, ensure_topics

    ensure_topics(bootstrap, [TopicSpec(plans_topic, partitions)], client_config=config)
    drawn_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    value = dumps(summary(plan, published=published, drawn_at=drawn_at))
    producer = _producer(bootstrap, config)
    try:
        producer.send(plans_topic, key=str(plan["plan_id"]).encode(), value=value)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)


def list_plans(
    bootstrap: str, plans_topic: str, config: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every plan recorded on ``plans_topic``, the latest record of each (``published`` true if
    any record of it was), oldest draw first. [] if the topic does not exist."""
    plans: dict[str, dict[str, Any]] = {}
    for value in read_to_end(bootstrap, plans_topic, config, timeout_seconds=60):
        try:
            doc = loads(value)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "plan_id" not in doc:
            continue
        before = plans.get(doc["plan_id"])
        doc["published"] = bool(doc.get("published")) or bool(before and before.get("published"))
        plans[doc["plan_id"]] = doc
    return sorted(plans.values(), key=lambda d: str(d.get("drawn_at", "")))


def read_plan(path: Path) -> dict[str, Any]:
    """A plan JSON file. Raises ``PlanFileError`` naming the file."""
    from supervision.exceptions import PlanFileError

    try:
        doc = loads(path.read_bytes())
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PlanFileError(f"{path}: not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PlanFileError(f"{path}: not a plan (a JSON object)")
    return doc
