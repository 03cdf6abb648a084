"""Redis errors reach the store's callers as the scoring package's errors: retry when Redis
cannot answer now, give up when it refused."""

from __future__ import annotations

import pytest
from redis import exceptions as rexc

from scoring.exceptions import StoreError, StoreUnavailableError
from scoring.store.errors import redis_errors


@pytest.mark.parametrize(
    "error",
    [rexc.ConnectionError("refused"), rexc.TimeoutError("slow"), rexc.BusyLoadingError("load")],
)
def test_redis_that_cannot_answer_now_is_unavailable_and_retryable(error: Exception) -> None:
    with (
        pytest.raises(StoreUnavailableError, match="redis unavailable") as caught,
        redis_errors("apply.lua"),
    ):
        raise error
    assert caught.value.retryable
    assert caught.value.__cause__ is error


def test_a_refusal_is_a_store_error_naming_what_was_refused() -> None:
    error = rexc.ResponseError("WRONGTYPE Operation against a key")
    with (
        pytest.raises(StoreError, match=r"redis refused apply\.lua: WRONGTYPE") as caught,
        redis_errors("apply.lua"),
    ):
        raise error
    assert not caught.value.retryable
    assert caught.value.__cause__ is error


def test_other_errors_pass_unchanged() -> None:
    with pytest.raises(KeyError), redis_errors("apply.lua"):
        raise KeyError("x")
    ours = StoreError("model version clash")
    with pytest.raises(StoreError) as caught, redis_errors("apply.lua"):
        raise ours
    assert caught.value is ours
