"""The Redis path (apply.lua) against the reference fold, on a real redis-server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.rules import may_warrant
from scoring.changes import Contribution, change_for
from scoring.exceptions import StoreError, StoreUnavailableError
from scoring.fold import EnterpriseState, Outcome, Params, apply, reevaluate
from scoring.model import load_model
from scoring.partition import Fired, Partition
from scoring.store import (
    SCRIPT,
    ApplyRequest,
    Store,
    StoreResult,
    bucket_of,
    encode_state,
    iter_states,
    ledger_field,
    plan_calls,
    version_id,
)
from scoring.store.script import SOURCE
from streams.redis_client import connect, connect_async
from streams.topics import partition_for
from tests.support.builders import at, event
from tests.support.histories import histories

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MODEL = load_model()
P = Params.of(MODEL)
PARTITIONS = 8
USCCS = ["91110000600037341L", "91110108551385082Q", "91440101MA5CJQ4N59", "91610112MA6TGQ1K2M"]


def _retarget(history, uscc):
    return [
        event(
            e.type, e.data.model_dump(mode="json"), when=e.time, subject=uscc, eid=f"{uscc}/{e.id}"
        )
        for e in history
    ]


async def _store(redis_url: str, prefix: str) -> tuple[Store, aioredis.Redis]:
    client = connect_async(redis_url)
    return Store(client, prefix=prefix, params=P, partitions=PARTITIONS), client


LATENESS = 30 * 86_400


@dataclass
class Reference:
    """One partition through :class:`scoring.partition.Partition` and a ledger (event hash ->
    (outcome, fired)): what apply.lua must answer, event by event."""

    partition: Partition = field(default_factory=Partition)
    ledger: dict[str, tuple[Outcome, tuple[Fired, ...]]] = field(default_factory=dict)
    wm: int = -1

    def apply(self, req: ApplyRequest, p: Params) -> StoreResult:
        seen = self.ledger.get(req.change.event_hash)
        if seen is not None:
            status = "redelivered" if 0 <= req.offset <= self.wm else "republished"
            # What warranted nothing comes back without its reasons (apply.lua's bare).
            first = seen[0] if may_warrant(seen[0]) else replace(seen[0], reasons=())
            result = StoreResult(status, first, seen[1])
        else:
            outcome, fired = self.partition.apply(req.uscc, req.change, p)
            self.ledger[req.change.event_hash] = (outcome, fired)
            result = StoreResult("applied", outcome, fired)
        self.wm = max(self.wm, req.offset)
        return result


def _partition_log(histories_: list, rnd) -> list:
    """The histories, one enterprise each, interleaved in one partition in a random order,
    with some events re-published (a copy later in the log)."""
    log = [e for h, u in zip(histories_, USCCS, strict=False) for e in _retarget(h, u)]
    rnd.shuffle(log)
    for ev in rnd.sample(log, len(log) // 5):
        log.insert(rnd.randint(log.index(ev) + 1, len(log)), ev)
    return log


async def _run_partition(store: Store, ref: Reference, requests: list, rnd) -> None:
    """Apply ``requests`` in batches of random size through apply.lua and the reference, and
    require the same result for every event."""
    i = 0
    while i < len(requests):
        batch = requests[i : i + rnd.randint(1, 8)]
        i += len(batch)
        calls, _ = plan_calls(store.keys, store.params_arg, batch)
        expected = [ref.apply(r, store.params) for r in batch]
        assert await store.execute(calls) == expected


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(histories(), min_size=1, max_size=4),
    st.randoms(use_true_random=False),
    st.sampled_from([0, LATENESS]),
)
async def test_lua_and_partition_agree_on_a_partitions_log(
    redis_url, key_prefix, histories_, rnd, lateness
) -> None:
    """A partition's log (several enterprises interleaved, out of time order, re-published
    copies, a batch redelivered), through apply.lua and through scoring/partition.py with a
    ledger: the same outcome and the same fired time-driven changes for every event, the same
    event-time watermark, the same states."""
    prefix = f"{key_prefix}:{uuid.uuid4().hex[:8]}"  # hypothesis runs many examples per test
    client = connect_async(redis_url)
    store = Store(
        client, prefix=prefix, params=replace(P, lateness=lateness), partitions=PARTITIONS
    )
    try:
        log = _partition_log(histories_, rnd)
        requests = [
            ApplyRequest(ev.subject, 0, offset, change_for(ev, MODEL))
            for offset, ev in enumerate(log)
        ]
        ref = Reference()
        await _run_partition(store, ref, requests, rnd)
        # A worker that died before committing reads the tail again: redelivered, each event
        # re-sends what it first did (fired changes included) and changes nothing.
        await _run_partition(store, ref, requests[rnd.randint(0, len(requests) - 1) :], rnd)
        assert await store.event_watermark(0) == ref.partition.watermark
        with connect(redis_url) as sync:
            got = {uscc: s for _, uscc, s in iter_states(sync, store.keys, PARTITIONS)}
        assert got == ref.partition.states
    finally:
        await client.aclose()


async def test_an_event_of_another_enterprise_fires_a_due_change_and_its_copies_resend_it(
    redis_url, key_prefix
) -> None:
    """A penalty puts one enterprise in B until its impact fades; an event of another
    enterprise of the partition, dated after that, makes the change back to A first (as of its
    due moment), and a re-published copy of that event returns the same change."""
    store, client = await _store(redis_url, key_prefix)
    try:
        fined, other = USCCS[0], USCCS[1]
        pen = {"decision_number": "D1", "domain": "food", "fine_cny": 0, "severity": "ordinary"}
        first = ApplyRequest(
            fined, 0, 0, change_for(event("penalty.imposed", pen, when=at(0), subject=fined), MODEL)
        )
        (applied,) = await store.apply_batch([first])
        assert (applied.outcome.new_class, applied.fired) == (2, ())
        due = applied.outcome.due
        assert due > 0
        later = event(
            "complaint.received",
            {"channel": "letter", "category": "price"},
            when=at(900),
            subject=other,
        )
        req = ApplyRequest(other, 0, 1, change_for(later, MODEL))
        # Without ARGV[4] (as redis-benchmark calls it) the stem comes from KEYS[4].
        ((keys, args),), _ = plan_calls(store.keys, store.params_arg, [req])
        assert args[3] == store.keys.state_stem(0)
        (result,) = await store.execute([(keys, args[:3])])
        assert result.status == "applied"
        (fired,) = result.fired
        assert fired.uscc == fined
        assert (fired.outcome.old_class, fired.outcome.new_class, fired.outcome.asof) == (
            2,
            1,
            due,
        )
        assert await store.event_watermark(0) == int(at(900).timestamp())
        state = await store.get(0, fined)
        assert state is not None and (state.klass, state.asof) == (1, due)
        (again,) = await store.apply_batch([replace(req, offset=2)])
        assert again.status == "republished" and again.fired == result.fired
        assert await store.get(0, fined) == state
    finally:
        await client.aclose()


async def test_apply_lua_finds_a_state_hash_where_keys_py_puts_it(redis_url) -> None:
    """The bucket apply.lua computes for an enterprise whose change it fires (CRC-32 in Lua) is
    bucket_of's, for any USCC."""
    start, end = SOURCE.index("local crc_table\n"), SOURCE.index("-- The stem of")
    probe = SOURCE[start:end] + "local out = {}\n"
    probe += "for i, u in ipairs(ARGV) do out[i] = bit.band(crc32(u), 63) end\nreturn out\n"
    usccs = [f"9161{i:014X}" for i in range(0, 10**12, 10**9 + 7)] + USCCS
    client = connect_async(redis_url)
    try:
        got = await client.eval(probe, 0, *usccs)
    finally:
        await client.aclose()
    assert got == [bucket_of(u) for u in usccs]


