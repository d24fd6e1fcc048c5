"""The maintenance form in Teams ("maintenance" typed to Crier), and what it sent read into the
core's ``MaintenanceRequest``.

Days and times are picked on the organisation's clocks (the labels name its zone, since a time
picker shows no zone); ``bot.maintenance.window.local_window`` turns them into UTC and refuses a
time the clocks skip. A form that comes back with a problem keeps what the person picked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import CrierConfig, Network
from bot.errors import InvalidInput
from bot.maintenance.series import NOT_FOR_MAINTENANCE, TEXT_MAX, TITLE_MAX, MaintenanceRequest
from bot.maintenance.window import local_window
from handlers.teams.elements import Element, card, date_input, execute, heading, time_input
from handlers.teams.forms import Form
from handlers.teams.ids import Data, MaintenanceField, Verb
from handlers.teams.submissions import Submission

F = MaintenanceField
AT_ONCE = "now"
# value: (label, how long before the start; None: as soon as it is approved)
ANNOUNCE: dict[str, tuple[str, timedelta | None]] = {
    "3d": ("3 days before", timedelta(days=3)),
    "1w": ("1 week before", timedelta(weeks=1)),
    "1d": ("1 day before", timedelta(days=1)),
    AT_ONCE: ("At once when approved", None),
}
REMIND: dict[str, tuple[str, timedelta | None]] = {
    "60": ("1 hour", timedelta(hours=1)),
    "30": ("30 minutes", timedelta(minutes=30)),
    "120": ("2 hours", timedelta(hours=2)),
    "0": ("None", None),
}


def maintenance_channels(config: CrierConfig) -> list[Network]:
    """The enabled channels a series may go to (not a status page, not Crier's own site)."""
    return [n for n in config.enabled_channels if n not in NOT_FOR_MAINTENANCE]


def filled_in(request: MaintenanceRequest, config: CrierConfig) -> Form:
    """A maintenance's values as the form shows them, to edit it: days and times on the
    organisation's clocks, and the announcement's and reminder's choices that give its times
    (an announcement no choice gives: at once)."""
    zone = config.organisation.zone
    starts = request.window.starts_at.astimezone(zone)
    ends = request.window.ends_at.astimezone(zone)
    lead = None if request.announce_at is None else request.window.starts_at - request.announce_at
    announce = next((k for k, (_, given) in ANNOUNCE.items() if given == lead), AT_ONCE)
    remind = next((k for k, (_, given) in REMIND.items() if given == request.remind_before), "0")
    return Form(
        {
            F.SERVICES: ",".join(request.services),
            F.TITLE: request.title,
            F.NOTICE: request.what_users_notice,
            F.TO_DO: request.what_to_do,
            F.START_DAY: starts.date().isoformat(),
            F.START_TIME: f"{starts:%H:%M}",
            F.END_DAY: ends.date().isoformat(),
            F.END_TIME: f"{ends:%H:%M}",
            F.ANNOUNCE: announce,
            F.REMIND: remind,
            F.CHANNELS: ",".join(c.value for c in request.channels),
        }
    )


def maintenance_form(
    config: CrierConfig, *, again: Form | None = None, editing: int | None = None
) -> Element:
    """The form that plans a maintenance; ``editing``: the one it edits (``again`` then holds
    its values, ``filled_in``)."""
    form = again or Form()
    zone = config.organisation.zone.key
    title = f"Edit maintenance #{editing}" if editing else "Plan a maintenance"
    form.body.append(heading(title, size="Large"))
    services = [(s.name, s.name) for s in config.services]
    form.choice(F.SERVICES, "Services", services, multi=True, required=True, placeholder="Choose…")
    form.text(
        F.TITLE,
        "What the work is",
        max_length=TITLE_MAX,
        required=True,
        placeholder="upgrading to the new version",
    )
    notice = "You cannot sign in to Blackboard"
    form.paragraph(F.NOTICE, "What users will notice", notice, max_length=TEXT_MAX)
    form.paragraph(
        F.TO_DO, "What to do beforehand", "Submit assignments early", max_length=TEXT_MAX
    )
    for day, at, label in ((F.START_DAY, F.START_TIME, "Start"), (F.END_DAY, F.END_TIME, "End")):
        form.add(date_input(day, f"{label} day ({zone})", value=form.value(day), required=True))
        form.add(time_input(at, f"{label} time ({zone})", value=form.value(at), required=True))
    announce = [(key, label) for key, (label, _) in ANNOUNCE.items()]
    form.choice(F.ANNOUNCE, "When to announce it", announce, default="3d")
    remind = [(key, label) for key, (label, _) in REMIND.items()]
    form.choice(F.REMIND, "Reminder before the start", remind, default="60")
    channels = maintenance_channels(config)
    form.channels(F.CHANNELS, "Channels", channels, ticked=channels)
    if editing:
        form.hint(
            "Saving drafts the series again from these values: it needs approval again, and "
            "what the old series had not yet published never goes out."
        )
        data = {Data.MAINTENANCE_ID: editing}
        save = execute("Save changes", Verb.MAINTENANCE_EDIT, data, style="positive")
        return card(form.body, actions=[save], summary=title)
    form.hint(
        "Crier drafts the announcement, the reminder, the start and the completion; an approver "
        "who did not plan it approves them all at once, and each goes out at its time."
    )
    actions = [execute("Plan maintenance", Verb.MAINTENANCE_PLAN, style="positive")]
    return card(form.body, actions=actions, summary="Plan a maintenance")


def maintenance_request(
    form: Submission, config: CrierConfig, *, now: datetime
) -> MaintenanceRequest:
    """The request the form makes; InvalidInput naming each input that is missing or wrong."""
    problems: dict[str, str] = {}
    start_day, end_day = form.day(F.START_DAY, problems), form.day(F.END_DAY, problems)
    start, end = form.time_of_day(F.START_TIME, problems), form.time_of_day(F.END_TIME, problems)
    if start_day is None or end_day is None or start is None or end is None:
        raise InvalidInput("Pick the window's start and end, day and time.", problems)
    window = local_window(start_day, start, end_day, end, config.organisation.zone)
    notice = _option(form, F.ANNOUNCE, ANNOUNCE, "3d")
    remind = _option(form, F.REMIND, REMIND, "60")
    return MaintenanceRequest(
        services=tuple(form.choices(F.SERVICES)),
        title=form.text(F.TITLE),
        what_users_notice=form.text(F.NOTICE),
        what_to_do=form.text(F.TO_DO),
        window=window,
        announce_at=now if notice is None else window.starts_at - notice,
        remind_before=remind,
        channels=_channels(form),
    )


def _option(
    form: Submission, field: str, options: dict[str, tuple[str, timedelta | None]], default: str
) -> timedelta | None:
    picked = form.choice(field) or default
    if picked not in options:
        raise InvalidInput("Pick one of the choices offered.", {field: "Pick one of these."})
    return options[picked][1]


def _channels(form: Submission) -> tuple[Network, ...]:
    problems: dict[str, str] = {}
    channels = form.networks(F.CHANNELS, problems)
    if problems:
        raise InvalidInput("Pick the channels from those offered.", problems)
    return channels
