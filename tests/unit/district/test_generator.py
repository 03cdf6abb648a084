"""The synthetic district: reproducible, valid, shaped as designed, and driven by its hidden
propensity (which must show in what regulators would see), without holding the stream."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import itertools
import statistics
import sys
import types
from collections import Counter, defaultdict

import pytest

from district.generator import DistrictSpec, enterprise, enterprises, events, history, lines
from district.shares import DIVISIONS, section_shares
from schemas.codec import CreditEvent, decode_event, encode_event
from schemas.events import TASK_COMMANDS, EventType
from schemas.uscc import is_valid

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def digest(spec: DistrictSpec) -> str:
    h = hashlib.sha256()
    for line in lines(spec):
        h.update(line + b"\n")
    return h.hexdigest()


def test_same_seed_same_bytes_and_another_seed_differs() -> None:
    a = DistrictSpec(now=NOW, enterprises=300, seed=7)
    assert digest(a) == digest(DistrictSpec(now=NOW, enterprises=300, seed=7))
    assert digest(a) != digest(DistrictSpec(now=NOW, enterprises=300, seed=8))


def test_an_enterprise_does_not_depend_on_the_size_of_the_district() -> None:
    small = DistrictSpec(now=NOW, enterprises=10, seed=3)
    large = DistrictSpec(now=NOW, enterprises=10_000, seed=3)
    assert enterprise(small, 4) == enterprise(large, 4)
    assert history(small, enterprise(small, 4)) == history(large, enterprise(large, 4))


@pytest.fixture(scope="module")
def district() -> tuple[DistrictSpec, list[CreditEvent]]:
    spec = DistrictSpec(now=NOW, enterprises=4_000, seed=11)
    return spec, [decode_event(line) for line in lines(spec)]


def test_every_event_decodes_and_stays_in_the_period(
    district: tuple[DistrictSpec, list[CreditEvent]],
) -> None:
    spec, decoded = district
    evs = decoded
    assert len(evs) > 4_000
    start = NOW - dt.timedelta(days=spec.period_days)
    for ev in evs:
        assert start <= ev.time <= NOW
    kinds = {ev.type for ev in evs}
    # every type the district's own systems send; riskmon's own (time, tasks) come from riskmon
    assert kinds == set(EventType) - {EventType.REEVALUATE} - TASK_COMMANDS
    ids = [(ev.source, ev.id) for ev in evs]
    assert len(ids) == len(set(ids))


def test_usccs_are_valid_and_unique() -> None:
    spec = DistrictSpec(now=NOW, enterprises=20_000, seed=5)
    codes = [e.uscc for e in enterprises(spec)]
    assert all(is_valid(c) for c in codes)
    assert len(set(codes)) == len(codes)


def test_removals_follow_their_listings(district: tuple[DistrictSpec, list[CreditEvent]]) -> None:
    _, evs = district
    added: dict[tuple[str, str], dt.datetime] = {}
    pairs = {
        EventType.ABNORMAL_LIST_REMOVED: EventType.ABNORMAL_LIST_ADDED,
        EventType.SERIOUS_VIOLATION_REMOVED: EventType.SERIOUS_VIOLATION_ADDED,
        EventType.PENALTY_REVOKED: EventType.PENALTY_IMPOSED,
    }
    removals = 0
    for ev in evs:
        number = getattr(ev.data, "decision_number", None)
        if ev.type in pairs.values():
            added[(ev.subject, number)] = ev.time
        elif ev.type in pairs:
            removals += 1
            # seen earlier in the stream, and earlier in event time
            assert added[(ev.subject, number)] < ev.time
    assert removals > 50


def test_shares_are_as_designed() -> None:
    spec = DistrictSpec(now=NOW, enterprises=5_000, seed=2)
    firms = list(enterprises(spec))
    sections = Counter(f.industry[0] for f in firms)
    divisions = Counter(f.division for f in firms)
    for letter, share in section_shares().items():
        assert abs(sections[letter] / len(firms) - share) < 0.025, letter
    assert [s for s, _ in sections.most_common(2)] == ["F", "L"]
    assert divisions.most_common(1)[0][0] == "610112"
    for code, share in DIVISIONS.items():
        assert abs(divisions[code] / len(firms) - share) < 0.025, code
    assert set(divisions) <= {f"6101{n:02d}" for n in range(2, 19)}
    new_economy = sum(f.new_economy for f in firms) / len(firms)
    key = Counter(f.key_sector for f in firms)
    assert 0.15 < new_economy < 0.35
    assert key["food"] > key["special_equipment"] > 0 and key["drug"] > 0
    # the truth is not in the events, but is there to judge by
    assert 0.05 < statistics.mean(f.propensity for f in firms) < 0.2


def test_annual_report_lapses_are_listed_in_july(
    district: tuple[DistrictSpec, list[CreditEvent]],
) -> None:
    _, evs = district
    lapses = [
        ev
        for ev in evs
        if ev.type == EventType.ABNORMAL_LIST_ADDED and ev.data.reason == "annual_report_missing"
    ]
    assert len(lapses) > 50
    assert {ev.time.astimezone(dt.timezone(dt.timedelta(hours=8))).month for ev in lapses} == {7}


def test_higher_propensity_shows_as_more_penalties_and_problems_found() -> None:
    spec = DistrictSpec(now=NOW, enterprises=6_000, seed=13)
    per_firm: list[tuple[float, int, int, int]] = []
    for ent in enterprises(spec):
        evs = history(spec, ent)
        penalties = sum(e.type == EventType.PENALTY_IMPOSED for e in evs)
        checks = [e for e in evs if e.type == EventType.INSPECTION_COMPLETED]
        found = sum(e.data.result == "problems_found" for e in checks)
        per_firm.append((ent.propensity, penalties, found, len(checks)))
    per_firm.sort()
    quartiles = [per_firm[i * 1_500 : (i + 1) * 1_500] for i in range(4)]
    penalty_rate = [sum(r[1] for r in q) / len(q) for q in quartiles]
    found_rate = [sum(r[2] for r in q) / max(1, sum(r[3] for r in q)) for q in quartiles]
    check_rate = [sum(r[3] for r in q) / len(q) for q in quartiles]
    assert penalty_rate == sorted(penalty_rate) and penalty_rate[3] > 3 * penalty_rate[0]
    assert found_rate == sorted(found_rate) and found_rate[3] > 3 * found_rate[0]
    # spot checks are drawn at random: as many per firm in every quartile
    assert max(check_rate) < 1.3 * min(check_rate)


def test_the_stream_is_generated_not_held() -> None:
    spec = DistrictSpec(now=NOW, enterprises=60_000, seed=1)
    stream = lines(spec)
    assert isinstance(stream, types.GeneratorType)
    # Allocated blocks after 20k events and after 200k: a stream that kept its events (each
    # one a dozen objects or more) would have millions more by the end; a chunked one levels off.
    blocks: dict[int, int] = {}
    count = 0
    for count, _ in enumerate(itertools.islice(stream, 200_000), 1):
        if count in (20_000, 200_000):
            gc.collect()
            blocks[count] = sys.getallocatedblocks()
    assert count == 200_000
    assert blocks[200_000] - blocks[20_000] < 30_000, blocks


def test_events_per_enterprise_group_by_subject() -> None:
    spec = DistrictSpec(now=NOW, enterprises=200, seed=4, chunk=50)
    by_subject: dict[str, int] = defaultdict(int)
    for ev in events(spec):
        by_subject[ev.subject] += 1
    assert len(by_subject) == 200
    assert sum(by_subject.values()) == sum(len(history(spec, e)) for e in enterprises(spec))


def test_the_generator_is_pure() -> None:
    from tests.support.imports import IMPURE, ROOT, imported, top

    for path in sorted((ROOT / "district").glob("*.py")):
        assert [m for _, m in imported(path) if top(m) in IMPURE | {"io", "sys"}] == [], path


def test_live_events_are_valid_new_and_favour_the_riskier_firms() -> None:
    from district.generator import live_events

    spec = DistrictSpec(now=NOW, enterprises=500, seed=6)
    times = [NOW + dt.timedelta(seconds=i) for i in range(3_000)]
    evs = list(live_events(spec, times))
    assert evs == list(live_events(spec, times))  # deterministic for the same clock
    history_ids = {(e.source, e.id) for e in events(spec)}
    ids = {(e.source, e.id) for e in evs}
    assert len(ids) == len(evs) and not ids & history_ids
    assert [decode_event(encode_event(e)) for e in evs[:200]] == evs[:200]
    assert all(e.time == t for e, t in zip(evs, times, strict=True))
    truth = {e.uscc: e.propensity for e in enterprises(spec)}
    acting = statistics.mean(truth[e.subject] for e in evs)
    assert acting > 1.5 * statistics.mean(truth.values())
