"""Programs from Debian's packages that some tests drive: Chromium (the console's browser
tests) and Alertmanager (delivery). CI installs both (`.ci/run`); elsewhere the tests that need
one skip and say why, and under CI a missing one fails the run rather than hiding in a skip."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["alertmanager", "chromium", "required"]


def required(name: str, package: str) -> str:
    """Path of ``name`` on PATH; fails under CI (it must be installed there), else skips."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} not installed (Debian package {package}); required under CI")
        pytest.skip(f"{name} not installed (Debian package {package})")
    return path


def chromium() -> str:
    return required("chromium", "chromium")


def alertmanager() -> str:
    return required("prometheus-alertmanager", "prometheus-alertmanager")
