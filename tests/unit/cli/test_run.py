"""`riskmon run` logs below warnings only when RISKMON_LOG_LEVEL asks for them."""

from __future__ import annotations

import pytest

from cli.run import log_level
from streams.settings import load_settings


def test_the_default_level_keeps_faust_s_lifecycle_lines_out() -> None:
    assert log_level(load_settings()) == "warn"


@pytest.mark.parametrize("level", ["info", "debug", "error"])
def test_a_level_that_is_set_is_the_level(monkeypatch: pytest.MonkeyPatch, level: str) -> None:
    monkeypatch.setenv("RISKMON_LOG_LEVEL", level)
    assert log_level(load_settings()) == level
