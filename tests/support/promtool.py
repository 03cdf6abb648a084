"""promtool for the tests that check metrics, rules and config the way Prometheus will."""

from __future__ import annotations

import os
import shutil

import pytest


def promtool() -> str:
    """Path of promtool; fails under CI (it must be installed there), else skips."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool not installed (Debian package prometheus); required under CI")
        pytest.skip("promtool not installed (Debian package prometheus)")
    return path
