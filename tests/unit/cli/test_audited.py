"""How the commands name the person at the terminal in audit records and local tokens."""

from __future__ import annotations

import re

import pytest

from cli import audited
from security.store.tokens import NAME_PATTERN


def test_the_local_actor_is_user_at_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audited.getpass, "getuser", lambda: "li na")
    monkeypatch.setattr(audited.socket, "gethostname", lambda: "duty-pc.amr.local")
    assert audited.local_actor() == "local:li-na@duty-pc.amr.local"
    assert re.match(NAME_PATTERN, audited.local_actor() + ":6066")  # a local token's name


def test_a_uid_without_a_name_is_still_someone(monkeypatch: pytest.MonkeyPatch) -> None:
    def nameless() -> str:
        raise KeyError("getpwuid(): uid not found: 1000")

    monkeypatch.setattr(audited.getpass, "getuser", nameless)
    monkeypatch.setattr(audited.socket, "gethostname", lambda: "pod-7")
    assert audited.local_actor() == "local:user@pod-7"
