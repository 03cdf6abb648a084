"""``riskmon reclassify`` on a real redis-server: apply.lua's reclassify mode against the pure
re-evaluation (:func:`scoring.fold.reevaluate`), the indexes it must keep, and the command."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import KafkaError

from alerts.rules import Message
from cli.main import main
from jobs.reclassify import (
    CAUSE_SOURCE,
    CAUSE_TYPE,
    alerts_for,
    reclassify,
    reclassify_prefix,
)
from local.embedded import free_port
from schemas.codec import decode_event
from scoring.changes import change_for
from scoring.fold import EnterpriseState, Params, apply, reevaluate
from scoring.model import ScoringModel, load_model
from scoring.store import CLASS_NAMES, ApplyRequest, Keys, Store, iter_states
from streams.redis_client import connect, connect_async
from streams.topics import TopicSpec, ensure_topics, partition_for
from tests.support.builders import event
from tests.support.eventlog import seeded_log

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

PARTITIONS = 4
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DEFAULT_TOML = (Path(__file__).parents[2] / "scoring" / "models" / "default.toml").read_text()
MODEL = load_model()
P = Params.of(MODEL)


def _model_toml(version: str) -> str:
    """The default model with lower thresholds, a lower social cap and a shorter horizon."""
    text = DEFAULT_TOML.replace('version = "default-2026.1"', f'version = "{version}"')
    for old, new in [
        ("b_from = 10.0", "b_from = 6.0"),
        ("c_from = 30.0", "c_from = 20.0"),
        ("d_from = 60.0", "d_from = 45.0"),
        ("social = 30.0", "social = 12.0"),
        ("horizon_days = 36500", "horizon_days = 400"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def new_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScoringModel]:
    path = tmp_path_factory.mktemp("models") / "lower.toml"
    path.write_text(_model_toml("lower-2026.2"))
    return path, load_model(path)


State = dict[tuple[int, str], EnterpriseState]


async def _build(redis_url: str, prefix: str, seed: int = 7, enterprises: int = 40) -> State:
    """A few dozen enterprises applied with the default model; their states."""
    records = seeded_log(
        seed,
        enterprises=enterprises,
        events=12 * enterprises,
        duplicate_ratio=0,
        poison=False,
        now=NOW,
    )
    offsets: dict[int, int] = defaultdict(int)
    requests = []
    for rec in records:
        ev = decode_event(rec.value)
        p = partition_for(ev.subject.encode(), PARTITIONS)
        requests.append(ApplyRequest(ev.subject, p, offsets[p], change_for(ev, MODEL)))
        offsets[p] += 1
    client = connect_async(redis_url)
    try:
        store = Store(client, prefix=prefix, params=P, partitions=PARTITIONS)
        await store.apply_batch(requests)
    finally:
        await client.aclose()
    states = _states(redis_url, prefix)
    assert len(states) == enterprises
    return states


def _states(redis_url: str, prefix: str) -> State:
    r = connect(redis_url)
    try:
        return {(p, uscc): s for p, uscc, s in iter_states(r, Keys(prefix), PARTITIONS)}
    finally:
        r.close()


def _assert_indexes(redis_url: str, prefix: str, states: State) -> None:
    """Per-partition class counts equal a recount of the states; the due index holds exactly
    the enterprises with a due time, at that time."""
    keys = Keys(prefix)
    r = connect(redis_url)
    try:
        for p in range(PARTITIONS):
            mine = {u: s for (q, u), s in states.items() if q == p}
            recount = Counter(CLASS_NAMES[s.klass] for s in mine.values())
            stored = r.hmget(keys.meta(p), ["A", "B", "C", "D"])
            assert [int(v or 0) for v in stored] == [recount[n] for n in "ABCD"], p
            due = {m.decode(): int(t) for m, t in r.zrange(keys.due(p), 0, -1, withscores=True)}
            assert due == {u: s.due for u, s in mine.items() if s.due}, p
    finally:
        r.close()


def _counts(states: State) -> dict[str, int]:
    c = Counter(CLASS_NAMES[s.klass] for s in states.values())
    return {n: c[n] for n in "ABCD"}


async def test_every_state_is_the_pure_reevaluation_and_the_indexes_follow(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    _, model = new_model
    before = await _build(redis_url, key_prefix)
    # The oracle agrees with apply: a state re-evaluated under its own model is itself.
    assert all(reevaluate(s, P)[0] == s for s in before.values())
    expected = {k: reevaluate(s, Params.of(model)) for k, s in before.items()}

    stats = await reclassify_prefix(redis_url, key_prefix, model, PARTITIONS)

    after = _states(redis_url, key_prefix)
    assert after == {k: new for k, (new, _) in expected.items()}
    assert all(s.version == model.version for s in after.values())
    transitions = Counter(
        (CLASS_NAMES[o.old_class], CLASS_NAMES[o.new_class])
        for _, o in expected.values()
        if o.old_class != o.new_class
    )
    assert sum(transitions.values()) >= 5, "the new thresholds must move some enterprises"
    assert stats.scanned == stats.reevaluated == len(before)
    assert stats.changed == sum(transitions.values())
    assert stats.transitions == transitions
    assert stats.classes == _counts(after)
    _assert_indexes(redis_url, key_prefix, after)


async def test_small_pages_in_flight_together_reach_every_enterprise_once(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    """The next page is re-evaluated while the current one's replies are handled: with pages
    of 3 keys, every enterprise is still counted and re-evaluated exactly once."""
    _, model = new_model
    before = await _build(redis_url, key_prefix)
    expected = {k: reevaluate(s, Params.of(model))[0] for k, s in before.items()}
    client = connect_async(redis_url)
    try:
        store = Store(client, prefix=key_prefix, params=Params.of(model), partitions=PARTITIONS)
        stats = await reclassify(store, page_size=3)
    finally:
        await client.aclose()
    assert _states(redis_url, key_prefix) == expected
    assert stats.scanned == stats.reevaluated == len(before)
    assert stats.classes == _counts(expected)


async def test_a_second_run_does_nothing_and_force_changes_nothing(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    _, model = new_model
    before = await _build(redis_url, key_prefix)
    first = await reclassify_prefix(redis_url, key_prefix, model, PARTITIONS)
    assert first.changed > 0
    done = _states(redis_url, key_prefix)

    again = await reclassify_prefix(redis_url, key_prefix, model, PARTITIONS)
    assert (again.scanned, again.reevaluated, again.changed) == (len(before), 0, 0)
    assert _states(redis_url, key_prefix) == done

    forced = await reclassify_prefix(redis_url, key_prefix, model, PARTITIONS, force=True)
    assert (forced.scanned, forced.reevaluated, forced.changed) == (len(before), len(before), 0)
    assert _states(redis_url, key_prefix) == done
    assert forced.classes == first.classes == _counts(done)
    _assert_indexes(redis_url, key_prefix, done)


async def test_an_enterprise_the_new_model_worker_touched_is_skipped(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    _, model = new_model
    new_params = Params.of(model)
    before = await _build(redis_url, key_prefix)
    (p, uscc), old = next(iter(sorted(before.items())))
    # A worker already rolled to the new model applies one more event to this enterprise.
    complaint = event(
        "complaint.received",
        {"channel": "12315_hotline", "category": "quality"},
        when=dt.datetime.fromtimestamp(old.asof, dt.UTC) + dt.timedelta(days=1),
        subject=uscc,
        eid="after-the-roll",
    )
    change = change_for(complaint, model)
    client = connect_async(redis_url)
    try:
        worker = Store(client, prefix=key_prefix, params=new_params, partitions=PARTITIONS)
        await worker.apply_batch([ApplyRequest(uscc, p, 10_000, change)])
        stats = await reclassify(
            Store(client, prefix=key_prefix, params=new_params, partitions=PARTITIONS)
        )
    finally:
        await client.aclose()

    assert stats.scanned == len(before)
    assert stats.reevaluated == len(before) - 1
    after = _states(redis_url, key_prefix)
    assert after[(p, uscc)] == apply(old, change, new_params)[0]
    others = {k: reevaluate(s, new_params)[0] for k, s in before.items() if k != (p, uscc)}
    assert {k: s for k, s in after.items() if k != (p, uscc)} == others
    _assert_indexes(redis_url, key_prefix, after)


async def test_a_due_moment_reclassify_moves_below_the_watermark_fires_with_the_next_event(
    redis_url: str, key_prefix: str
) -> None:
    """Reclassify re-evaluates each state at its own asof, never at the partition's event
    time; a change it now schedules before the event-time watermark is made, as of its due
    moment, by the partition's next event, which need not raise the watermark."""
    fined, other = "91110000600037341L", "91440101MA5CJQ4N59"
    day0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def change(etype: str, data: dict[str, object], days: int, uscc: str, eid: str):
        ev = event(etype, data, when=day0 + dt.timedelta(days=days), subject=uscc, eid=eid)
        return change_for(ev, MODEL)

    serious = {"decision_number": "D1", "domain": "price", "fine_cny": 0, "severity": "serious"}
    letter = {"channel": "letter", "category": "price"}
    # B_from 20 instead of 10: the serious penalty (25 points, fading) leaves B sooner.
    higher = Params(
        version="higher-b-2026.3",
        thresholds=(20_000_000, *P.thresholds[1:]),
        caps=P.caps,
        horizon=P.horizon,
    )
    client = connect_async(redis_url)
    try:
        before = Store(client, prefix=key_prefix, params=P, partitions=PARTITIONS)
        (penalised,) = await before.apply_batch(
            [ApplyRequest(fined, 0, 0, change("penalty.imposed", serious, 0, fined, "p"))]
        )
        (quiet,) = await before.apply_batch(
            [ApplyRequest(other, 0, 1, change("complaint.received", letter, 100, other, "c1"))]
        )
        assert penalised.outcome.new_class == 2 and quiet.fired == ()
        watermark = await before.event_watermark(0)
        after = Store(client, prefix=key_prefix, params=higher, partitions=PARTITIONS)
        await after.reclassify(after.state_hashes())
        moved = await after.get(0, fined)
        assert moved is not None and moved.klass == 2 and 0 < moved.due <= watermark
        # A late event (day 50) of the other enterprise: the watermark stays, the change fires.
        (late,) = await after.apply_batch(
            [ApplyRequest(other, 0, 2, change("complaint.received", letter, 50, other, "c2"))]
        )
        assert [
            (f.uscc, f.outcome.old_class, f.outcome.new_class, f.outcome.asof) for f in late.fired
        ] == [(fined, 2, 1, moved.due)]
        assert await after.event_watermark(0) == watermark
    finally:
        await client.aclose()


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def publish(self, messages: Sequence[Message]) -> None:
        self.messages.extend(messages)


