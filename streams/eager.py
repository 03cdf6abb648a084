"""Run a coroutine's first step at once, and make a task of it only if it has to wait.

``asyncio.ensure_future(coro)`` costs a task, a trip round the event loop and, for a caller
racing it against other events, an ``asyncio.wait`` with its callbacks, even when the
coroutine would finish without ever waiting. Faust pays that for every record it hands to a
stream (``Consumer.wait_first``). :func:`start` runs the first step inline, as the task's
first step would have run it (in a copy of the current context), and only a coroutine that
does wait is finished by a task (:func:`finish`), which behaves as if the task had run it
from the start: it resumes the coroutine when the future it waits on is done, and
cancelling the task cancels that future, so that the coroutine sees the cancellation where
it waits. Python 3.12's eager task factory does the same for every task of a loop; this is
for one call site, on 3.11 too.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

__all__ = ["Started", "finish", "start"]


@dataclass(frozen=True, slots=True)
class Started:
    """The outcome of a first step: ``done`` with ``result``, or waiting on ``waits_on``."""

    done: bool
    result: Any = None
    waits_on: Any = None
    context: contextvars.Context | None = None


def start(coro: Coroutine[Any, Any, Any]) -> Started:
    """Run ``coro`` until it finishes or first waits. An exception it raises propagates."""
    context = contextvars.copy_context()
    try:
        waits_on = context.run(coro.send, None)
    except StopIteration as stop:
        return Started(True, stop.value)
    return Started(False, waits_on=waits_on, context=context)


async def finish(coro: Coroutine[Any, Any, Any], started: Started) -> Any:
    """Drive a coroutine that :func:`start` left waiting to its end; wrap it in a task."""
    assert not started.done and started.context is not None
    waits_on, context = started.waits_on, started.context
    while True:
        resume: Callable[[], Any] = functools.partial(coro.send, None)
        if waits_on is None:  # a bare yield (asyncio.sleep(0)): give the loop one turn
            await asyncio.sleep(0)
        elif getattr(waits_on, "_asyncio_future_blocking", None) is None:
            error = RuntimeError(f"coroutine yielded {waits_on!r}, not a future")
            resume = functools.partial(coro.throw, error)
        else:
            # A task resets this flag before it waits on the future in its turn; so do we.
            waits_on._asyncio_future_blocking = False
            # The coroutine meets the future's outcome itself: resumed below, its own await
            # re-raises what the future holds, a cancellation included.
            with contextlib.suppress(BaseException):
                await waits_on
        try:
            waits_on = context.run(resume)
        except StopIteration as stop:
            return stop.value
