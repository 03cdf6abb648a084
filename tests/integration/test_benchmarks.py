"""Each benchmark runs once at a tiny size, so that it keeps working (figures are not judged)."""

from __future__ import annotations

import pytest

from benchmarks import state_bytes, throughput

pytestmark = pytest.mark.integration


def test_state_bytes_reports_every_figure(redis_url: str) -> None:
    figures = state_bytes.run(redis_url, enterprises=40, per_enterprise=3, batch=25)
    assert figures["enterprises"] == 40
    assert figures["events"] == 120
    for name in ("state_bytes_per_enterprise", "ledger_bytes_per_event", "apply_events_per_second"):
        assert figures[name] > 0, name


@pytest.mark.e2e
def test_throughput_measures_the_worker_against_the_ceiling() -> None:
    figures = throughput.run(events=400, enterprises=40)
    assert figures["events"] == 400
    assert figures["faust_ceiling_events_per_second"] > 0
    assert figures["riskmon_events_per_second"] > 0
    assert figures["ratio_to_ceiling"] == pytest.approx(
        figures["riskmon_events_per_second"] / figures["faust_ceiling_events_per_second"]
    )
