"""Which asyncio event loop a worker process runs on: uvloop where installed, else asyncio's.

The worker's main thread is bound by CPU under load, and a good part of it is the event
loop's own bookkeeping: Faust hands every record from its consumer to the agent through
tasks and futures. uvloop runs the same asyncio code on libuv with that bookkeeping in C, so
the worker applies more events per second on it (the README's Measured section has the
figures). Faust and aiokafka support it; ``RISKMON_EVENT_LOOP=asyncio`` keeps the standard
loop one setting away.
"""

from __future__ import annotations

import asyncio
import importlib.util

from streams.settings import ConfigError, LoopChoice

__all__ = ["install"]


def install(choice: LoopChoice) -> str:
    """Make the loops this process creates from now on ``choice``'s; returns the loop's name.

    ``auto`` takes uvloop when it is installed (it is not on Windows). Call it before anything
    creates a loop: Faust's worker and its consumer thread each create theirs later.
    """
    if choice == "asyncio" or (choice == "auto" and importlib.util.find_spec("uvloop") is None):
        asyncio.set_event_loop_policy(None)
        return "asyncio"
    try:
        import uvloop
    except ImportError as exc:
        raise ConfigError(
            f"RISKMON_EVENT_LOOP: uvloop is not installed here ({exc}); use auto or asyncio"
        ) from exc
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"