async def test_alerts_name_the_model_change_and_keep_their_ids_when_run_again(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    _, model = new_model
    before = await _build(redis_url, key_prefix)
    expected = {u: reevaluate(s, Params.of(model))[1] for (_, u), s in before.items()}
    changed = {u: o for u, o in expected.items() if o.old_class != o.new_class}
    first, back, second = _Recorder(), _Recorder(), _Recorder()

    stats = await reclassify_prefix(redis_url, key_prefix, model, PARTITIONS, alerts=first)
    assert stats.alerts == len(first.messages) == len(changed) > 0
    for m in first.messages:
        doc = orjson.loads(m.value)
        data = doc["data"]
        o = changed[doc["subject"]]
        assert m.type == doc["type"] == "riskmon.alert.class_changed"
        assert data["cause"] == {"source": CAUSE_SOURCE, "id": model.version, "type": CAUSE_TYPE}
        assert data["model_version"] == model.version
        assert (data["old_class"], data["new_class"]) == (
            CLASS_NAMES[o.old_class],
            CLASS_NAMES[o.new_class],
        )
        assert [(r["key"], r["points"]) for r in data["reasons"]] == [
            (k, v / 1_000_000) for k, v, _ in o.reasons
        ]

    # Back to the old thresholds and forward again: the same alerts, byte for byte.
    await reclassify_prefix(redis_url, key_prefix, MODEL, PARTITIONS, alerts=back)
    assert len(back.messages) == len(changed)
    assert not {m.id for m in back.messages} & {m.id for m in first.messages}
    await reclassify_prefix(redis_url, key_prefix, model, PARTITIONS, alerts=second)
    assert sorted((m.id, m.value) for m in second.messages) == sorted(
        (m.id, m.value) for m in first.messages
    )


class _Outage(_Recorder):
    """Kafka goes away after ``acked`` pages: the next page's alerts are never acked."""

    def __init__(self, acked: int) -> None:
        super().__init__()
        self.acked = acked

    async def publish(self, messages: Sequence[Message]) -> None:
        if self.acked == 0:
            raise KafkaError("broker gone")
        self.acked -= 1
        await super().publish(messages)


async def test_alerts_a_run_could_not_send_are_sent_by_the_next_run(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    _, model = new_model
    before = await _build(redis_url, key_prefix, enterprises=80)
    changed = {
        u for (_, u), s in before.items() if reevaluate(s, Params.of(model))[1].new_class != s.klass
    }
    client = connect_async(redis_url)
    try:
        store = Store(client, prefix=key_prefix, params=Params.of(model), partitions=PARTITIONS)
        cut = _Outage(acked=1)
        with pytest.raises(KafkaError):
            await reclassify(store, alerts=cut, page_size=2)
        # The crashed run's Redis writes are done, so a re-run re-evaluates none of them...
        unsent = await store.outbox()
        assert unsent and {r.version for r in unsent} == {model.version}
        resumed = _Recorder()
        stats = await reclassify(store, alerts=resumed, page_size=2)
        # ...yet every class change has its alert, once, and the outbox is empty again.
        assert stats.resent == len(unsent) > 0
        sent = [m.key.decode() for m in cut.messages + resumed.messages]
        assert sorted(sent) == sorted(changed)
        assert await store.outbox() == []
    finally:
        await client.aclose()


async def test_a_run_without_alerts_keeps_what_an_earlier_run_left_unsent(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    _, model = new_model
    await _build(redis_url, key_prefix, enterprises=80)
    client = connect_async(redis_url)
    try:
        store = Store(client, prefix=key_prefix, params=Params.of(model), partitions=PARTITIONS)
        with pytest.raises(KafkaError):
            await reclassify(store, alerts=_Outage(acked=0), page_size=2)
        unsent = await store.outbox()
        assert unsent
        quiet = await reclassify(store, page_size=2)  # --no-alerts: says what waits
        assert quiet.unsent == len(unsent) and await store.outbox() == unsent
        later = _Recorder()
        stats = await reclassify(store, alerts=later, page_size=2)
        assert stats.resent == len(later.messages) == len(unsent)
        assert await store.outbox() == []
    finally:
        await client.aclose()


async def test_a_run_without_alerts_leaves_no_outbox(
    redis_url: str, key_prefix: str, new_model: tuple[Path, ScoringModel]
) -> None:
    _, model = new_model
    await _build(redis_url, key_prefix)
    stats = await reclassify_prefix(redis_url, key_prefix, model, PARTITIONS)
    assert stats.changed > 0
    r = connect(redis_url)
    try:
        assert not any(r.exists(Keys(key_prefix).outbox(p)) for p in range(PARTITIONS))
    finally:
        r.close()


def test_no_alert_for_an_enterprise_whose_class_held() -> None:
    from scoring.fold import Outcome
    from scoring.store import ReclassifyResult

    held = ReclassifyResult("91110000600037341L", Outcome(4, 4, 70_000_000, 1, 0))
    moved = ReclassifyResult("91110108551385082Q", Outcome(2, 4, 70_000_000, 1, 0))
    messages = alerts_for([held, moved], "v2")
    # Entering D warrants no on-site task here: only the class-change alert.
    assert [(m.kind, m.key) for m in messages] == [("alert", b"91110108551385082Q")]
    assert messages[0].id == alerts_for([moved], "v2")[0].id != alerts_for([moved], "v3")[0].id


# The command ---------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith("RISKMON_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RISKMON_RUN_FILE", str(tmp_path / "run.json"))  # no `riskmon run`
    yield monkeypatch


async def test_the_command_prints_what_changed(
    redis_url: str,
    key_prefix: str,
    new_model: tuple[Path, ScoringModel],
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, model = new_model
    await _build(redis_url, key_prefix, enterprises=20)
    env.setenv("RISKMON_REDIS_URL", redis_url)
    env.setenv("RISKMON_REDIS_PREFIX", key_prefix)
    env.setenv("RISKMON_PARTITIONS", str(PARTITIONS))
    env.setenv("RISKMON_MODEL_PATH", str(path))
    # main runs its own event loop: call it off this test's loop.
    status = await asyncio.to_thread(main, ["reclassify"])
    out = capsys.readouterr().out
    changed = _states(redis_url, key_prefix)
    assert status == 0
    assert f"to model {model.version}" in out
    assert "enterprises 20: re-evaluated 20" in out
    assert "alerts: off (no Kafka" in out
    assert "enterprises/s" in out
    assert all(s.version == model.version for s in changed.values())

    status = await asyncio.to_thread(main, ["reclassify", "--no-alerts"])
    out = capsys.readouterr().out
    assert status == 0
    assert "re-evaluated 0" in out and "class changed 0" in out and "--force" in out


async def test_the_command_sends_its_alerts_to_the_alerts_topic(
    redis_url: str,
    key_prefix: str,
    kafka_bootstrap: str,
    topic_prefix: str,
    new_model: tuple[Path, ScoringModel],
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kafka import KafkaConsumer, TopicPartition

    path, model = new_model
    topic = f"{topic_prefix}.alerts"
    ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    before = await _build(redis_url, key_prefix, enterprises=12)
    changed = {
        u for (_, u), s in before.items() if reevaluate(s, Params.of(model))[0].klass != s.klass
    }
    assert changed
    env.setenv("RISKMON_REDIS_URL", redis_url)
    env.setenv("RISKMON_KAFKA_BOOTSTRAP", kafka_bootstrap)
    env.setenv("RISKMON_ALERTS_TOPIC", topic)
    env.setenv("RISKMON_PARTITIONS", str(PARTITIONS))
    args = ["reclassify", "--model", str(path), "--prefix", key_prefix]
    assert await asyncio.to_thread(main, args) == 0
    assert (
        f"alerts: to {topic} at {kafka_bootstrap}: {len(changed)} sent" in capsys.readouterr().out
    )

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, consumer_timeout_ms=10_000)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        got = []
        for msg in consumer:
            got.append(msg)
            if len(got) == len(changed):
                break
    finally:
        consumer.close()
    assert {m.key.decode() for m in got} == changed
    for msg in got:
        doc = orjson.loads(msg.value)
        assert dict(msg.headers) == {
            "ce_id": doc["id"].encode(),
            "ce_type": b"riskmon.alert.class_changed",
        }
        assert doc["data"]["cause"]["source"] == CAUSE_SOURCE


def test_the_command_says_when_redis_is_unreachable(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("RISKMON_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["reclassify", "--no-alerts"]) == 1
    err = capsys.readouterr().err
    # the model's activation is recorded before anything is done: that is where it stops
    assert "riskmon reclassify: cannot record model.activate in the audit log" in err
    assert "so nothing was done" in err and "Connect call failed" in err


def test_the_command_needs_a_redis(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reclassify"]) == 2
    assert "no Redis" in capsys.readouterr().err
