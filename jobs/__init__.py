"""Operator jobs over the stored state and the event log: replay (and the output ids a log
warrants), reclassify, judge, spot-check plans. Each is a function of its inputs; the CLI
parses arguments and calls it."""

__all__ = ["judge", "outputs", "plans", "reclassify", "replay"]