async def _lua_and_fold(store: Store, uscc: str, events: list) -> list:
    """Apply ``events`` (in order) through apply.lua and the partition's fold; assert that
    each outcome, the changes each fired, and the final state agree; the fold's outcomes."""
    part = partition_for(uscc.encode(), PARTITIONS)
    ref, expected, requests = Partition(), [], []
    for offset, ev in enumerate(events):
        ch = change_for(ev, MODEL)
        expected.append(ref.apply(uscc, ch, P))
        requests.append(ApplyRequest(uscc, part, offset, ch))
    results = await store.apply_batch(requests)
    assert [(r.outcome, r.fired) for r in results] == expected
    assert await store.get(part, uscc) == ref.states[uscc]
    return [outcome for outcome, _ in expected]


def _inspection(result: str, day: int, uscc: str):
    return event(
        "inspection.completed", {"result": result}, when=at(day), subject=uscc, eid=f"i{day}"
    )


async def test_an_enterprise_kept_in_a_by_a_credit_is_scheduled_to_rise_when_it_ends(
    redis_url, key_prefix
) -> None:
    # A clean inspection (-8 for 730 days), then one that found problems (+15): 7 points, A.
    # When the credit ends the score jumps to 15: B, at that very second.
    store, client = await _store(redis_url, key_prefix)
    try:
        uscc = USCCS[1]
        events = [_inspection("no_problem", 0, uscc), _inspection("problems_found", 100, uscc)]
        last = (await _lua_and_fold(store, uscc, events))[-1]
        assert last.new_class == 1
        assert last.due == int(at(730).timestamp())
    finally:
        await client.aclose()


