"""The published JSON Schemas (schemas/jsonschema/) are current and agree with the decoder.

Upstream producers validate against these files before sending; a file that accepts what riskmon
dead-letters, or rejects what riskmon accepts, misleads them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from alerts.rules import derive
from schemas.alerts import Cause
from schemas.codec import decode_event
from schemas.exceptions import InvalidEventError
from schemas.jsonschemas import SCHEMA_DIR, stale
from scoring.fold import Outcome

ROOT = Path(__file__).resolve().parents[3]
STORY = ROOT / "examples" / "story.jsonl"

#: What producers may send (docs/domain.md §2: the facts riskmon records); riskmon.reevaluate
#: is internal.
INPUT_TYPES = [
    "enterprise.registered",
    "penalty.imposed",
    "penalty.revoked",
    "abnormal_list.added",
    "abnormal_list.removed",
    "serious_violation.added",
    "serious_violation.removed",
    "complaint.received",
    "inspection.completed",
    "case_lead.transferred",
    "monitoring.signal",
    "inspection.required",
    # What people do with tasks (riskmon's plan publisher and API send these).
    "riskmon.task.planned",
    "riskmon.task.assigned",
    "riskmon.task.started",
    "riskmon.task.cancelled",
]


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = orjson.loads((SCHEMA_DIR / name).read_bytes())
    return jsonschema.Draft202012Validator(schema)


def schema_errors(doc: Any, name: str | None = None) -> list[str]:
    name = name or f"{doc['type']}.json"
    return [e.message for e in validator(name).iter_errors(doc)]


def story() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in STORY.read_bytes().splitlines() if line.strip()]


def test_the_committed_schema_files_are_current() -> None:
    assert stale() == [], "run `riskmon schemas` and commit schemas/jsonschema/"


def test_there_is_one_schema_per_input_type_and_one_for_the_output() -> None:
    names = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert names == {f"{t}.json" for t in INPUT_TYPES} | {"riskmon.output.json"}


@pytest.mark.parametrize("name", [*(f"{t}.json" for t in INPUT_TYPES), "riskmon.output.json"])
def test_each_file_is_a_draft_2020_12_schema(name: str) -> None:
    schema = orjson.loads((SCHEMA_DIR / name).read_bytes())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("doc", story(), ids=lambda d: f"{d['id']}-{d['type']}")
def test_every_story_line_validates_against_its_types_schema(doc: dict[str, Any]) -> None:
    assert schema_errors(doc) == []


PENALTY = next(d for d in story() if d["type"] == "penalty.imposed")
REGISTRATION = next(d for d in story() if d["type"] == "enterprise.registered")


def with_data(doc: dict[str, Any], **data: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["data"].update(data)
    return out


def without(doc: dict[str, Any], key: str, in_data: bool = False) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    del (out["data"] if in_data else out)[key]
    return out


INVALID = [
    ("negative fine", with_data(PENALTY, fine_cny=-1)),
    ("unknown severity", with_data(PENALTY, severity="catastrophic")),
    ("unknown data field", with_data(PENALTY, officer="张三")),
    ("missing data field", without(PENALTY, "severity", in_data=True)),
    ("fine as a string", with_data(PENALTY, fine_cny="50000")),
    ("bad division code", with_data(REGISTRATION, division_code="61011")),
    ("bad industry code", with_data(REGISTRATION, industry_code="U9610")),
    ("missing id", without(PENALTY, "id")),
    ("missing time", without(PENALTY, "time")),
    ("specversion 0.3", {**PENALTY, "specversion": "0.3"}),
    ("missing specversion", without(PENALTY, "specversion")),
    # A schema cannot compute the check character, but it can state the USCC's shape.
    ("lower-case subject", {**PENALTY, "subject": "91440101ma5cjq4n59"}),
    ("17-character subject", {**PENALTY, "subject": "91440101MA5CJQ4N5"}),
]


SCHEMA_BUGS: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.parametrize(
    "doc", [pytest.param(d, id=case, marks=SCHEMA_BUGS.get(case, ())) for case, d in INVALID]
)
def test_an_invalid_event_fails_its_schema_and_the_decoder(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventError):
        decode_event(orjson.dumps(doc))
    assert schema_errors(doc) != []


def test_an_event_fails_the_schema_of_another_type() -> None:
    assert schema_errors(PENALTY, "complaint.received.json") != []


def test_cloudevents_extension_attributes_accepted_by_riskmon_pass_the_schema() -> None:
    doc = {**PENALTY, "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    decode_event(orjson.dumps(doc))  # riskmon accepts it (schemas/events.py: Envelope)
    assert schema_errors(doc) == []


@pytest.mark.parametrize(
    ("old", "new", "cause_type"),
    [
        (2, 3, "penalty.imposed"),
        (0, 2, "enterprise.registered"),
        (3, 4, "penalty.imposed"),
        (2, 4, "serious_violation.added"),
    ],
)
def test_riskmon_output_validates_against_the_output_schema(
    old: int, new: int, cause_type: str
) -> None:
    cause = Cause(source="/gsxt/610112", id="x-1", type=cause_type)
    out = Outcome(old, new, 61_000_000, 1_778_000_000, 0, (("pen:罚-1", 18_000_000, 0),))
    msgs = derive("91610112MA6TGQ1K2M", cause, out, "default-2026.1")
    assert msgs
    for msg in msgs:
        assert schema_errors(orjson.loads(msg.value), "riskmon.output.json") == []
