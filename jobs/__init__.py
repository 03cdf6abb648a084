"""Operator jobs over the stored state and the event log: replay, reclassify, judge. Each is a
function of its inputs; the CLI parses arguments and calls it."""

__all__ = ["judge", "reclassify", "replay"]
