"""Rate limits per principal: a burst, then the rate, then a wait that says how long."""

from __future__ import annotations

from security.limits import RateLimiter


def test_a_burst_then_the_rate_then_how_long_to_wait() -> None:
    lim = RateLimiter(rate=2.0, burst=3)
    assert [lim.take("a", 0.0) for _ in range(3)] == [None, None, None]
    assert lim.take("a", 0.0) == 0.5  # one more in half a second at 2/s
    assert lim.take("b", 0.0) is None  # others are not held back by a's requests
    assert lim.take("a", 0.5) is None
    assert lim.take("a", 0.5) == 0.5
    assert lim.take("a", 10.0) is None  # refilled, but never beyond the burst
    assert [lim.take("a", 10.0) for _ in range(3)] == [None, None, 0.5]


def test_refused_requests_do_not_earn_more_waiting() -> None:
    lim = RateLimiter(rate=1.0, burst=1)
    assert lim.take("a", 0.0) is None
    waits = [lim.take("a", 0.1 * i) for i in range(1, 10)]
    assert all(w is not None and w > 0 for w in waits)
    assert lim.take("a", 1.0) is None


def test_a_rate_of_zero_limits_nothing() -> None:
    lim = RateLimiter(rate=0, burst=1)
    assert all(lim.take("a", 0.0) is None for _ in range(1000))


def test_idle_principals_are_forgotten_when_many() -> None:
    lim = RateLimiter(rate=100.0, burst=1)
    for i in range(10_000):
        lim.take(f"p{i}", 0.0)
    assert len(lim._buckets) == 10_000
    lim.take("late", 1.0)  # by then every bucket has refilled: all forgotten
    assert set(lim._buckets) == {"late"}
