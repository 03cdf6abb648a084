"""Faust's own ceiling: an agent that only iterates a topic (no decoding, no I/O).

    python -m benchmarks.ceiling BOOTSTRAP TOPIC EVENTS [stock|riskmon]

``stock`` (the default): faust.App on asyncio's standard loop, Faust as installed. ``riskmon``:
the same agent on the worker's runtime, its event loop (streams/event_loop.py) and its Faust
transport (streams/kafka_transport.py), so that the gap to the worker is riskmon's own work.
Prints one JSON line {"events": N, "seconds": s, "events_per_second": r} once it has seen
EVENTS records (timed from the first record), then exits.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any

import faust

from streams.event_loop import install
from streams.kafka_transport import RiskmonApp


def main() -> None:
    bootstrap, topic, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runtime = sys.argv[4] if len(sys.argv) > 4 else "stock"
    install("auto" if runtime == "riskmon" else "asyncio")
    datadir = tempfile.mkdtemp(prefix="riskmon-ceiling-")
    app = (RiskmonApp if runtime == "riskmon" else faust.App)(
        f"ceiling-{os.getpid()}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_disable_leader=True,
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        datadir=datadir,
    )
    source = app.topic(topic, key_serializer="raw", value_serializer="raw")
    seen = {"n": 0, "t0": 0.0}

    @app.agent(source, concurrency=1)
    async def iterate(stream: Any) -> None:
        async for _ in stream.events():
            if seen["n"] == 0:
                seen["t0"] = time.perf_counter()
            seen["n"] += 1
            if seen["n"] >= total:
                elapsed = time.perf_counter() - seen["t0"]
                print(
                    json.dumps(
                        {"events": total, "seconds": elapsed, "events_per_second": total / elapsed}
                    ),
                    flush=True,
                )
                shutil.rmtree(datadir, ignore_errors=True)
                os._exit(0)  # the figure is out; skip Faust's slow shutdown

    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    main()
