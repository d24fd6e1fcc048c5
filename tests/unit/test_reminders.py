"""Reminders fire at their time and not before; snoozes move them; decisions cancel them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.core import Core, build_core
from bot.drafting.post_times import format_duration
from bot.errors import Conflict, NotFound
from bot.incidents.requests import DeclareRequest, ResolveRequest, UpdateRequest
from bot.ports import Actor
from bot.scheduling.calendar import CalendarEntry
from bot.settings import Settings
from bot.storage.models import AuditEvent, IncidentStatus, Job
from bot.storage.store import Store
from bot.views import IncidentView, PostView, Reminder
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config

analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)


class RecordingPresenter:
    """Plays a chat platform: keeps the reminders it was asked to show."""

    platform = "test"

    def __init__(self) -> None:
        self.reminders: list[Reminder] = []
        self.calendar: list[CalendarEntry] = []  # proposed calendar posts shown to approvers

    async def show_post(self, incident: IncidentView, post: PostView) -> None:
        return None

    async def show_incident(self, incident: IncidentView) -> None:
        return None

    async def remind(self, incident: IncidentView, reminder: Reminder) -> None:
        self.reminders.append(reminder)

    async def show_calendar(self, entry: CalendarEntry, *, where: str | None) -> None:
        self.calendar.append(entry)

    def kinds(self) -> list[str]:
        return [r.kind for r in self.reminders]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # Thursday 15 January 2026, 2:45 PM EST


@pytest.fixture
def chat() -> RecordingPresenter:
    return RecordingPresenter()


@pytest.fixture
def core(store: Store, clock: FakeClock, chat: RecordingPresenter) -> Core:
    config = make_config(reminders={"comms_lead_slack": "U0COMMSLEAD"})
    return build_core(
        settings=Settings(), config=config, store=store, clock=clock, presenters={"test": chat}
    )


async def tick(core: Core, clock: FakeClock, **delta: float) -> None:
    clock.advance(**delta)
    while await core.scheduler.run_once():
        pass
    await core.settle()


async def declare_and_publish(core: Core, **request: object) -> int:
    draft = await core.declare(
        analyst, DeclareRequest(service="Blackboard", summary="cannot log in", **request)
    )  # type: ignore[arg-type]
    await core.approve(approver, draft.post.id)
    await core.settle()
    return draft.incident.id


async def test_a_waiting_draft_pings_the_approvers_until_decided(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    draft = await core.declare(
        analyst, DeclareRequest(service="Blackboard", summary="cannot log in")
    )
    await tick(core, clock, minutes=4, seconds=59)
    assert chat.kinds() == []  # sev1 waits 5 minutes
    await tick(core, clock, seconds=1)
    assert chat.kinds() == ["approval"] and chat.reminders[0].mention_approvers
    await tick(core, clock, minutes=5)
    assert chat.kinds() == ["approval", "approval"]
    await core.approve(approver, draft.post.id)
    await tick(core, clock, minutes=30)
    assert chat.kinds().count("approval") == 2


async def test_the_promised_update_warns_then_names_the_comms_lead(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    await declare_and_publish(core, next_update_minutes=30)
    await tick(core, clock, minutes=24)
    assert chat.kinds() == []
    await tick(core, clock, minutes=1)
    assert chat.kinds() == ["next_update"]
    warning = chat.reminders[0]
    assert "3:15 PM" in warning.text and warning.mention_users == (analyst.key,)
    assert [a.kind for a in warning.actions] == ["post_update", "snooze", "snooze"]
    await tick(core, clock, minutes=5)
    assert chat.kinds() == ["next_update", "update_overdue"]
    assert chat.reminders[1].mention_comms_lead
    with core.store.transaction() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "promise_missed")).one()


async def test_an_update_in_time_cancels_the_reminder(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    incident_id = await declare_and_publish(core, next_update_minutes=30)
    await tick(core, clock, minutes=20)
    draft = await core.draft_update(
        analyst,
        incident_id,
        UpdateRequest(
            status=IncidentStatus.IDENTIFIED,
            what_we_are_doing="Restarting the sign-in servers.",
            next_update_minutes=60,
        ),
    )
    await core.approve(approver, draft.post.id)
    await tick(core, clock, minutes=15)
    assert "next_update" not in chat.kinds() and "update_overdue" not in chat.kinds()
    await tick(core, clock, minutes=40)  # 55 minutes after the update promised 60
    assert chat.kinds() == ["next_update"]


async def test_snooze_moves_a_reminder(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    await declare_and_publish(core, next_update_minutes=30)
    await tick(core, clock, minutes=25)
    snooze_15 = chat.reminders[0].actions[1].value
    assert await core.snooze(analyst, snooze_15) == 15
    await tick(core, clock, minutes=14)
    assert chat.kinds() == ["next_update"]  # not at 3:15: it was snoozed to 3:25
    await tick(core, clock, minutes=1)
    assert chat.kinds() == ["next_update", "update_overdue"]


async def test_monitoring_asks_for_the_all_clear_and_silence_asks_if_resolved(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    incident_id = await declare_and_publish(core, next_update_minutes=300)
    await tick(core, clock, minutes=59)
    assert chat.kinds() == []
    await tick(core, clock, minutes=1)
    assert chat.kinds() == ["stale"]  # sev1: an hour without a public post
    draft = await core.draft_update(
        analyst,
        incident_id,
        UpdateRequest(
            status=IncidentStatus.MONITORING,
            what_we_are_doing="A fix is in place.",
            next_update_minutes=300,
        ),
    )
    await core.approve(approver, draft.post.id)
    await tick(core, clock, minutes=59)
    assert chat.kinds() == ["stale"]
    await tick(core, clock, minutes=1)
    assert chat.kinds() == ["stale", "stale"]
    await tick(core, clock, minutes=60)
    assert "all_clear" in chat.kinds()
    assert [a.kind for a in chat.reminders[-1].actions][:1] in (["resolve"], ["post_update"])


async def test_the_review_comes_the_next_working_morning_with_figures(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    clock._now = datetime(2026, 1, 16, 21, 0, tzinfo=UTC)  # Friday 4 PM in New York
    incident_id = await declare_and_publish(core, next_update_minutes=30)
    draft = await core.draft_resolution(analyst, incident_id, ResolveRequest())
    assert not isinstance(draft, IncidentView)
    await core.approve(approver, draft.post.id)
    with core.store.transaction() as session:
        review = session.exec(select(Job).where(Job.kind == "remind_review")).one()
    assert review.due_at == datetime(2026, 1, 19, 14, 0, tzinfo=UTC)  # Monday 9 AM EST
    await tick(core, clock, days=2, hours=16, minutes=59)
    assert "review" not in chat.kinds()
    await tick(core, clock, minutes=1)
    assert chat.kinds()[-1] == "review"
    figures = dict(chat.reminders[-1].details)
    assert figures["Updates published"] == "0" and figures["Promised updates missed"] == "0"
    assert "next_update" not in chat.kinds()  # resolving cancelled the promise


async def test_after_downtime_a_missed_reminder_fires_once_and_says_it_is_late(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    await core.declare(analyst, DeclareRequest(service="Blackboard", summary="cannot log in"))
    await tick(core, clock, hours=3)  # Crier was down: 36 repeats were missed
    assert chat.kinds() == ["approval"]
    assert "late" in chat.reminders[0].text


async def test_a_reminder_points_at_the_update_waiting_for_approval(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    """The update was drafted in time but nobody approved it: *Post update* would only be
    refused ("a draft is waiting"), so the reminders send people to the waiting draft."""
    incident_id = await declare_and_publish(core, next_update_minutes=30)
    await tick(core, clock, minutes=10)
    await core.draft_update(
        analyst,
        incident_id,
        UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="Restarting."),
    )
    await tick(core, clock, minutes=15)
    warning = next(r for r in chat.reminders if r.kind == "next_update")
    assert "A draft has waited 15 minutes for approval in this thread" in warning.text
    assert warning.mention_approvers and "Time to draft it?" not in warning.text
    assert "post_update" not in [a.kind for a in warning.actions]
    await tick(core, clock, minutes=5)
    overdue = next(r for r in chat.reminders if r.kind == "update_overdue")
    assert "has waited 20 minutes" in overdue.text
    assert [a.kind for a in overdue.actions] == ["snooze"]


async def test_long_waits_read_in_hours_and_yesterday_names_its_day(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    """Crier down overnight: the approval reminder says "26 hours", not "1560 minutes", and a
    time that was yesterday carries its weekday."""
    await core.declare(analyst, DeclareRequest(service="Blackboard", summary="cannot log in"))
    clock.advance(hours=26)  # nothing ran meanwhile: the reminder comes late
    await tick(core, clock)
    [late] = chat.reminders
    assert late.text.startswith("A draft has waited 26 hours for approval.")
    assert "it was due at Thu 2:50 PM, while Crier was unavailable" in late.text


async def test_an_all_clear_in_the_night_is_reviewed_the_next_working_day_not_that_morning(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    clock._now = datetime(2026, 1, 20, 7, 0, tzinfo=UTC)  # Tuesday 2 AM in New York
    incident_id = await declare_and_publish(core, next_update_minutes=30)
    draft = await core.draft_resolution(analyst, incident_id, ResolveRequest())
    assert not isinstance(draft, IncidentView)
    await core.approve(approver, draft.post.id)
    with core.store.transaction() as session:
        review = session.exec(select(Job).where(Job.kind == "remind_review")).one()
    assert review.due_at == datetime(2026, 1, 21, 14, 0, tzinfo=UTC)  # Wednesday 9 AM EST


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (0, "0 minutes"),
        (1, "1 minute"),
        (59, "59 minutes"),
        (60, "1 hour"),
        (100, "1 hour 40 minutes"),
        (600, "10 hours"),
        (1560, "26 hours"),
        (2880, "2 days"),
    ],
)
def test_waits_are_said_as_people_say_them(minutes: int, said: str) -> None:
    assert format_duration(timedelta(minutes=minutes)) == said


async def test_approval_reminders_space_out_when_nobody_answers(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    """Every 5 minutes at first (sev1), then twice as long each time, at most hourly."""
    await core.declare(analyst, DeclareRequest(service="Blackboard", summary="cannot log in"))
    fired: list[int] = []
    for minute in range(1, 6 * 60 + 1):
        await tick(core, clock, minutes=1)
        if len(chat.reminders) > len(fired):
            fired.append(minute)
    assert fired[:6] == [5, 10, 15, 20, 30, 50]
    gaps = [b - a for a, b in itertools.pairwise(fired)]
    assert max(gaps) == 60 and gaps[-1] == 60


async def test_a_settled_reminders_snooze_says_so_instead_of_nagging_again(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    draft = await core.declare(
        analyst, DeclareRequest(service="Blackboard", summary="cannot log in")
    )
    await core.approve(approver, draft.post.id)
    await tick(core, clock, minutes=25)  # "the next update is promised by 3:15 PM"
    snooze = chat.reminders[-1].actions[-1].value
    resolution = await core.draft_resolution(analyst, draft.incident.id, ResolveRequest())
    assert not isinstance(resolution, IncidentView)
    await core.approve(approver, resolution.post.id)  # resolved: the promise is moot
    with pytest.raises(Conflict) as refused:
        await core.snooze(analyst, snooze)
    assert refused.value.message == "Nothing to snooze: the incident is closed."


async def test_a_snooze_says_the_minutes_it_really_moved_the_reminder(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    # A forged or garbled button value is held to a day, and the answer quotes what was done.
    await declare_and_publish(core, next_update_minutes=30)
    await tick(core, clock, minutes=25)
    job = chat.reminders[0].actions[1].value.split(":")[0]
    assert await core.snooze(analyst, f"{job}:100000") == 24 * 60
    assert await core.snooze(analyst, f"{job}:soon") == 15
    for forged in ("nonsense", "9223372036854775808:15", "²:15"):
        with pytest.raises(NotFound):
            await core.snooze(analyst, forged)


async def test_a_stale_incident_reminder_says_how_long_it_has_really_been(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    await declare_and_publish(core, next_update_minutes=600)
    await tick(core, clock, minutes=60)
    await tick(core, clock, minutes=60)
    stale = [r.text for r in chat.reminders if r.kind == "stale"]
    assert stale[0].startswith("No public post for 1 hour or more.")
    assert stale[1].startswith("No public post for 2 hours or more.")
