"""The wire layout: what Python packs is where apply.lua's named positions read it, and a
stored state reads back as it was written."""

from __future__ import annotations

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from scoring.changes import Change, Contribution, Profile
from scoring.fold import EnterpriseState, Params
from scoring.store import ApplyRequest, decode_state, encode_state, events_arg, params_arg
from scoring.store.script import SOURCE, lua_constants
from scoring.store.wire import ledger_field, stored_asof, version_id
from scoring.words import encode_word

#: apply.lua's field positions (1-based, as Lua indexes).
LUA = lua_constants(SOURCE)


def at(fields: list, name: str) -> object:
    """The field apply.lua reads as ``name``."""
    return fields[LUA[name] - 1]


CONTRIBUTION = Contribution(
    key="pen:D1",
    dimension=3,
    time=1_700_000_000,
    points=37.5,
    half_life=15_552_000,
    expires=1_800_000_000,
    floor=4,
    tiebreak=12345,
    cancelled=True,
    ref="food/serious",
)
PROFILE = Profile("610112", "F5211", True, "farmers_cooperative", 1_600_000_000, 77)


def test_an_event_is_packed_where_apply_lua_reads_it() -> None:
    # (a hash whose bytes are ASCII, so that the test can read the packed strings as text)
    change = Change("0011223344556677", 1_700_000_100, CONTRIBUTION, "abn:X", PROFILE)
    (event,) = msgpack.unpackb(events_arg([ApplyRequest("U1", 3, 41, change)]), raw=False)
    assert at(event, "EV_USCC") == "U1"
    assert at(event, "EV_OFFSET") == 41
    assert at(event, "EV_ASOF") == 1_700_000_100
    assert at(event, "EV_CANCEL") == "abn:X"
    assert at(event, "EV_PROFILE") is not False
    incoming = at(event, "EV_CONTRIBUTION")
    assert isinstance(incoming, list)
    assert at(incoming, "C_KEY") == "pen:D1"
    assert at(incoming, "C_DIMENSION") == 3
    assert at(incoming, "C_TIME") == 1_700_000_000
    assert at(incoming, "C_POINTS") == 37.5
    assert at(incoming, "C_HALF_LIFE") == 15_552_000
    assert at(incoming, "C_EXPIRES") == 1_800_000_000
    assert at(incoming, "C_FLOOR") == 4
    assert at(incoming, "C_TIEBREAK") == 12345
    # An incoming contribution has no `cancelled`: its reference comes in that place.
    assert len(incoming) == LUA["C_CANCELLED"]
    assert at(incoming, "C_CANCELLED") == encode_word("food/serious")


def test_the_ledger_field_is_the_event_hash_as_bytes() -> None:
    change = Change("00112233aabbccdd", 1)
    raw = msgpack.unpackb(events_arg([ApplyRequest("U1", 0, -1, change)]), raw=True)
    assert (
        at(raw[0], "EV_HASH")
        == ledger_field("00112233aabbccdd")
        == bytes.fromhex("00112233aabbccdd")
    )


def test_absent_parts_of_an_event_are_false_or_empty() -> None:
    (event,) = msgpack.unpackb(events_arg([ApplyRequest("U1", 0, -1, Change("00" * 8, 5))]))
    assert at(event, "EV_CONTRIBUTION") is False
    assert at(event, "EV_PROFILE") is False
    assert at(event, "EV_CANCEL") == ""
    assert at(event, "EV_OFFSET") == -1


def test_the_model_is_passed_where_apply_lua_reads_it() -> None:
    p = Params("m-1", (10, 20, 30), (1, 2, 3, 4, 5), 86_400, lateness=7_200)
    words = params_arg(p, ledger_window=500).split(" ")
    assert int(at(words, "PARAM_VERSION")) == version_id("m-1")
    first = LUA["PARAM_THRESHOLDS"] - 1
    assert [int(w) for w in words[first : first + 3]] == [10, 20, 30]
    first = LUA["PARAM_CAPS"] - 1
    assert [int(w) for w in words[first : first + 5]] == [1, 2, 3, 4, 5]
    assert int(at(words, "PARAM_HORIZON")) == 86_400
    assert int(at(words, "PARAM_WINDOW")) == 500
    assert int(at(words, "PARAM_LATENESS")) == 7_200


def test_a_stored_state_has_apply_luas_layout() -> None:
    state = EnterpriseState(
        contributions={CONTRIBUTION.key: CONTRIBUTION},
        asof=1_700_000_100,
        klass=4,
        score=55_000_000,
        due=1_800_000_000,
        profile=PROFILE,
        version="m-1",
    )
    fields = msgpack.unpackb(encode_state(state))
    assert at(fields, "ST_VERSION") == version_id("m-1")
    assert at(fields, "ST_ASOF") == stored_asof(encode_state(state)) == 1_700_000_100
    assert at(fields, "ST_CLASS") == 4
    assert at(fields, "ST_SCORE") == 55_000_000
    assert at(fields, "ST_DUE") == 1_800_000_000
    profile = at(fields, "ST_PROFILE")
    assert isinstance(profile, list)
    assert at(profile, "PROFILE_TIME") == 1_600_000_000
    assert at(profile, "PROFILE_TIEBREAK") == 77
    (stored,) = at(fields, "ST_CONTRIBUTIONS")
    assert at(stored, "C_CANCELLED") == 1
    assert at(stored, "C_REF") == encode_word("food/serious")
    assert len(stored) == LUA["C_REF"]


contributions = st.builds(
    Contribution,
    key=st.text(min_size=1, max_size=12),
    dimension=st.integers(1, 5),
    time=st.integers(-1, 2**33),
    points=st.floats(-1000, 1000, allow_nan=False),
    half_life=st.integers(0, 2**31),
    expires=st.integers(0, 2**33),
    floor=st.integers(0, 4),
    tiebreak=st.integers(0, 2**32 - 1),
    cancelled=st.booleans(),
    ref=st.sampled_from(["", "food/serious", "a word not in the table"]),
)
profiles = st.builds(
    Profile,
    division=st.sampled_from(["610112", "110000", "x1"]),
    industry=st.sampled_from(["F5211", "C"]),
    new_economy=st.booleans(),
    entity_type=st.sampled_from(["enterprise", "something new"]),
    time=st.integers(0, 2**33),
    tiebreak=st.integers(0, 2**32 - 1),
)
states = st.builds(
    EnterpriseState,
    contributions=st.lists(contributions, max_size=6).map(lambda cs: {c.key: c for c in cs}),
    asof=st.integers(0, 2**33),
    klass=st.integers(1, 4),
    score=st.integers(0, 10**9),
    due=st.integers(0, 2**33),
    profile=st.none() | profiles,
    version=st.sampled_from(["m-1", "default-2026.1"]),
)


@given(states)
def test_a_state_reads_back_as_written(state: EnterpriseState) -> None:
    raw = encode_state(state)
    assert decode_state(raw, {version_id(state.version): state.version}) == state
    assert stored_asof(raw) == state.asof


def test_an_unknown_enterprise_has_no_state() -> None:
    assert decode_state(None) is None
