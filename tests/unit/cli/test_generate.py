"""`riskmon generate`: a place it cannot write is one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main


@pytest.mark.parametrize("flag", ["--out", "--truth"])
def test_an_unwritable_path_is_named(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "no" / "such" / "dir" / "x"
    assert main(["generate", "--enterprises", "3", flag, str(where)]) == 2
    err = capsys.readouterr().err
    assert err == f"riskmon generate: cannot write {where}: No such file or directory\n"


def test_a_district_of_no_enterprises_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--enterprises", "0"]) == 2
    assert "enterprises must be 1.." in capsys.readouterr().err
