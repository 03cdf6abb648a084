"""apply.lua reads its fields by name; Redis runs the same script with the numbers written in,
line for line."""

from __future__ import annotations

import re

import pytest

from scoring.store.script import APPLY, SCRIPT, SOURCE, Script, inline_constants, lua_constants

NAME = re.compile(r"\b(?:C|ST|EV|PARAM|PROFILE)_[A-Z_]+\b")


def code_after_declarations(script: str) -> str:
    return script[script.index("local ledger, meta, dueset") :]


def test_the_shipped_script_names_its_fields_and_redis_gets_numbers() -> None:
    assert NAME.search(code_after_declarations(SOURCE))
    assert not NAME.search(code_after_declarations(SCRIPT))
    assert SCRIPT.count("\n") == SOURCE.count("\n"), "an error's line is the file's"
    assert lua_constants(SCRIPT) == lua_constants(SOURCE)
    assert APPLY.source == SCRIPT


def test_inlining_twice_changes_nothing() -> None:
    assert inline_constants(SCRIPT) == SCRIPT
    assert Script.of(SOURCE) == Script.of(SCRIPT) == APPLY


def test_a_use_is_replaced_whole_and_only_by_its_own_number() -> None:
    lua = "local A_B, A_BC =\n  1, 2\nlocal A_C = 3\nreturn x[A_B] + x[A_BC] + A_BCD + A_C\n"
    assert inline_constants(lua) == (
        "local A_B, A_BC =\n  1, 2\nlocal A_C = 3\nreturn x[1] + x[2] + A_BCD + 3\n"
    )


def test_a_declaration_with_unpaired_numbers_is_refused() -> None:
    with pytest.raises(ValueError, match="pairs 2 names with 1 numbers"):
        lua_constants("local A, B = 1\n")


def test_a_script_without_constants_is_run_as_written() -> None:
    assert inline_constants("return 1\n") == "return 1\n"
