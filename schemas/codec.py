"""Bytes in, typed events out (and back): the only module that calls orjson for events.

Validation is staged so that a dead letter names the *first* thing wrong, in a closed set of
reasons: oversized → not_json → not_cloudevent → unknown_type → invalid_uscc → invalid_data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, cast

import orjson
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError, create_model

from schemas.events import DATA_MODELS, Envelope, EventType
from schemas.exceptions import InvalidEventError
from schemas.uscc import validate as validate_uscc

__all__ = ["CreditEvent", "decode_event", "decode_staged", "dumps", "encode_event", "loads"]

#: Default size limit of one record's value; a CloudEvent of ours is well under 2 KiB.
DEFAULT_MAX_BYTES = 64 * 1024


@dataclass(slots=True)
class CreditEvent:
    """A validated credit event. ``time`` is timezone-aware; ``data`` is the type's model."""

    id: str
    source: str
    type: EventType
    subject: str
    time: dt.datetime
    data: BaseModel

    @property
    def epoch_seconds(self) -> int:
        """Event time as whole Unix seconds (the resolution scores are computed at)."""
        return int(self.time.timestamp())


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "(root)"
    return f"{where}: {err['msg']}"


def _typed_envelope(etype: EventType, data: type[BaseModel]) -> type[Envelope]:
    # The envelope with this type's data model: one pass of pydantic-core over the JSON bytes.
    # ``time`` is strict: from JSON that admits RFC 3339 strings only, as the staged path does.
    return create_model(
        f"_{data.__name__}Envelope",
        __base__=Envelope,
        type=(cast(Any, Literal[etype.value]), ...),
        time=(Annotated[AwareDatetime, Field(strict=True)], ...),
        data=(data, ...),
    )


_FAST: TypeAdapter[Envelope] = TypeAdapter(
    Annotated[  # type: ignore[arg-type]  # a Union built from a tuple: mypy cannot see it
        Union[tuple(_typed_envelope(t, m) for t, m in DATA_MODELS.items())],  # noqa: UP007
        Field(discriminator="type"),
    ]
)


def decode_event(raw: bytes | None, max_bytes: int = DEFAULT_MAX_BYTES) -> CreditEvent:
    """Validate one Kafka record value; raises :class:`InvalidEventError` naming the reason.

    A valid event takes one pass of pydantic-core over its bytes; anything it refuses is
    decoded again, stage by stage, to name the first thing wrong.
    """
    if raw is None:
        raise InvalidEventError("not_json", "record has no value (tombstone)")
    if len(raw) > max_bytes:
        raise InvalidEventError("oversized", f"{len(raw)} bytes > limit {max_bytes}")
    try:
        env = _FAST.validate_json(raw)
    except ValidationError:
        return decode_staged(raw)
    try:
        subject = validate_uscc(env.subject)
    except ValueError as exc:
        raise InvalidEventError("invalid_uscc", f"subject: {exc}") from exc
    data = cast(BaseModel, env.data)
    return CreditEvent(
        id=env.id,
        source=env.source,
        type=EventType(env.type),
        subject=subject,
        time=env.time,
        data=data,
    )


def decode_staged(raw: bytes) -> CreditEvent:
    """:func:`decode_event` one stage at a time (a refused event's reason; the reference)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError("not_json", str(exc)[:200]) from exc
    if not isinstance(doc, dict):
        raise InvalidEventError("not_cloudevent", f"top level is {type(doc).__name__}, not object")
    try:
        env = Envelope.model_validate(doc)
    except ValidationError as exc:
        raise InvalidEventError("not_cloudevent", _first_error(exc)) from exc
    try:
        etype = EventType(env.type)
    except ValueError as exc:
        raise InvalidEventError("unknown_type", f"type {env.type[:128]!r} is not known") from exc
    try:
        subject = validate_uscc(env.subject)
    except ValueError as exc:
        raise InvalidEventError("invalid_uscc", f"subject: {exc}") from exc
    try:
        data = DATA_MODELS[etype].model_validate(env.data)
    except ValidationError as exc:
        raise InvalidEventError("invalid_data", "data." + _first_error(exc)) from exc
    return CreditEvent(
        id=env.id, source=env.source, type=etype, subject=subject, time=env.time, data=data
    )


def encode_event(event: CreditEvent) -> bytes:
    """The structured-mode JSON of ``event``; ``decode_event(encode_event(e)) == e``."""
    return dumps(
        {
            "specversion": "1.0",
            "id": event.id,
            "source": event.source,
            "type": str(event.type),
            "subject": event.subject,
            "time": event.time.isoformat(),
            "datacontenttype": "application/json",
            "data": event.data.model_dump(mode="json"),
        }
    )


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)
