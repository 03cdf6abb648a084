"""``riskmon bench``'s command line: the sizes each option gives, and bad options refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench


def test_default_offers_half_the_measured_rate_and_every_phase() -> None:
    sizes, phases, json_path = bench.parse([])
    assert sizes == bench.Sizes()
    assert (sizes.load, sizes.rate) == (0.5, None)
    assert phases == bench.PHASES
    assert json_path == Path("bench.json")


def test_rate_sets_the_latency_load_in_events_per_second_also_when_quick() -> None:
    sizes, phases, _ = bench.parse(["--phases", "stream", "--rate", "5000"])
    assert sizes.rate == 5000
    assert phases == ("stream",)
    quick, _, _ = bench.parse(["--quick", "--rate", "400"])
    assert quick.rate == 400
    assert quick.enterprises == bench.QUICK.enterprises


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0"], "--rate: must be more than 0"),
        (["--rate", "-5"], "--rate: must be more than 0"),
        (["--phases", "stream,speed"], "--phases: unknown speed"),
        (["--reclassify", "1e5"], "--reclassify: not a list of numbers"),
    ],
)
def test_bad_options_stop_with_a_message_naming_the_option(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        bench.parse(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