async def test_spent_contributions_change_neither_the_class_nor_its_schedule(
    redis_url, key_prefix
) -> None:
    # A revoked penalty and an expired complaint stay in the state (to be explained) but no
    # longer count: what is live decides the class and when it falls, as if they never were.
    store, client = await _store(redis_url, key_prefix)
    try:
        uscc, other = USCCS[2], USCCS[3]

        def penalty(decision: str, severity: str, day: int, subject: str = uscc):
            data = {"decision_number": decision, "domain": "price", "fine_cny": 0}
            return event(
                "penalty.imposed", {**data, "severity": severity}, when=at(day), subject=subject
            )

        def complaint(day: int, subject: str = uscc):
            data = {"channel": "letter", "category": "price"}
            return event("complaint.received", data, when=at(day), subject=subject)

        events = [
            penalty("D1", "grave", 0),
            event("penalty.revoked", {"decision_number": "D1"}, when=at(20), subject=uscc),
            complaint(30),  # counts for 365 days
            complaint(400),  # still counts at day 500, for 265 days more
            penalty("D2", "serious", 500),
        ]
        spent = await _lua_and_fold(store, uscc, events)
        live = [complaint(400, other), penalty("D2", "serious", 500, other)]
        live_only = await _lua_and_fold(store, other, live)
        assert spent[-1].new_class == live_only[-1].new_class == 2
        assert spent[-1].score == live_only[-1].score
        assert spent[-1].due == live_only[-1].due > int(at(500).timestamp())
    finally:
        await client.aclose()


async def test_a_duplicate_returns_the_first_outcome_and_changes_nothing(
    redis_url, key_prefix
) -> None:
    store, client = await _store(redis_url, key_prefix)
    try:
        uscc = USCCS[0]
        part = partition_for(uscc.encode(), PARTITIONS)
        pen = event(
            "penalty.imposed",
            {"decision_number": "D1", "domain": "food", "fine_cny": 1, "severity": "grave"},
            when=at(10),
            subject=uscc,
        )
        ch = change_for(pen, MODEL)
        first = (await store.apply_batch([ApplyRequest(uscc, part, 5, ch)]))[0]
        state = await store.get(part, uscc)
        redelivered = (await store.apply_batch([ApplyRequest(uscc, part, 5, ch)]))[0]
        republished = (await store.apply_batch([ApplyRequest(uscc, part, 9, ch)]))[0]
        assert first.status == "applied" and first.outcome.new_class == 4
        assert redelivered.status == "redelivered"
        assert republished.status == "republished"
        assert redelivered.outcome == first.outcome == republished.outcome
        assert await store.get(part, uscc) == state
        # The re-published copy at offset 9 has its effect in Redis too: a restart that finds
        # offset 9 committed must not rewind to re-read it.
        assert await store.watermark(part) == 9
        assert (await store.class_counts())["D"] == 1
    finally:
        await client.aclose()


