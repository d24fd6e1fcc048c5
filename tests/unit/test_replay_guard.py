"""The replay guard: a signed request is taken once; memory is bounded; expiry is in order."""

from __future__ import annotations

import time

from handlers.slack.app import ReplayGuard


def test_a_request_is_taken_once_until_its_window_has_passed() -> None:
    guard = ReplayGuard(window=0.05)
    assert guard.first_time("1700000000", "v0=aa")
    assert not guard.first_time("1700000000", "v0=aa")
    assert guard.first_time("1700000000", "v0=bb")  # another signature: another request
    time.sleep(0.06)
    assert guard.first_time("1700000000", "v0=aa")


def test_a_forgotten_request_may_come_again() -> None:
    guard = ReplayGuard()
    assert guard.first_time("1", "v0=forged")
    guard.forget("1", "v0=forged")
    assert guard.first_time("1", "v0=forged")


def test_beyond_its_limit_the_oldest_are_dropped_first() -> None:
    guard = ReplayGuard(most=3)
    for n in range(5):
        assert guard.first_time("1", f"v0={n}")
    assert guard.first_time("1", "v0=0")  # dropped early, so taken again
    assert not guard.first_time("1", "v0=4")  # the newest are remembered
