"""Time arguments (judge --asof, generate --now) say what format they want."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from cli.arguments import aware_time
from cli.main import main


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
        ("2026-11-01T09:30:00", dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)),
        ("2026-11-01T09:30:00+08:00", dt.datetime(2026, 11, 1, 1, 30, tzinfo=dt.UTC)),
        ("2026-11-01T01:30:00Z", dt.datetime(2026, 11, 1, 1, 30, tzinfo=dt.UTC)),
    ],
)
def test_dates_and_times_are_read_as_aware_with_utc_the_default(
    text: str, expected: dt.datetime
) -> None:
    assert aware_time(text) == expected
    assert aware_time(text).tzinfo is not None


def test_a_word_is_refused_naming_the_format() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601 date or date-time"):
        aware_time("yesterday")


@pytest.mark.parametrize(
    "argv",
    [
        ["judge", "--truth", "truth.csv", "--asof", "yesterday"],
        ["generate", "--now", "yesterday"],
    ],
)
def test_the_commands_say_what_they_want_not_a_function_name(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "'yesterday' is not a time: expected an ISO 8601 date or date-time" in err
    assert "_aware_time" not in err and "invalid" not in err