async def test_a_duplicate_of_an_event_that_warranted_nothing_keeps_its_score_not_its_reasons(
    redis_url, key_prefix
) -> None:
    """The ledger keeps a first outcome whole only where a duplicate must re-send an alert or
    task; of an event that told nobody anything it keeps the classes and score (supervision's
    early warnings need them after a crash between the two writes), not the reasons, and the
    duplicate still warrants nothing."""
    store, client = await _store(redis_url, key_prefix)
    try:
        uscc = USCCS[1]
        part = partition_for(uscc.encode(), PARTITIONS)
        complaint = {"channel": "letter", "category": "price"}
        penalty = {"decision_number": "D1", "domain": "food", "fine_cny": 1, "severity": "grave"}
        quiet_ch = change_for(
            event("complaint.received", complaint, when=at(0), subject=uscc), MODEL
        )
        news_ch = change_for(event("penalty.imposed", penalty, when=at(1), subject=uscc), MODEL)
        quiet, news = await store.apply_batch(
            [ApplyRequest(uscc, part, 0, quiet_ch), ApplyRequest(uscc, part, 1, news_ch)]
        )
        assert (quiet.outcome.old_class, quiet.outcome.new_class) == (0, 1)  # a new A: no news
        assert not may_warrant(quiet.outcome)
        assert (news.outcome.old_class, news.outcome.new_class) == (1, 4)
        again_quiet, again_news = await store.apply_batch(
            [ApplyRequest(uscc, part, 2, quiet_ch), ApplyRequest(uscc, part, 3, news_ch)]
        )
        assert again_quiet.status == again_news.status == "republished"
        assert not may_warrant(again_quiet.outcome)
        assert quiet.outcome.reasons  # a first classification has its reasons...
        assert again_quiet.outcome == replace(quiet.outcome, reasons=())  # ...not kept
        assert again_news.outcome == news.outcome  # its alert and task are re-sent as they were
        ledger = store.keys.ledger(part)
        kept = await client.hget(ledger, ledger_field(quiet_ch.event_hash))
        assert kept is not None and b"[" not in kept  # no reasons' JSON
        assert await client.hstrlen(ledger, ledger_field(news_ch.event_hash)) > len(kept)
    finally:
        await client.aclose()


async def test_a_state_written_under_another_model_reads_back_with_that_models_name(
    redis_url, key_prefix
) -> None:
    """States keep only an id of their model version; its name comes back from the registry,
    also to a store that runs another model."""
    store, client = await _store(redis_url, key_prefix)
    other = Store(
        client, prefix=key_prefix, params=replace(P, version="next-2027.1"), partitions=PARTITIONS
    )
    try:
        uscc = USCCS[1]
        part = partition_for(uscc.encode(), PARTITIONS)
        complaint = event(
            "complaint.received",
            {"channel": "12315_hotline", "category": "quality"},
            when=at(3),
            subject=uscc,
        )
        await store.apply_batch([ApplyRequest(uscc, part, 0, change_for(complaint, MODEL))])
        state = await other.get(part, uscc)
        assert state is not None and state.version == MODEL.version
    finally:
        await client.aclose()


async def test_a_store_refuses_a_version_whose_id_another_version_holds(
    redis_url, key_prefix
) -> None:
    store, client = await _store(redis_url, key_prefix)
    try:
        await client.hset(store.keys.models(), str(version_id(P.version)), "someone-else")
        uscc = USCCS[2]
        part = partition_for(uscc.encode(), PARTITIONS)
        complaint = event(
            "complaint.received",
            {"channel": "letter", "category": "price"},
            when=at(4),
            subject=uscc,
        )
        with pytest.raises(StoreError, match="someone-else"):
            await store.apply_batch([ApplyRequest(uscc, part, 0, change_for(complaint, MODEL))])
        assert await store.get(part, uscc) is None, "nothing was written"
    finally:
        await client.aclose()


async def test_a_redis_without_the_script_is_given_it_and_the_batch_applies(
    redis_url, key_prefix
) -> None:
    """After a restart (or SCRIPT FLUSH) Redis answers NOSCRIPT: the store loads apply.lua and
    runs the calls again. A variant no Redis has seen stands in for a flush, which would pull
    the script from under other clients of this Redis."""
    client = connect_async(redis_url)
    unseen = SCRIPT + f"\n-- {uuid.uuid4().hex}\n"
    store = Store(client, prefix=key_prefix, params=P, partitions=PARTITIONS, script=unseen)
    try:
        uscc = USCCS[3]
        part = partition_for(uscc.encode(), PARTITIONS)
        listed = event(
            "abnormal_list.added",
            {"decision_number": "N1", "reason": "false_information"},
            when=at(2),
            subject=uscc,
        )
        ch = change_for(listed, MODEL)
        (result,) = await store.apply_batch([ApplyRequest(uscc, part, 0, ch)])
        assert result.status == "applied" and result.outcome.new_class == 3
        assert await store.get(part, uscc) == apply(EnterpriseState(), ch, P)[0]
    finally:
        await client.aclose()


async def test_a_refusal_by_redis_is_a_store_error(redis_url, key_prefix) -> None:
    store, client = await _store(redis_url, key_prefix)
    try:
        uscc = USCCS[0]
        part = partition_for(uscc.encode(), PARTITIONS)
        await client.set(store.keys.states(part, uscc), "not a hash")
        with pytest.raises(StoreError, match="WRONGTYPE") as caught:
            await store.get(part, uscc)
        assert not isinstance(caught.value, StoreUnavailableError)
    finally:
        await client.aclose()


