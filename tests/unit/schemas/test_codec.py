"""The codec at the input edge: every bad record dead-letters with the reason of its first problem.

The reasons are a closed, ordered set (oversized → not_json → not_cloudevent → unknown_type →
invalid_uscc → invalid_data): an operator reading the dead-letter topic sees *why* a record was
refused, and a record with two problems is reported under the one a producer must fix first.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import (
    DEFAULT_MAX_BYTES,
    CreditEvent,
    decode_event,
    decode_staged,
    encode_event,
)
from schemas.events import EventType, PenaltyImposed
from schemas.exceptions import InvalidEventError, SchemaError

STORY = Path(__file__).resolve().parents[3] / "examples" / "story.jsonl"

VALID_USCC = "91110108551385082Q"
INVALID_USCC = "91350203M0001QAY9B"  # check character is wrong (docs/domain.md §5)

PENALTY: dict[str, Any] = {
    "specversion": "1.0",
    "id": "t-0001",
    "source": "/gsxt/610112",
    "type": "penalty.imposed",
    "subject": VALID_USCC,
    "time": "2026-03-02T10:00:00+08:00",
    "datacontenttype": "application/json",
    "data": {
        "decision_number": "西未市监罚〔2026〕0001号",
        "domain": "food",
        "fine_cny": 50_000,
        "severity": "ordinary",
    },
}

REGISTRATION: dict[str, Any] = {
    **PENALTY,
    "type": "enterprise.registered",
    "data": {
        "name": "西安未央示例有限公司",
        "entity_type": "enterprise",
        "division_code": "610112",
        "industry_code": "F5191",
        "founded_on": "2025-03-01",
        "registered_capital_cny": 1_000_000,
    },
}

_DROP = object()


def mutate(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``base``; ``a__b=v`` sets ``base[a][b]``, a value of ``_DROP`` removes it."""
    doc = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = doc
        for p in parents:
            target = target[p]
        if value is _DROP:
            del target[last]
        else:
            target[last] = value
    return doc


def raw(doc: Any) -> bytes:
    return orjson.dumps(doc)


def reason_of(record: bytes | None, **kwargs: Any) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as info:
        decode_event(record, **kwargs)
    return info.value


def test_the_base_documents_are_valid() -> None:
    # Every rejection below is caused by its one mutation, not by a broken base document.
    assert decode_event(raw(PENALTY)).type is EventType.PENALTY_IMPOSED
    assert decode_event(raw(REGISTRATION)).type is EventType.ENTERPRISE_REGISTERED


DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
DEEP_IN_DATA = raw(mutate(PENALTY, data__x="@")).replace(b'"@"', b"[" * 100_000 + b"]" * 100_000)

