"""RISKMON_EVENT_LOOP: the loop a worker's Faust app, consumer thread and Redis client run on."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import pytest

from streams.event_loop import install
from streams.settings import ConfigError


@pytest.fixture(autouse=True)
def restore_policy() -> Iterator[None]:
    yield
    asyncio.set_event_loop_policy(None)


def _loop_module() -> str:
    loop = asyncio.new_event_loop()  # what Faust's worker and consumer thread each do
    try:
        return type(loop).__module__.split(".")[0]
    finally:
        loop.close()


def test_auto_takes_uvloop_where_it_is_installed() -> None:
    pytest.importorskip("uvloop", reason="uvloop is a dependency except on Windows")
    assert install("auto") == "uvloop"
    assert _loop_module() == "uvloop"


def test_asyncio_keeps_the_standard_loop_even_after_uvloop() -> None:
    install("auto")
    assert install("asyncio") == "asyncio"
    assert _loop_module() == "asyncio"


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    assert install("auto") == "asyncio"
    assert _loop_module() == "asyncio"


def test_asking_for_uvloop_without_it_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with pytest.raises(ConfigError, match="RISKMON_EVENT_LOOP"):
        install("uvloop")
