"""What a worker left behind, read back for comparison with the reference: every enterprise's
state in Redis, and the alert and task ids on their topics."""

from __future__ import annotations

import orjson
import redis

from scoring.fold import EnterpriseState
from scoring.store import Keys, iter_states
from tests.support.harness import read_topic

__all__ = ["observed", "redis_states"]


def redis_states(url: str, prefix: str, partitions: int) -> dict[str, EnterpriseState]:
    r = redis.Redis.from_url(url)
    try:
        return {uscc: s for _, uscc, s in iter_states(r, Keys(prefix), partitions)}
    finally:
        r.close()


def observed(bootstrap: str, env: dict[str, str]) -> tuple[set[str], set[str]]:
    alerts = {
        orjson.loads(r.value)["id"] for r in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"])
    }
    tasks = {orjson.loads(r.value)["id"] for r in read_topic(bootstrap, env["RISKMON_TASKS_TOPIC"])}
    return alerts, tasks
