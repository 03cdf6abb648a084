"""The ``riskmon`` command (``python -m cli``): :mod:`cli.main` holds the parser and the dispatch,
and each command is a module of its own that adds its subparser and runs it. The work itself is
done in ``jobs/`` (replay, reclassify, judge) and ``local/`` (embedded servers, demo, feeder)."""

__all__ = [
    "alerts",
    "arguments",
    "bench",
    "demo",
    "errors",
    "generate",
    "judge",
    "lookup",
    "main",
    "reclassify",
    "replay",
    "run",
    "runfile",
    "schemas",
    "send",
]
