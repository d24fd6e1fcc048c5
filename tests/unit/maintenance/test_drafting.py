"""A maintenance's posts drafted from templates/maintenance_*/, for each channel, or refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import CrierConfig, Network
from bot.drafting.drafter import Drafter
from bot.errors import InvalidInput
from bot.maintenance.drafting import MaintenanceFacts, draft
from bot.maintenance.window import SeriesKind, Window

STARTS = datetime(2026, 3, 7, 7, 0, tzinfo=UTC)  # Sat 2:00 AM EST
FACTS = MaintenanceFacts(
    services=("Blackboard", "Email"),
    title="Upgrading to the new version.",
    what_users_notice="you cannot sign in to Blackboard or read email",
    what_to_do="submit assignments early",
    window=Window(starts_at=STARTS, ends_at=STARTS + timedelta(hours=4)),
)
CHANNELS = (Network.X, Network.FACEBOOK)


def test_the_announcement_says_when_what_and_what_to_do(config: CrierConfig) -> None:
    texts = draft(Drafter(), config, SeriesKind.ANNOUNCE, FACTS, channels=CHANNELS, due_at=STARTS)
    assert set(texts) == {"x", "facebook"}
    text = texts["facebook"]
    assert text.startswith("Planned maintenance · {time}")
    assert "Blackboard and Email will be unavailable on Sat 7 Mar, 2:00 AM to 6:00 AM EST" in text
    assert ": Upgrading to the new version." in text
    assert "You cannot sign in to Blackboard or read email." in text
    assert "Before then: Submit assignments early." in text


def test_the_reminder_says_how_soon(config: CrierConfig) -> None:
    due = STARTS - timedelta(hours=1)
    [text] = draft(
        Drafter(), config, SeriesKind.REMINDER, FACTS, channels=(Network.X,), due_at=due
    ).values()
    assert "starts in 1 hour and lasts until 6:00 AM EST" in text


def test_a_post_over_a_networks_limit_is_refused_naming_it(config: CrierConfig) -> None:
    long = MaintenanceFacts(**{**FACTS.__dict__, "what_users_notice": "word " * 80})
    with pytest.raises(InvalidInput, match=r"The announcement for X would not fit"):
        draft(Drafter(), config, SeriesKind.ANNOUNCE, long, channels=CHANNELS, due_at=STARTS)


def test_a_typed_time_placeholder_is_refused(config: CrierConfig) -> None:
    typed = MaintenanceFacts(**{**FACTS.__dict__, "what_to_do": "log out by {time}"})
    with pytest.raises(InvalidInput, match="Write times out"):
        draft(Drafter(), config, SeriesKind.START, typed, channels=CHANNELS, due_at=STARTS)
