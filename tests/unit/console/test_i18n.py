from __future__ import annotations

import pytest

from console.i18n import choose, words


@pytest.mark.parametrize(
    ("query", "cookie", "lang"),
    [
        (None, None, "zh"),
        ("en", None, "en"),
        (None, "en", "en"),
        ("zh", "en", "zh"),
        ("fr", "en", "en"),
        ("fr", None, "zh"),
    ],
)
def test_chinese_by_default_english_when_asked(
    query: str | None, cookie: str | None, lang: str
) -> None:
    assert choose(query, cookie) == lang


def test_every_word_has_both_languages_and_a_missing_one_shows_its_key() -> None:
    zh, en = words("zh"), words("en")
    assert set(zh) == set(en)
    assert zh["feed"] == "实时预警" and en["feed"] == "Live feed"
    assert all(zh[k] and en[k] for k in zh)
    assert zh["no.such.word"] == "no.such.word"
