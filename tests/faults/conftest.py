"""Fixtures and the summary table of the fault-injection suite (docs/reliability.md R1-R12).

The servers, per-test topics and the worker come from tests/conftest.py.
Scenarios marked ``slow`` run only with ``python -m pytest --faults=full`` (the option is declared
in tests/conftest.py: pytest reads options only from the root conftest); without it they are
skipped with that reason. After a run, a table lists each scenario that ran.
"""

from __future__ import annotations

import pytest

from tests.support.scenario import ROWS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a long fault scenario, run only with --faults=full")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--faults") == "full":
        return
    skip = pytest.mark.skip(reason="slow fault scenario: run with python -m pytest --faults=full")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    """True under ``--faults=full`` (some scenarios run longer then)."""
    return bool(request.config.getoption("--faults") == "full")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    tr = terminalreporter
    tr.section("fault scenarios")
    head = ("scenario", "events", "faults injected", "duplicates absorbed", "result")
    rows = [(r.scenario, str(r.events), r.faults, str(r.duplicates), r.result) for r in ROWS]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=False)]
    for line in (head, tuple("-" * w for w in widths), *rows):
        tr.write_line("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
