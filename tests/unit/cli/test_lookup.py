"""`riskmon lookup`: a lower-case code is told it is lower case; a missing API is one line."""

from __future__ import annotations

import pytest

from cli.lookup import render
from cli.main import main
from schemas.uscc import problem as uscc_problem

VALID = "91610112MA6TGQ1K2M"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (VALID, None),
        (
            VALID.lower(),
            f"'{VALID.lower()}' is not a valid USCC: codes are upper case (did you mean {VALID}?)",
        ),
        (
            "91610112ma6tgq1k2x",
            "'91610112ma6tgq1k2x' is not a valid USCC: codes are upper case (and"
            " 91610112MA6TGQ1K2X is not valid either: wrong check character: expected 'M',"
            " got 'X')",
        ),
        (
            "91610112MA6TGQ1K2X",
            "'91610112MA6TGQ1K2X' is not a valid USCC (GB 32100): wrong check character:"
            " expected 'M', got 'X'",
        ),
        (
            "9161",
            "'9161' is not a valid USCC (GB 32100): wrong length: expected 18 characters, got 4",
        ),
    ],
)
def test_the_problem_with_a_code_is_said_in_a_users_words(code: str, problem: str | None) -> None:
    assert uscc_problem(code) == problem


def test_a_lower_case_code_is_refused_before_the_api_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["lookup", VALID.lower()]) == 2
    err = capsys.readouterr().err
    assert "codes are upper case" in err and VALID in err
    assert "check character" not in err


def test_no_api_is_one_line_naming_where_it_looked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from local.embedded import free_port

    port = free_port()
    monkeypatch.setenv("RISKMON_WEB_PORT", str(port))
    assert main(["lookup", VALID]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"riskmon lookup: cannot reach the riskmon API at http://127.0.0.1:{port}"
    )
    assert err.count("\n") == 1


def test_the_answer_reads_as_the_class_and_its_reasons() -> None:
    doc = {
        "class": "C",
        "score": 31.5,
        "model_version": "default-2026.1",
        "asof": "2026-04-01T02:00:00+00:00",
        "next_time_driven_change": None,
        "contributions": [
            {
                "cancelled": False,
                "points_now": 15.0,
                "min_class": "C",
                "event_type": "abnormal_list.added",
                "reference": "西未市监异〔2026〕0042号",
                "detail": "unreachable_at_address",
                "recorded_at": "2026-04-01T02:00:00+00:00",
            },
            {
                "cancelled": False,
                "points_now": 4.5,
                "min_class": None,
                "event_type": "complaint.received",
                "reference": "ab12",
                "detail": "food_safety",
                "recorded_at": "2026-02-10T06:30:00+00:00",
            },
        ],
    }
    lines = render(VALID, doc).splitlines()
    assert lines[0] == (
        f"{VALID}  class C  score 31.50  (model default-2026.1, as of 2026-04-01T02:00:00+00:00)"
    )
    assert "abnormal_list.added 西未市监异〔2026〕0042号 (2026-04-01)  min class C" in lines[2]
    assert lines[3].endswith("complaint.received food_safety (2026-02-10)")
