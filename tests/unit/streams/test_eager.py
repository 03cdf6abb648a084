"""streams/eager.py: a coroutine run eagerly behaves as it would have in a task of its own."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from streams.eager import finish, start

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="caller's")


async def no_wait(x: int) -> int:
    return x * 2


async def put_then_report(queue: asyncio.Queue[int], seen: list[str]) -> str:
    VAR.set("coroutine's")
    try:
        await queue.put(1)  # waits while the queue is full
    except asyncio.CancelledError:
        seen.append("cancelled where it waited")
        raise
    return VAR.get()


async def test_a_coroutine_that_never_waits_finishes_inline() -> None:
    started = start(no_wait(21))
    assert started.done and started.result == 42


async def test_a_coroutine_that_waits_is_finished_by_a_task_with_its_result() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    queue.put_nowait(0)
    coro = put_then_report(queue, [])
    started = start(coro)
    assert not started.done
    task = asyncio.ensure_future(finish(coro, started))
    await asyncio.sleep(0.01)
    assert not task.done()  # still waiting for room
    assert queue.get_nowait() == 0
    assert await asyncio.wait_for(task, 1) == "coroutine's"  # its context kept across waits
    assert queue.get_nowait() == 1


async def test_its_context_does_not_leak_into_the_caller() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    started = start(put_then_report(queue, []))
    assert started.done and started.result == "coroutine's"
    assert VAR.get() == "caller's"


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    queue.put_nowait(0)
    seen: list[str] = []
    coro = put_then_report(queue, seen)
    task = asyncio.ensure_future(finish(coro, start(coro)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled where it waited"]
    assert queue.qsize() == 1  # its item never went in


async def test_errors_propagate_from_the_first_step_and_after_a_wait() -> None:
    async def fails_at_once() -> None:
        raise ValueError("at once")

    async def fails_later(fut: asyncio.Future[None]) -> None:
        await fut
        raise ValueError("later")

    with pytest.raises(ValueError, match="at once"):
        start(fails_at_once())
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    coro = fails_later(fut)
    task = asyncio.ensure_future(finish(coro, start(coro)))
    fut.set_result(None)
    with pytest.raises(ValueError, match="later"):
        await task


async def test_a_future_that_fails_raises_inside_the_coroutine() -> None:
    async def awaits(fut: asyncio.Future[None]) -> str:
        try:
            await fut
        except KeyError:
            return "caught"
        return "not raised"

    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    coro = awaits(fut)
    task = asyncio.ensure_future(finish(coro, start(coro)))
    fut.set_exception(KeyError("x"))
    assert await task == "caught"


async def test_a_bare_yield_gives_the_loop_a_turn() -> None:
    order: list[str] = []

    async def yields() -> str:
        order.append("first step")
        await asyncio.sleep(0)
        order.append("second step")
        return "done"

    coro = yields()
    started = start(coro)
    assert not started.done and order == ["first step"]
    assert await finish(coro, started) == "done"
    assert order == ["first step", "second step"]
