"""The per-person limit on declarations: a sliding minute, per person, nothing counted when
refused."""

from __future__ import annotations

import pytest

from bot.incidents.pace import DeclarationPace, TooFast
from bot.ports import Actor
from tests.clock import FakeClock

ALICE = Actor(platform="slack", user_id="U0ALICE")
BOB = Actor(platform="slack", user_id="U0BOB")


def test_the_limit_is_per_person_and_a_minute_wide() -> None:
    clock = FakeClock()
    pace = DeclarationPace(most=3, clock=clock)
    for _ in range(3):
        pace.note(ALICE)
        clock.advance(seconds=10)
    with pytest.raises(TooFast, match="declared 3 incidents in the last minute"):
        pace.note(ALICE)
    pace.note(BOB)  # someone else is not held up
    clock.advance(seconds=31)  # the first of Alice's three is now over a minute old
    pace.note(ALICE)
    with pytest.raises(TooFast):
        pace.note(ALICE)


def test_a_refusal_is_not_counted() -> None:
    clock = FakeClock()
    pace = DeclarationPace(most=1, clock=clock)
    pace.note(ALICE)
    for _ in range(5):
        clock.advance(seconds=5)
        with pytest.raises(TooFast):
            pace.note(ALICE)
    clock.advance(seconds=36)  # a minute after the one that counted, whatever was refused
    pace.note(ALICE)
