"""The directory a plan draws from, read from a real redis-server: a replayed synthetic district,
with observation periods and previous plan inspectors written where supervision keeps them."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import msgpack
import pytest
import redis

from district.generator import DistrictSpec, lines
from jobs.plans import draw_live
from jobs.replay import file_records, from_thread, replay
from schemas.classes import CLASS_NAMES
from scoring.model import load_model
from scoring.store import Keys, iter_states, newest_asof
from streams.redis_client import connect
from streams.topics import partition_for
from supervision.inspectors import load_pool
from supervision.preset import load_preset
from supervision.records import ObservationRecord, decode_observation, encode_observation
from supervision.scope import Scope, parse_scope
from supervision.store.keys import SupervisionKeys

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

PARTITIONS = 4
SPEC = DistrictSpec(now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), enterprises=400, seed=11)
POOL = load_pool(Path(__file__).parents[2] / "examples" / "inspectors.csv")


@pytest.fixture
def client(tmp_path: Path, redis_url: str, key_prefix: str) -> redis.Redis:
    events = tmp_path / "district.jsonl"
    events.write_bytes(b"".join(line + b"\n" for line in lines(SPEC)))
    asyncio.run(
        replay(
            from_thread(file_records(events, "events", PARTITIONS)),
            redis_url=redis_url,
            prefix=key_prefix,
            model=load_model(),
            partitions=PARTITIONS,
            max_event_bytes=65_536,
            processes=0,
        )
    )
    return connect(redis_url)


def _draw(client: redis.Redis, prefix: str, scope: Scope | None = None, seed: int = 5) -> dict:
    return draw_live(
        client,
        prefix,
        PARTITIONS,
        name="district",
        preset=load_preset("yancheng-2022"),
        scope=scope or Scope(),
        pool=POOL,
        conflicts={},
        seed=seed,
        per_task=2,
    )


def test_the_directory_is_every_classed_enterprise_with_its_exclusions(
    client: redis.Redis, key_prefix: str
) -> None:
    states = {u: s for _, u, s in iter_states(client, Keys(key_prefix), PARTITIONS)}
    asof = newest_asof(client, Keys(key_prefix), PARTITIONS)
    sup = SupervisionKeys(key_prefix)
    # Observation periods the replay started (new-economy A and B firms), still running.
    running = set()
    for p in range(PARTITIONS):
        for u, raw in client.hgetall(sup.observations(p)).items():
            obs = decode_observation(raw)
            running |= {u.decode()} if obs.active and obs.until > asof else set()
    usccs = sorted(set(states) - running)
    observed, expired, avoided = usccs[0], usccs[1], usccs[2]
    for uscc, until in ((observed, asof + 86_400), (expired, asof - 86_400)):
        p = partition_for(uscc.encode(), PARTITIONS)
        obs = ObservationRecord(uscc=uscc, since=asof - 700 * 86_400, until=until, active=True)
        client.hset(sup.observations(p), uscc, encode_observation(obs))
    p = partition_for(avoided.encode(), PARTITIONS)
    client.hset(sup.last_inspectors(p), avoided, msgpack.packb(["INS-001", "INS-016"]))

    plan = _draw(client, key_prefix)
    snapshot = {e["uscc"]: e for e in plan["snapshot"]}
    assert observed not in snapshot and not running & set(snapshot)
    assert plan["excluded"]["observation"] == len(running) + 1  # not the expired one
    # Every enterprise is either drawn from or excluded for one reason.
    assert len(snapshot) + sum(plan["excluded"].values()) == len(states)
    for uscc, e in snapshot.items():
        assert e["class"] == CLASS_NAMES[states[uscc].klass]
    # Exclusions by inspection, from the stored ins: contributions, by yancheng's rules: A and
    # B at most once a year, C twice, D as needed; none inspected within 180 days.
    day, by_inspection = 86_400, 0
    for uscc, s in states.items():
        times = [
            c.time for k, c in s.contributions.items() if k.startswith("ins:") and c.time <= asof
        ]
        year = sum(1 for t in times if t > asof - 365 * day)
        limit = {1: 1, 2: 1, 3: 2}.get(s.klass)
        if (
            uscc != observed
            and uscc not in running
            and ((limit is not None and year >= limit) or (times and max(times) > asof - 180 * day))
        ):
            by_inspection += 1
    assert by_inspection > 0
    assert plan["excluded"]["frequency"] + plan["excluded"]["recent"] == by_inspection
    if avoided in snapshot:
        assert snapshot[avoided]["avoid"] == ["INS-001", "INS-016"]
        for t in plan["tasks"]:
            if t["uscc"] == avoided:
                assert not {"INS-001", "INS-016"} & set(t["inspectors"])
    assert plan["model_version"] == "default-2026.1"
    assert dt.datetime.fromisoformat(plan["asof"]).timestamp() == asof


def test_a_domain_scope_draws_its_industries_with_qualified_inspectors(
    client: redis.Redis, key_prefix: str
) -> None:
    plan = _draw(client, key_prefix, parse_scope(["domain=food", "division=6101"]))
    states = {u: s for _, u, s in iter_states(client, Keys(key_prefix), PARTITIONS)}
    food = ("C13", "C14", "C15", "F512", "F522", "F5212", "H62")
    for e in plan["snapshot"]:
        profile = states[e["uscc"]].profile
        assert profile is not None and profile.industry.startswith(food)
    assert plan["snapshot"] and plan["domain"] == "food"
    qualified = {i.id for i in POOL if "food" in i.qualifications}
    assert all(set(t["inspectors"]) <= qualified for t in plan["tasks"])
    assert _draw(client, key_prefix, parse_scope(["domain=food", "division=6101"])) == plan
