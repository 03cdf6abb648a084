"""``GET /alerts/stream``: every message on the alerts and tasks topics as Server-Sent Events.

One event per message: ``event:`` its CloudEvents type, ``data:`` the CloudEvent as one line
of JSON, ``id:`` the resume cursor after it (``console/cursor.py``). Query:

- ``types``, ``division``, ``industry``: which messages are sent (``console/filters.py``);
  the others are read past, and the cursor moves past them too;
- ``last_event_id`` (or the ``Last-Event-ID`` header, which wins): resume after that cursor;
- ``from=beginning``: without a cursor, start at the topics' beginning (default: their end).

On connecting, and whenever the position moved past messages the filter hid, a frame with
only an ``id:`` line is sent: a browser's EventSource takes it as its last event id without
firing an event, so a reconnection never starts again from the end and loses nothing. A
comment line (``: heartbeat``) every ``heartbeat_seconds`` keeps proxies from closing an idle
connection and finds a client that went away. 400 for a malformed cursor or filter.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Final

from aiohttp import web
from aiokafka.errors import KafkaError

from console import cursor
from console.deps import ConsoleDeps
from console.filters import FilterError, StreamFilter, parse_filter
from console.kafka import RecordReader, parse, topic_partitions
from schemas.codec import dumps

__all__ = ["RETRY_MS", "alerts_stream"]

log = logging.getLogger(__name__)

#: How long a browser waits before reconnecting (the SSE ``retry:`` field).
RETRY_MS: Final = 2_000
_POLL_MS: Final = 500


async def _frames(
    deps: ConsoleDeps, reader: RecordReader, wanted: StreamFilter
) -> tuple[list[bytes], bool]:
    """The frames of the next records, and whether the position moved past any."""
    records = await reader.read(timeout_ms=_POLL_MS)
    frames: list[bytes] = []
    for i, r in enumerate(records):
        doc = parse(r.value)
        if doc is None:
            continue
        if not await deps.places.admitted(doc, wanted):
            continue
        # The id is the position after this record; later records of the same read move it on.
        position = dict(reader.position)
        position[(r.topic, r.partition)] = r.offset + 1
        for later in records[i + 1 :]:
            key = (later.topic, later.partition)
            if position[key] > later.offset:
                position[key] = later.offset
        frames.append(
            b"id: "
            + cursor.encode(position).encode()
            + b"\nevent: "
            + str(doc.get("type", "")).replace("\n", " ").encode()
            + b"\ndata: "
            + dumps(doc)
            + b"\n\n"
        )
    return frames, bool(records)


async def alerts_stream(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    try:
        wanted = parse_filter(request.query)
        last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
        position = None if last is None else cursor.decode(last, deps.stream_topics)
    except (FilterError, cursor.CursorError) as exc:
        return web.json_response({"error": "bad request", "detail": str(exc)}, status=400)
    reader = RecordReader(deps.access, topic_partitions(deps.stream_topics, deps.partitions))
    try:
        await reader.start(position, from_beginning=request.query.get("from") == "beginning")
    except (KafkaError, OSError) as exc:
        await reader.stop()
        log.warning("console: a stream could not reach Kafka: %s", type(exc).__name__)
        return web.json_response({"error": "Kafka unavailable; retry"}, status=503)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
        }
    )
    deps.metrics.stream_clients.inc()
    try:
        await response.prepare(request)
        sent = cursor.encode(reader.position)
        await response.write(f"retry: {RETRY_MS}\nid: {sent}\n\n".encode())
        last_write = time.monotonic()
        while not deps.closing.is_set():
            frames, moved = await _frames(deps, reader, wanted)
            now_at = cursor.encode(reader.position)
            if not frames and moved and now_at != sent:
                frames = [f"id: {now_at}\n\n".encode()]
            if frames:
                await response.write(b"".join(frames))
                sent, last_write = now_at, time.monotonic()
            elif time.monotonic() - last_write >= deps.heartbeat_seconds:
                await response.write(b": heartbeat\n\n")
                last_write = time.monotonic()
    except ConnectionResetError:
        pass  # the client went away
    except KafkaError as exc:
        log.warning("console: a stream lost Kafka: %s", type(exc).__name__)
    finally:
        deps.metrics.stream_clients.dec()
        await reader.stop()
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response
