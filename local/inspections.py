"""The demo's inspection office: the live district's random spot checks, through plans.

Once the district's history is fed, every ``every`` seconds it draws a spot-check plan from the
live store as ``riskmon plan draw`` does (``jobs/plans.py``: preset ``henan-2021``, the
district's inspector pool, seed ``<demo seed> * 1000 + <plan number>``), publishes its tasks and
records it, then carries the tasks out over the period: one ``inspection.completed`` per task,
naming its ``task_id``, event time the wall clock, the result drawn from the enterprise's hidden
propensity (``district.conduct.inspection_result``). So the discovery rate per class at draw
(``GET /stats/discovery``) is the model judged by outcomes it never saw.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from kafka.errors import KafkaError

from district.conduct import inspection_result
from district.enterprises import CST
from district.generator import DistrictSpec, enterprises
from district.staff import inspector_pool
from jobs.plans import draw_live, publish, record
from local.feed import Pacer, PublishError
from local.feed import publish as send
from schemas.codec import CreditEvent, encode_event
from schemas.events import EventType, InspectionCompleted
from streams.connections import kafka_python_config, redis_options
from streams.redis_client import connect
from streams.settings import Settings
from streams.topics import TopicError
from supervision.exceptions import PlanError
from supervision.inspectors import parse_pool
from supervision.preset import load_preset
from supervision.scope import Scope

__all__ = ["PRESET", "InspectionOffice", "inspections"]

#: The preset of the demo's plans: the one whose published outcomes riskmon is judged against.
PRESET = "henan-2021"
#: The share of a period over which its tasks are carried out (the rest is slack).
_BUSY = 0.8


def inspections(
    plan: Mapping[str, Any],
    propensity: Mapping[str, tuple[float, str]],
    rng: random.Random,
    clock: Callable[[], dt.datetime],
) -> Iterator[tuple[bytes, bytes]]:
    """The ``inspection.completed`` record of each task of ``plan`` (pure but for ``clock``,
    read as each record is made): ``propensity`` maps a USCC to (propensity, division)."""
    for task in plan["tasks"]:
        uscc = task["uscc"]
        p, division = propensity.get(uscc, (0.0, "610112"))
        event = CreditEvent(
            id=f"{task['task_id']}-result",
            source=f"/sjjc/{division}",
            type=EventType.INSPECTION_COMPLETED,
            subject=uscc,
            time=clock().replace(microsecond=0).astimezone(CST),
            data=InspectionCompleted.model_validate(
                {
                    "result": inspection_result(rng, p),
                    "plan_id": plan["plan_id"],
                    "task_id": task["task_id"],
                }
            ),
        )
        yield uscc.encode(), encode_event(event)


@dataclass
class InspectionOffice:
    """Draws, publishes and carries out a plan every ``every`` seconds once ``ready()`` (the
    history is fed), until ``stop`` is set. :meth:`run` is a thread's target; the counters and
    ``last`` (a line about the newest plan) are for the dashboard."""

    spec: DistrictSpec
    settings: Settings
    bootstrap: str
    redis_url: str
    every: float
    stop: threading.Event
    ready: Callable[[], bool]
    plans: int = 0
    tasks: int = 0
    inspected: int = 0
    last: str = ""

    def status(self) -> str:
        """A line for the dashboard."""
        if self.every <= 0:
            return "no plans (--plan-seconds 0)"
        if not self.plans and not self.last:
            return f"no plan yet: one every {self.every:g} s once the history is fed"
        return (
            f"{self.plans:,} plans, {self.tasks:,} tasks, {self.inspected:,} inspected;"
            f" newest {self.last}"
        )

    def run(self) -> None:
        while not self.ready():
            if self.stop.wait(1.0):
                return
        s = self.settings
        firms = {e.uscc: (e.propensity, e.division) for e in enterprises(self.spec)}
        pool = parse_pool(inspector_pool(), "the district's inspectors")
        preset = load_preset(PRESET)
        rng = random.Random(f"{self.spec.seed}:inspections")
        client = connect(self.redis_url, socket_timeout=10, **redis_options(s))
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                started = time.monotonic()
                try:
                    plan = draw_live(
                        client, s.redis_prefix, s.partitions, name=f"demo plan {n}",
                        preset=preset, scope=Scope(), pool=pool, conflicts={},
                        seed=self.spec.seed * 1000 + n, per_task=2,
                    )  # fmt: skip
                except (PlanError, redis.RedisError) as exc:
                    self.last = f"plan {n} not drawn: {exc}"
                    self.stop.wait(self.every)
                    continue
                try:
                    self._carry_out(plan, firms, rng)
                except (KafkaError, PublishError, TopicError) as exc:
                    self.last = f"plan {n} not published: {exc}"
                self.stop.wait(max(0.0, self.every - (time.monotonic() - started)))
        finally:
            client.close()

    def _carry_out(
        self, plan: Mapping[str, Any], firms: Mapping[str, tuple[float, str]], rng: random.Random
    ) -> None:
        s = self.settings
        publish(plan, self.bootstrap, s.events_topic, kafka_python_config(s))
        record(
            plan,
            self.bootstrap,
            s.plans_topic,
            s.partitions,
            published=True,
            config=kafka_python_config(s),
        )
        count = len(plan["tasks"])
        self.plans, self.tasks = self.plans + 1, self.tasks + count
        self.last = f"plan {plan['plan_id']}: {count} tasks ({PRESET})"
        if count:
            self.inspected += send(
                inspections(plan, firms, rng, lambda: dt.datetime.now(dt.UTC)),
                bootstrap=self.bootstrap,
                topic=s.events_topic,
                pacer=Pacer(count / (self.every * _BUSY)),
                should_stop=self.stop.is_set,
            )
