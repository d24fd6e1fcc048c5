"""What the Teams calendar and maintenance forms read from a card: days, times and channels, each
problem named under its own input, the same way in both forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Network
from bot.errors import InvalidInput
from handlers.teams.calendar_form import calendar_request
from handlers.teams.ids import CalendarField, MaintenanceField
from handlers.teams.maintenance_form import maintenance_request
from handlers.teams.submissions import Submission
from tests.conftest import make_config

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def test_the_calendar_form_names_each_input_that_is_missing_or_wrong() -> None:
    sent = Submission(
        {CalendarField.TEXT: "Tip", CalendarField.DAY: "", CalendarField.TIME: "25:99"}
        | {CalendarField.CHANNELS: "mastodon,myspace"}
    )
    with pytest.raises(InvalidInput) as refused:
        calendar_request(sent, make_config())
    assert refused.value.fields == {
        CalendarField.DAY: "Pick a day.",
        CalendarField.TIME: "Pick a time.",
        CalendarField.CHANNELS: "Pick from these.",
    }


def test_the_calendar_form_reads_its_day_time_and_channels_on_the_organisations_clock() -> None:
    config = make_config()
    sent = Submission(
        {CalendarField.TEXT: "Tip", CalendarField.DAY: "2026-12-07", CalendarField.TIME: "10:00"}
        | {CalendarField.CHANNELS: "mastodon, bluesky"}
    )
    text, channels, due = calendar_request(sent, config)
    assert text == "Tip" and channels == (Network.MASTODON, Network.BLUESKY)
    assert due == datetime(2026, 12, 7, 10, 0, tzinfo=config.organisation.zone)


def test_the_maintenance_form_refuses_a_channel_it_did_not_offer() -> None:
    F = MaintenanceField
    sent = Submission(
        {F.SERVICES: "Blackboard", F.TITLE: "upgrade", F.START_DAY: "2026-12-12"}
        | {F.START_TIME: "02:00", F.END_DAY: "2026-12-12", F.END_TIME: "06:00"}
        | {F.CHANNELS: "mastodon,myspace"}
    )
    with pytest.raises(InvalidInput) as refused:
        maintenance_request(sent, make_config(), now=NOW)
    assert refused.value.fields == {F.CHANNELS: "Pick from these."}


def test_the_maintenance_form_names_the_day_and_time_left_empty() -> None:
    F = MaintenanceField
    sent = Submission({F.SERVICES: "Blackboard", F.START_DAY: "2026-12-12", F.END_TIME: "06:00"})
    with pytest.raises(InvalidInput) as refused:
        maintenance_request(sent, make_config(), now=NOW)
    assert refused.value.fields == {F.START_TIME: "Pick a time.", F.END_DAY: "Pick a day."}
