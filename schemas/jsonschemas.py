"""JSON Schemas of every event riskmon accepts and emits, generated from the pydantic models.

They are kept in ``schemas/jsonschema/`` so upstream producers can validate before sending;
``riskmon schemas --check`` (and a test) fail when the files fall behind the models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from schemas.alerts import OutgoingEnvelope
from schemas.events import DATA_MODELS, CloudEvent, EventType

__all__ = ["SCHEMA_DIR", "generate", "stale", "write"]

SCHEMA_DIR = Path(__file__).parent / "jsonschema"


def generate() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema (draft 2020-12) for each event type and for riskmon's output."""
    out: dict[str, dict[str, Any]] = {}
    for etype, model in DATA_MODELS.items():
        if etype == EventType.REEVALUATE:
            continue  # internal: only riskmon's ticker may publish it
        schema = CloudEvent[model].model_json_schema()  # type: ignore[valid-type]
        schema["properties"]["type"] = {"const": str(etype), "title": "Type", "type": "string"}
        schema["title"] = f"riskmon input event {etype}"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[f"{etype}.json"] = schema
    alerts = OutgoingEnvelope.model_json_schema()
    alerts["title"] = "riskmon output: alerts, tasks, observation periods and reminders"
    alerts["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["riskmon.output.json"] = alerts
    return out


def _render(schema: dict[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in generate().items():
        path = directory / name
        path.write_bytes(_render(schema))
        paths.append(path)
    return paths


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files missing or different from what the models generate now."""
    return [
        name
        for name, schema in generate().items()
        if not (directory / name).is_file() or (directory / name).read_bytes() != _render(schema)
    ]
