"""The form that proposes a content-calendar post in Teams (*Propose a post* on the calendar's
card), and what it sent read into the core's ``ContentCalendar.add`` arguments.

The day and time are the organisation's (the labels name its zone: a time picker shows none).
A form that comes back with a problem keeps what the person typed, each problem under its input.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.config import CrierConfig, Network
from bot.config_calendar import NOT_FOR_CALENDAR
from bot.errors import InvalidInput
from bot.scheduling.calendar import TEXT_MAX
from handlers.teams.elements import Element, card, date_input, execute, heading, time_input
from handlers.teams.forms import Form
from handlers.teams.ids import CalendarField, Verb
from handlers.teams.submissions import Submission

F = CalendarField
DUE_AT = "due_at"  # the core's name for a time problem: shown under the time picker


def calendar_form(config: CrierConfig, *, today: date, again: Form | None = None) -> Element:
    form = again or Form()
    zone = config.organisation.zone.key
    form.body.append(heading("Propose a post", size="Large"))
    form.paragraph(
        F.TEXT, "Post", "Tip: reset your password at …", max_length=TEXT_MAX, required=True
    )
    day = form.value(F.DAY, today.isoformat())
    form.add(date_input(F.DAY, f"Day ({zone})", value=day, required=True))
    at = time_input(F.TIME, f"Time ({zone})", value=form.value(F.TIME, "10:00"), required=True)
    form.add(at, F.TIME, DUE_AT)
    channels = [n for n in config.enabled_channels if n not in NOT_FOR_CALENDAR]
    form.channels(F.CHANNELS, "Channels", channels, ticked=channels)
    form.hint(
        "An approver (not you) approves the post before it is scheduled. It goes out at its "
        "time, unless an incident is open: then it is held, and the all-clear offers to post it."
    )
    actions = [execute("Propose", Verb.CALENDAR_PROPOSE, style="positive")]
    return card(form.body, actions=actions, summary="Propose a post")


def calendar_request(
    form: Submission, config: CrierConfig
) -> tuple[str, tuple[Network, ...], datetime]:
    """The text, channels and time the form proposes; InvalidInput naming each input that is
    missing or wrong (the core checks the rest: a past time, the networks' rules)."""
    problems: dict[str, str] = {}
    day, at = form.day(F.DAY, problems), form.time_of_day(F.TIME, problems)
    channels = form.networks(F.CHANNELS, problems)
    if problems or day is None or at is None:
        raise InvalidInput("Check the day, the time and the channels.", problems)
    due = datetime.combine(day, at, tzinfo=config.organisation.zone)
    return form.text(F.TEXT), channels, due
