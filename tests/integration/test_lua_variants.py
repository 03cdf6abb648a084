"""``python -m benchmarks.lua_variants`` runs once at a tiny size (figures not judged), and tells
a variant that changes what the script does from one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import lua_variants
from scoring.store import SCRIPT

pytestmark = pytest.mark.integration


def test_variants_take_turns_and_a_changed_outcome_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    search = "local function next_change(contribs, asof, k0, s, fading, fall, nexp)\n"
    assert search in SCRIPT
    never_due = tmp_path / "never_due.lua"  # schedules no time-driven change at all
    never_due.write_text(SCRIPT.replace(search, search + "  if true then return 0 end\n"))
    shipped = Path(lua_variants.__file__).parents[1] / "scoring" / "store" / "apply.lua"
    args = ["--enterprises", "200", "--live", "300", "--batch", "20"]
    assert lua_variants.main([*args, f"a={shipped}", f"b={shipped}", f"c={never_due}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    assert "µs per live event (outcomes and states: same as a)" in out[1]
    assert "(outcomes and states: DIFFERENT from a)" in out[2]
    for line in out:
        assert float(line.split(":")[1].split("µs")[0]) > 0