async def test_class_counts_follow_transitions(redis_url, key_prefix) -> None:
    store, client = await _store(redis_url, key_prefix)
    try:
        reqs = []
        for i, uscc in enumerate(USCCS):
            part = partition_for(uscc.encode(), PARTITIONS)
            listed = event(
                "abnormal_list.added",
                {"decision_number": f"A{i}", "reason": "false_information"},
                when=at(i),
                subject=uscc,
            )
            reqs.append(ApplyRequest(uscc, part, i, change_for(listed, MODEL)))
        await store.apply_batch(reqs)
        assert await store.class_counts() == {"A": 0, "B": 0, "C": 4, "D": 0}
        uscc = USCCS[0]
        removed = event(
            "abnormal_list.removed", {"decision_number": "A0"}, when=at(9), subject=uscc
        )
        part = partition_for(uscc.encode(), PARTITIONS)
        await store.apply_batch([ApplyRequest(uscc, part, 100, change_for(removed, MODEL))])
        assert await store.class_counts() == {"A": 1, "B": 0, "C": 3, "D": 0}
    finally:
        await client.aclose()


# --- reclassify: any state, any thresholds and caps -------------------------------------------

DAY = 86_400


@st.composite
def contributions(draw: st.DrawFn, i: int) -> Contribution:
    """Any contribution the model could make: credits never fade, listings set floors."""
    points = draw(st.sampled_from([-8.0, -3.5, 2.0, 3.0, 10.0, 15.0, 37.5, 45.0, 65.0]))
    t = draw(st.integers(0, 900)) * DAY + draw(st.integers(0, DAY - 1))
    fades = points > 0 and draw(st.booleans())
    return Contribution(
        key=f"k{i}",
        dimension=draw(st.integers(1, 5)),
        time=t,
        points=points,
        half_life=draw(st.sampled_from([90, 180, 365])) * DAY if fades else 0,
        expires=t + draw(st.sampled_from([0, 30, 365, 730, 1095])) * DAY,
        floor=draw(st.sampled_from([0, 0, 0, 3, 4])),
        tiebreak=i,
        cancelled=draw(st.integers(0, 9)) == 0,
    )


@st.composite
def stored_states(draw: st.DrawFn) -> EnterpriseState:
    n = draw(st.integers(1, 12))
    contribs = [draw(contributions(i)) for i in range(n)]
    latest = max(c.time for c in contribs)
    return EnterpriseState(
        contributions={c.key: c for c in contribs},
        asof=latest + draw(st.integers(0, 400)) * DAY,
        klass=draw(st.integers(1, 4)),
        version="before",
    )


@st.composite
def params(draw: st.DrawFn) -> Params:
    cuts = sorted(draw(st.lists(st.integers(1, 120), min_size=3, max_size=3, unique=True)))
    caps = draw(st.lists(st.integers(5, 100), min_size=5, max_size=5))
    return Params(
        version="after",
        thresholds=tuple(v * 1_000_000 for v in cuts),
        caps=tuple(v * 1_000_000 for v in caps),
        horizon=draw(st.sampled_from([365, 36_500])) * DAY,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(stored_states(), min_size=1, max_size=20), params())
async def test_reclassify_finds_what_the_fold_finds_for_any_state_and_model(
    redis_url, key_prefix, states, p
) -> None:
    """apply.lua searches for the next change its own way (Newton steps, then bisection); the
    fold bisects. On any state and any thresholds, caps and horizon they agree on the class,
    the score and the second of the next change."""
    prefix = f"{key_prefix}:{uuid.uuid4().hex[:8]}"
    client = connect_async(redis_url)
    store = Store(client, prefix=prefix, params=p, partitions=PARTITIONS)
    try:
        usccs = [f"U{i:04d}" for i in range(len(states))]
        for uscc, state in zip(usccs, states, strict=True):
            await client.hset(store.keys.states(0, uscc), uscc, encode_state(state))
        page = await store.reclassify(store.state_hashes())
        assert (page.scanned, page.reevaluated) == (len(states), len(states))
        got = {r.uscc: r.outcome for r in page.changed}
        for uscc, state in zip(usccs, states, strict=True):
            expected_state, expected = reevaluate(state, p)
            if expected.new_class != expected.old_class:
                assert got.pop(uscc) == expected
            assert await store.get(0, uscc) == expected_state
        assert got == {}, "only enterprises whose class changed are reported"
    finally:
        await client.aclose()
