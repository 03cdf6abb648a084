"""Regional and industry counts kept by apply.lua, on a real redis-server: always a recount of
the stored states (any order, duplicates, profiles that arrive late or change), through
reclassify and replay; daily entries into C and D; a division's enterprises paged."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.reclassify import reclassify_prefix
from jobs.replay import file_records, from_thread, replay
from schemas.codec import CreditEvent, decode_event
from schemas.uscc import make_uscc
from scoring.changes import change_for
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import ApplyRequest, Keys, Store, read_areas, region_members
from scoring.store.areas import day_of
from streams.redis_client import connect, connect_async
from streams.topics import partition_for
from tests.support.areas import recounted, stored_areas
from tests.support.builders import at, event
from tests.support.eventlog import seeded_log
from tests.support.histories import histories

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MODEL = load_model()
P = Params.of(MODEL)
PARTITIONS = 4
USCCS = ["91110000600037341L", "91110108551385082Q", "91440101MA5CJQ4N59", "91610112MA6TGQ1K2M"]
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DIVISIONS = ["610112", "610113", "110105"]
INDUSTRIES = ["F5191", "C13", "F52", "H"]


def _registration(
    uscc: str, division: str, industry: str, when: dt.datetime, eid: str
) -> CreditEvent:
    data = {
        "name": "测试企业",
        "division_code": division,
        "industry_code": industry,
        "founded_on": "2015-03-01",
        "registered_capital_cny": 1_000_000,
        "new_economy": False,
    }
    return event("enterprise.registered", data, when=when, subject=uscc, eid=eid)


def _requests(log: list[CreditEvent]) -> list[ApplyRequest]:
    offsets: dict[int, int] = defaultdict(int)
    out = []
    for ev in log:
        p = partition_for(ev.subject.encode(), PARTITIONS)
        out.append(ApplyRequest(ev.subject, p, offsets[p], change_for(ev, MODEL)))
        offsets[p] += 1
    return out


def _check(redis_url: str, prefix: str) -> tuple[dict[str, int], set[str]]:
    with connect(redis_url) as sync:
        stored = stored_areas(sync, Keys(prefix), PARTITIONS)
        assert stored == recounted(sync, Keys(prefix), PARTITIONS)
    assert all(n > 0 for n in stored[0].values())
    return stored


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(histories(), min_size=1, max_size=4),
    st.randoms(use_true_random=False),
    st.data(),
)
async def test_area_counts_are_a_recount_of_the_states_whatever_the_order(
    redis_url: str, key_prefix: str, histories_: list, rnd: random.Random, data: st.DataObject
) -> None:
    """Enterprises' histories, each registration with a division and industry drawn anew (so
    profiles arrive after classes, change, and come out of order), interleaved at random with
    re-published copies, applied in batches of random size: the stored area counts and index
    are a recount of the stored states."""
    prefix = f"{key_prefix}:{uuid.uuid4().hex[:8]}"
    log = []
    for h, uscc in zip(histories_, USCCS, strict=False):
        for e in h:
            if e.type == "enterprise.registered":
                div = data.draw(st.sampled_from(DIVISIONS))
                ind = data.draw(st.sampled_from(INDUSTRIES))
                log.append(_registration(uscc, div, ind, e.time, f"{uscc}/{e.id}"))
            else:
                dump = e.data.model_dump(mode="json")
                log.append(event(e.type, dump, when=e.time, subject=uscc, eid=f"{uscc}/{e.id}"))
    rnd.shuffle(log)
    for ev in rnd.sample(log, len(log) // 4):
        log.insert(rnd.randint(log.index(ev) + 1, len(log)), ev)
    requests = _requests(log)
    client = connect_async(redis_url)
    try:
        store = Store(client, prefix=prefix, params=P, partitions=PARTITIONS)
        i = 0
        while i < len(requests):
            batch = requests[i : i + rnd.randint(1, 6)]
            i += len(batch)
            await store.apply_batch(batch)
        counts, _ = _check(redis_url, prefix)
        # every enterprise counted once, and the fields name known areas only
        assert sum(counts.values()) == len({ev.subject for ev in log})
        for field in counts:
            division, industry, klass = field.split("|")
            assert division in (*DIVISIONS, "unknown") and klass in "ABCD"
            assert industry in ("F51", "C13", "F52", "H", "unknown")
    finally:
        await client.aclose()


async def test_entries_are_counted_on_their_day_and_a_late_profile_moves_the_enterprise(
    redis_url: str, key_prefix: str
) -> None:
    """One enterprise registered in 610112 / F5191 enters D; another is put in C before its
    registration arrives: it counts under ``unknown`` until then, and its entry into C stays
    on ``unknown`` (a flow is not moved); read_areas sums it all on the right days."""
    a, b = USCCS[0], USCCS[1]
    listing = {"decision_number": "S1", "reason": "fraud"}
    abnormal = {"decision_number": "A1", "reason": "unreachable_at_address"}
    log = [
        _registration(a, "610112", "F5191", at(0), "reg-a"),
        event("serious_violation.added", listing, when=at(10, hour=20), subject=a, eid="s1"),
        event("abnormal_list.added", abnormal, when=at(9), subject=b, eid="a1"),
    ]
    client = connect_async(redis_url)
    keys = Keys(key_prefix)
    try:
        store = Store(client, prefix=key_prefix, params=P, partitions=PARTITIONS)
        await store.apply_batch(_requests(log))
        snap = await read_areas(client, keys, PARTITIONS)
        assert snap.day == day_of(int(at(10, hour=20).timestamp()))
        # 20:00 UTC is the next day in UTC+8
        assert snap.day == day_of(int(at(11, hour=0).timestamp()))
        for area in (("division", "610112"), ("industry", "F"), ("industry", "F51")):
            assert snap.enterprises[area] == {"D": 1}
            assert snap.d_daily[area][-1] == 1 and sum(snap.d_daily[area]) == 1
        for area in (("division", "unknown"), ("industry", "unknown")):
            assert snap.enterprises[area] == {"C": 1}
            assert snap.c_daily[area][-3] == 1  # day 9 noon: two days before day 11
        late = _registration(b, "610113", "C13", at(1), "reg-b")
        (req,) = _requests([late])
        await store.apply_batch([ApplyRequest(b, req.partition, 1, req.change)])
        snap = await read_areas(client, keys, PARTITIONS)
        assert snap.enterprises[("division", "610113")] == {"C": 1}
        assert snap.enterprises[("industry", "C13")] == {"C": 1}
        assert ("division", "unknown") not in snap.enterprises
        assert sum(snap.c_daily[("division", "unknown")]) == 1
        assert snap.district() == {"A": 0, "B": 0, "C": 1, "D": 1}
        _check(redis_url, key_prefix)
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def lower_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (Path(__file__).parents[2] / "scoring" / "models" / "default.toml").read_text()
    text = text.replace('version = "default-2026.1"', 'version = "areas-lower"')
    for old, new in [("b_from = 10.0", "b_from = 4.0"), ("c_from = 30.0", "c_from = 12.0")]:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("models") / "lower.toml"
    path.write_text(text)
    return path


async def test_reclassify_moves_the_area_counts_with_the_classes(
    redis_url: str, key_prefix: str, lower_model: Path
) -> None:
    records = seeded_log(7, enterprises=60, events=600, duplicate_ratio=0.1, poison=False, now=NOW)
    client = connect_async(redis_url)
    try:
        store = Store(client, prefix=key_prefix, params=P, partitions=PARTITIONS)
        await store.apply_batch(_requests([decode_event(r.value) for r in records]))
    finally:
        await client.aclose()
    before, _ = _check(redis_url, key_prefix)
    stats = await reclassify_prefix(redis_url, key_prefix, load_model(lower_model), PARTITIONS)
    assert stats.changed > 0
    after, _ = _check(redis_url, key_prefix)
    assert after != before


async def test_replay_keeps_the_area_counts(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    records = seeded_log(11, enterprises=50, events=500, duplicate_ratio=0.1, poison=False, now=NOW)
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(r.value + b"\n" for r in records))
    await replay(
        from_thread(file_records(path, "riskmon.events", PARTITIONS)),
        redis_url=redis_url,
        prefix=key_prefix,
        model=MODEL,
        partitions=PARTITIONS,
        max_event_bytes=65_536,
        processes=0,
    )
    counts, members = _check(redis_url, key_prefix)
    assert sum(counts.values()) == 50
    assert members  # some of the district is in C or D


async def test_a_divisions_enterprises_in_c_and_d_come_in_pages(
    redis_url: str, key_prefix: str
) -> None:
    rng = random.Random(3)
    usccs = sorted({make_uscc(rng) for _ in range(40)})
    log = []
    for i, u in enumerate(usccs):
        log.append(_registration(u, "610112" if i % 4 else "610113", "F5191", at(0), f"r{i}"))
        if i % 3 == 0:
            listing = {"decision_number": f"S{i}", "reason": "fraud"}
            log.append(
                event("serious_violation.added", listing, when=at(5), subject=u, eid=f"s{i}")
            )
        elif i % 3 == 1:
            data = {"decision_number": f"A{i}", "reason": "unreachable_at_address"}
            log.append(event("abnormal_list.added", data, when=at(5), subject=u, eid=f"a{i}"))
    expected = [
        (u, "D" if i % 3 == 0 else "C") for i, u in enumerate(usccs) if i % 4 and i % 3 != 2
    ]
    client = connect_async(redis_url)
    keys = Keys(key_prefix)
    try:
        store = Store(client, prefix=key_prefix, params=P, partitions=PARTITIONS)
        await store.apply_batch(_requests(log))
        seen: list[tuple[str, str]] = []
        cursor = None
        pages = 0
        while True:
            page = await region_members(client, keys, PARTITIONS, "610112", limit=7, after=cursor)
            pages += 1
            seen += [(m.uscc, m.klass) for m in page.members]
            assert len(page.members) <= 7
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == expected
        assert pages == -(-len(expected) // 7)
        assert (await region_members(client, keys, PARTITIONS, "999999", limit=5)).members == ()
    finally:
        await client.aclose()
