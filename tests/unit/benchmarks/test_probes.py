"""What the benchmarks read while a worker runs (benchmarks/probes.py): waiting gives up with
the condition's name, and a process's CPU is read from /proc (None once it is gone)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.probes import cpu_seconds, wait_until


def test_waiting_names_what_never_came() -> None:
    with pytest.raises(RuntimeError, match="timed out after 0s waiting for the district"):
        wait_until(lambda: False, 0.01, "the district")
    wait_until(lambda: True, 0.01, "at once")


def test_cpu_is_read_while_the_process_lives_and_none_once_it_is_gone() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.2: pass\n"
    proc = subprocess.Popen([sys.executable, "-c", burn + "input()"], stdin=subprocess.PIPE)
    try:
        used = 0.0
        while used < 0.2:
            got = cpu_seconds(proc.pid)
            assert got is not None
            used = got
        assert cpu_seconds(os.getpid()) is not None
    finally:
        proc.communicate(b"\n")
    assert cpu_seconds(proc.pid) is None
