"""The parser: every command is wired, `python -m cli` runs, and help texts are plain text."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from cli.main import COMMANDS, main, parser
from tests.support.harness import ROOT

NAMES = [m.__name__.rsplit(".", 1)[1] for m in COMMANDS]
# reStructuredText and Sphinx roles that read as noise in a terminal
MARKUP = re.compile(r"``|:(class|func|mod|meth|attr|data):`|`[^`]+`")


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_listed_in_the_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["--help"], capsys)
    for name in NAMES:
        assert re.search(rf"^\s+{name}\s", text, re.M), name
    assert not MARKUP.search(text), text


@pytest.mark.parametrize("name", [n for n in NAMES if n != "bench"])
def test_help_is_plain_text(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help([name, "--help"], capsys)
    assert f"usage: riskmon {name}" in text
    assert not MARKUP.search(text), MARKUP.search(text)


def test_each_command_has_a_handler() -> None:
    p = parser()
    for name in NAMES:
        args, _ = p.parse_known_args(
            [name, *(("--truth", "t") if name == "judge" else ())]
            + (["--prefix", "p"] if name == "replay" else [])
            + (["x"] if name in ("send", "lookup") else [])
            + (["list"] if name in ("plan", "tasks", "token") else [])
            + (["verify"] if name == "audit" else [])
        )
        assert callable(getattr(args, "handler", None) or getattr(args, "passthrough", None)), name


def test_python_dash_m_cli_is_the_riskmon_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: riskmon")


def test_unknown_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["schemas", "--nope"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --nope" in capsys.readouterr().err


def test_the_bench_help_is_plain_text_too(capsys: pytest.CaptureFixture[str]) -> None:
    # bench passes its arguments through to benchmarks/bench.py's own parser.
    with pytest.raises(SystemExit) as stop:
        main(["bench", "-h"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "usage: riskmon bench" in text
    assert not MARKUP.search(text), MARKUP.search(text)


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    # `riskmon generate | head -1`: the reader takes one line and closes the pipe.
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "generate", "--enterprises", "500", "--now", "2026-11-01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err, err