CASES: list[tuple[str, bytes | None, str, str]] = [
    # (case, record value, reason, a fragment the detail must contain)
    ("garbage bytes", b"\xff\xfe\x00garbage", "not_json", ""),
    ("empty value", b"", "not_json", ""),
    ("tombstone (None value)", None, "not_json", "tombstone"),
    ("truncated JSON", raw(PENALTY)[:-5], "not_json", ""),
    ("python repr, not JSON", b"{'id': 'x'}", "not_json", ""),
    ("JSON array", raw([PENALTY]), "not_cloudevent", "list"),
    ("JSON string", b'"penalty.imposed"', "not_cloudevent", "str"),
    ("JSON null", b"null", "not_cloudevent", ""),
    ("missing id", raw(mutate(PENALTY, id=_DROP)), "not_cloudevent", "id"),
    ("empty id", raw(mutate(PENALTY, id="")), "not_cloudevent", "id"),
    ("missing source", raw(mutate(PENALTY, source=_DROP)), "not_cloudevent", "source"),
    ("missing subject", raw(mutate(PENALTY, subject=_DROP)), "not_cloudevent", "subject"),
    ("specversion 0.3", raw(mutate(PENALTY, specversion="0.3")), "not_cloudevent", "specversion"),
    ("missing time", raw(mutate(PENALTY, time=_DROP)), "not_cloudevent", "time"),
    ("naive time", raw(mutate(PENALTY, time="2026-03-02T10:00:00")), "not_cloudevent", "time"),
    ("time not a date", raw(mutate(PENALTY, time="yesterday")), "not_cloudevent", "time"),
    ("missing data", raw(mutate(PENALTY, data=_DROP)), "not_cloudevent", "data"),
    ("data not an object", raw(mutate(PENALTY, data="x")), "not_cloudevent", "data"),
    (
        "extension name with a hyphen",
        raw(mutate(PENALTY, **{"trace-parent": "00-ab"})),
        "not_cloudevent",
        "trace-parent",
    ),
    (
        "extension name in upper case",
        raw(mutate(PENALTY, TraceParent="00-ab")),
        "not_cloudevent",
        "TraceParent",
    ),
    (
        "extension name longer than 20 characters",
        raw(mutate(PENALTY, abcdefghijklmnopqrstu="x")),
        "not_cloudevent",
        "abcdefghijklmnopqrstu",
    ),
    (
        "extension value an object",
        raw(mutate(PENALTY, region={"code": "610112"})),
        "not_cloudevent",
        "region",
    ),
    ("extension value null", raw(mutate(PENALTY, region=None)), "not_cloudevent", "region"),
    (
        "wrong datacontenttype",
        raw(mutate(PENALTY, datacontenttype="text/xml")),
        "not_cloudevent",
        "datacontenttype",
    ),
    (
        "unknown type",
        raw(mutate(PENALTY, type="penalty.created")),
        "unknown_type",
        "penalty.created",
    ),
    ("type in upper case", raw(mutate(PENALTY, type="PENALTY.IMPOSED")), "unknown_type", ""),
    (
        "our own output type on the input topic",
        raw(mutate(PENALTY, type="riskmon.alert.class_changed")),
        "unknown_type",
        "",
    ),
    ("wrong check character", raw(mutate(PENALTY, subject=INVALID_USCC)), "invalid_uscc", ""),
    (
        "lower-case USCC",
        raw(mutate(PENALTY, subject="91440101ma5cjq4n59")),
        "invalid_uscc",
        "",
    ),
    ("17 characters", raw(mutate(PENALTY, subject=VALID_USCC[:-1])), "invalid_uscc", ""),
    (
        "letter O outside the alphabet",
        raw(mutate(PENALTY, subject="91440101MA5CJQ4NO9")),
        "invalid_uscc",
        "",
    ),
    (
        "missing data field",
        raw(mutate(PENALTY, data__severity=_DROP)),
        "invalid_data",
        "data.severity",
    ),
    (
        "unknown extra field in data",
        raw(mutate(PENALTY, data__officer="张三")),
        "invalid_data",
        "data.officer",
    ),
    ("negative fine", raw(mutate(PENALTY, data__fine_cny=-1)), "invalid_data", "data.fine_cny"),
    (
        "unknown severity",
        raw(mutate(PENALTY, data__severity="catastrophic")),
        "invalid_data",
        "data.severity",
    ),
    (
        "division code with 5 digits",
        raw(mutate(REGISTRATION, data__division_code="61011")),
        "invalid_data",
        "data.division_code",
    ),
    (
        "division code starting with 0",
        raw(mutate(REGISTRATION, data__division_code="010112")),
        "invalid_data",
        "data.division_code",
    ),
    (
        "industry section U (sections are A-T)",
        raw(mutate(REGISTRATION, data__industry_code="U9610")),
        "invalid_data",
        "data.industry_code",
    ),
    (
        "industry code with 5 digits",
        raw(mutate(REGISTRATION, data__industry_code="F51911")),
        "invalid_data",
        "data.industry_code",
    ),
    (
        "industry section in lower case",
        raw(mutate(REGISTRATION, data__industry_code="f5191")),
        "invalid_data",
        "data.industry_code",
    ),
    # The first problem is the one named.
    (
        "unknown type and invalid USCC",
        raw(mutate(PENALTY, type="penalty.created", subject=INVALID_USCC)),
        "unknown_type",
        "",
    ),
    (
        "invalid USCC and invalid data",
        raw(mutate(PENALTY, subject=INVALID_USCC, data__fine_cny=-1)),
        "invalid_uscc",
        "",
    ),
    (
        "missing id and unknown type",
        raw(mutate(PENALTY, id=_DROP, type="penalty.created")),
        "not_cloudevent",
        "id",
    ),
]


@pytest.mark.parametrize(
    ("record", "reason", "fragment"),
    [pytest.param(r, reason, frag, id=case) for case, r, reason, frag in CASES],
)
def test_each_bad_record_is_dead_lettered_with_its_first_problem(
    record: bytes | None, reason: str, fragment: str
) -> None:
    err = reason_of(record)
    assert err.reason == reason
    assert fragment in err.detail
    assert str(err).startswith(f"{reason}: ")
    assert isinstance(err, SchemaError)
    assert err.retryable is False


LAX = [
    # (case, record value, reason): JSON of the wrong type is not coerced (schemas are strict at
    # the edge; the published JSON Schema rejects all of these).
    ("fine as a JSON string", raw(mutate(PENALTY, data__fine_cny="50000")), "invalid_data"),
    ("fine as true", raw(mutate(PENALTY, data__fine_cny=True)), "invalid_data"),
    ("licence_revoked as 'yes'", raw(mutate(PENALTY, data__licence_revoked="yes")), "invalid_data"),
    ("licence_revoked as 1", raw(mutate(PENALTY, data__licence_revoked=1)), "invalid_data"),
    ("time as Unix seconds", raw(mutate(PENALTY, time=1_772_416_800)), "not_cloudevent"),
]


