"""Child processes that die with their parent: the embedded servers, the worker the demo runs,
and the worker's decode process must not outlive the process that started them (Linux's
``PR_SET_PDEATHSIG``; elsewhere nothing is done)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

__all__ = ["die_with", "die_with_parent_hook"]

_PR_SET_PDEATHSIG = 1


def die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent thread ends (Linux).

    libc and ``prctl`` are resolved here, in the parent: between fork and exec the child must not
    load libraries (another thread of the parent may hold the loader's lock).
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            os._exit(126)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def die_with(parent: int) -> None:
    """Called in a child of ``parent`` that runs Python (not between fork and exec): it gets
    SIGKILL when its parent thread ends (Linux; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0):
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