@pytest.mark.parametrize(
    ("record", "reason"), [pytest.param(r, reason, id=case) for case, r, reason in LAX]
)
def test_values_of_the_wrong_json_type_are_not_coerced(record: bytes, reason: str) -> None:
    assert reason_of(record).reason == reason


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(DEEP_ARRAY, id="array"),
        pytest.param(DEEP_OBJECT, id="object"),
        pytest.param(DEEP_IN_DATA, id="inside data"),
    ],
)
def test_json_nested_100k_levels_is_not_json_and_does_not_crash(record: bytes) -> None:
    err = reason_of(record, max_bytes=len(record))
    assert err.reason == "not_json"


def test_oversized_is_checked_before_anything_else() -> None:
    garbage = b"\xff" * (DEFAULT_MAX_BYTES + 1)
    err = reason_of(garbage)
    assert err.reason == "oversized"
    assert str(DEFAULT_MAX_BYTES) in err.detail


def test_the_size_limit_is_inclusive() -> None:
    valid = raw(PENALTY)
    limit = len(valid) + 100
    at_limit = valid + b" " * (limit - len(valid))  # trailing whitespace is valid JSON
    assert decode_event(at_limit, max_bytes=limit).id == PENALTY["id"]
    err = reason_of(at_limit + b" ", max_bytes=limit)
    assert err.reason == "oversized"
    assert f"{limit + 1} bytes" in err.detail


def test_cloudevents_extension_attributes_are_accepted() -> None:
    doc = mutate(PENALTY, traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    doc.update(partitionkey=VALID_USCC, sequence=7, sampled=True)
    assert decode_event(raw(doc)).id == PENALTY["id"]


def test_a_decoded_event_is_typed() -> None:
    ev = decode_event(raw(PENALTY))
    assert ev.type is EventType.PENALTY_IMPOSED
    assert ev.subject == VALID_USCC
    assert isinstance(ev.data, PenaltyImposed)
    assert ev.data.fine_cny == 50_000
    # 2026-03-02T10:00:00+08:00 is 02:00 UTC: 1772416800 (20514 days × 86400 + 7200).
    assert ev.time.utcoffset() is not None
    assert ev.epoch_seconds == 20_514 * 86_400 + 2 * 3_600


def story_lines() -> list[bytes]:
    return [line for line in STORY.read_bytes().splitlines() if line.strip()]


def test_the_story_has_every_input_event_type() -> None:
    types = {orjson.loads(line)["type"] for line in story_lines()}
    assert types == {str(t) for t in EventType} - {str(EventType.REEVALUATE)}


@pytest.mark.parametrize("line", story_lines(), ids=lambda b: orjson.loads(b)["id"])
def test_every_story_line_decodes_and_round_trips(line: bytes) -> None:
    ev = decode_event(line)
    doc = orjson.loads(line)
    assert (ev.id, ev.source, str(ev.type), ev.subject) == (
        doc["id"],
        doc["source"],
        doc["type"],
        doc["subject"],
    )
    again = decode_event(encode_event(ev))
    assert isinstance(again, CreditEvent)
    assert again == ev
    assert again.epoch_seconds == ev.epoch_seconds
    # Encoding is stable: a re-encoded event encodes to the same bytes.
    assert encode_event(again) == encode_event(ev)


def _outcome(decode: Any, record: bytes) -> CreditEvent | tuple[str, str]:
    try:
        return decode(record)  # type: ignore[no-any-return]
    except InvalidEventError as exc:
        return (exc.reason, exc.detail)


@given(
    base=st.sampled_from(
        [PENALTY, *(orjson.loads(line) for line in STORY.read_bytes().splitlines())]
    ),
    field=st.sampled_from(["id", "source", "type", "subject", "time", "data", "specversion", "x"]),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=30),
        st.sampled_from(["1.0", "2026-03-02T10:00:00+08:00", "2026-03-02", VALID_USCC, "{}"]),
        st.dictionaries(
            st.sampled_from(["decision_number", "severity", "fine_cny"]),
            st.integers(-(2**63), 2**63 - 1),
        ),
    ),
)
@settings(max_examples=400, deadline=None)
def test_the_one_pass_decoder_agrees_with_the_staged_one(
    base: dict[str, Any], field: str, value: Any
) -> None:
    # The fast path may only ever accept what the staged reference accepts, with equal results;
    # whatever it refuses is decoded by the reference, so the reasons are the reference's.
    doc = {**base, field: value}
    record = orjson.dumps(doc)
    assert _outcome(decode_event, record) == _outcome(decode_staged, record)
    assert _outcome(decode_event, orjson.dumps(base)) == _outcome(decode_staged, orjson.dumps(base))
