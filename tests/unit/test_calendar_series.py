"""The content calendar's recurring series (issue 19): a week of "Mon, Wed, Fri at 10:00" drafted
once from a rotating bank, approved together, published at 10:00 on the organisation's clock
(across both clock changes), skipped, held by an incident, and never published unapproved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.config import CrierConfig
from bot.core import Core, build_core
from bot.errors import Conflict, NotAllowed
from bot.incidents.requests import DeclareRequest, ResolveRequest
from bot.ports import Actor
from bot.scheduling.calendar import SERIES_DRAFT, CalendarBatch, sync_from_config
from bot.scheduling.calendar_series import draft_ahead, occurrences
from bot.settings import Settings
from bot.storage.models import AuditEvent, Job, OutboxPost, ScheduledPost
from bot.storage.store import Store
from bot.views import IncidentView, Notice
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, OUTSIDER, make_config
from tests.unit.test_reminders import RecordingPresenter, tick

analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)
outsider = Actor("slack", OUTSIDER)
MWF_10 = "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=10;BYMINUTE=0"
BANK = [
    "Tip 1: lock your screen when you step away.",
    "Tip 2: a long passphrase beats a short password.",
    "Tip 3: report phishing with the Report button.",
    "Tip 4: update your laptop before the weekend.",
]


class SeriesPresenter(RecordingPresenter):
    """A chat that shows a batch in one message, and notices."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[CalendarBatch] = []
        self.notices: list[Notice] = []

    async def show_calendar_batch(self, batch: CalendarBatch) -> None:
        self.batches.append(batch)

    async def show_notice(self, notice: Notice) -> None:
        self.notices.append(notice)


def series_config(**series: Any) -> CrierConfig:
    tips = {"name": "Tech tips", "rule": MWF_10, "channels": ["x", "mastodon"], "posts": BANK}
    return make_config(calendar_series=[{**tips, **series}])


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # Thursday 15 January 2026, 2:45 PM EST


@pytest.fixture
def chat() -> SeriesPresenter:
    return SeriesPresenter()


def make_core(store: Store, clock: FakeClock, chat: Any, **series: Any) -> Core:
    """A core whose crier.yml has the Tech tips series (``series``: what differs)."""
    return build_core(
        settings=Settings(),
        config=series_config(**series),
        store=store,
        clock=clock,
        presenters={"test": chat},
    )


@pytest.fixture
def core(store: Store, clock: FakeClock, chat: SeriesPresenter) -> Core:
    return make_core(store, clock, chat)


async def start(core: Core, clock: FakeClock) -> None:
    """What ``crier serve`` does at start-up, then the scheduler's first look."""
    with core.store.transaction() as session:
        sync_from_config(session, config=core.config, now=clock.now())
    await tick(core, clock, seconds=0)


def posts(core: Core) -> list[ScheduledPost]:
    with core.store.transaction() as session:
        return list(session.exec(select(ScheduledPost).order_by(col(ScheduledPost.due_at))))


def outbox(core: Core) -> list[OutboxPost]:
    with core.store.transaction() as session:
        return list(session.exec(select(OutboxPost).order_by(col(OutboxPost.id))))


async def publish(core: Core) -> None:
    while await core.publishing.run_once():
        pass


async def until(core: Core, clock: FakeClock, at: datetime) -> None:
    """Move the clock to ``at``, running what comes due and publishing it."""
    await tick(core, clock, seconds=(at - clock.now()).total_seconds())
    await publish(core)


async def test_the_rest_of_this_week_and_the_next_are_drafted_once_as_one_batch(
    core: Core, clock: FakeClock, chat: SeriesPresenter
) -> None:
    await start(core, clock)
    drafted = posts(core)
    assert [(p.due_at, p.text, p.state) for p in drafted] == [
        (utc(2026, 1, 16, 15), BANK[0], "pending"),  # Fri 10:00 EST
        (utc(2026, 1, 19, 15), BANK[1], "pending"),  # Mon
        (utc(2026, 1, 21, 15), BANK[2], "pending"),  # Wed
        (utc(2026, 1, 23, 15), BANK[3], "pending"),  # Fri: the end of next week's is the horizon
    ]
    assert {(p.series, p.created_by, p.batch) for p in drafted} == {
        ("Tech tips", "config:crier.yml", drafted[0].id)
    }
    assert all(p.occurrence_at == p.due_at for p in drafted)
    [batch] = chat.batches  # one message for them all
    assert [e.id for e in batch.waiting] == [p.id for p in drafted]
    assert chat.calendar == []  # not each on its own as well

    with core.store.transaction() as session:  # the daily job again, now: nothing new
        assert draft_ahead(session, config=core.config, now=clock.now()) is None
        sync_from_config(session, config=core.config, now=clock.now())  # a restart
    await tick(core, clock, seconds=1)
    assert len(posts(core)) == 4 and len(chat.batches) == 1
    with core.store.transaction() as session:
        drafting = session.exec(select(Job).where(Job.key == SERIES_DRAFT)).one()
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "calendar_series_draft")
        ).all()
    assert drafting.done_at is None
    assert drafting.due_at == utc(2026, 1, 16, 14)  # tomorrow at 9:00 EST
    assert [e.detail["bank_position"] for e in events] == [0, 1, 2, 3]


async def test_each_monday_drafts_the_following_week_and_the_bank_wraps_around(
    core: Core, clock: FakeClock, chat: SeriesPresenter
) -> None:
    await start(core, clock)
    await until(core, clock, utc(2026, 1, 18, 14))  # Fri, Sat, Sun at 9:00: nothing new
    assert len(posts(core)) == 4 and len(chat.batches) == 1
    await until(core, clock, utc(2026, 1, 19, 14))  # Mon 9:00 EST: the week of the 26th
    drafted = [p for p in posts(core) if p.due_at > utc(2026, 1, 24)]
    assert [(p.due_at.day, p.text) for p in drafted] == [
        (26, BANK[0]),  # round again
        (28, BANK[1]),
        (30, BANK[2]),
    ]
    await until(core, clock, utc(2026, 1, 25, 14))  # Tue … Sun: nothing new
    assert len(posts(core)) == 7
    await until(core, clock, utc(2026, 1, 26, 14))  # Mon: the week of 2 February
    assert [(p.due_at.day, p.text) for p in posts(core)[-3:]] == [
        (2, BANK[3]),
        (4, BANK[0]),
        (6, BANK[1]),
    ]
    assert [len(b.entries) for b in chat.batches] == [4, 3, 3]  # a week's posts in each


async def test_approve_all_publishes_each_at_ten_on_the_organisations_clock(
    core: Core, clock: FakeClock, chat: SeriesPresenter
) -> None:
    await start(core, clock)
    [batch] = chat.batches
    approved = await core.content_calendar.approve_all(approver, batch.id)
    assert [e.state for e in approved.entries] == ["scheduled"] * 4
    assert {e.decided_by for e in approved.entries} == {f"slack:{APPROVER}"}
    for n, due in enumerate([utc(2026, 1, 16, 15), utc(2026, 1, 19, 15), utc(2026, 1, 21, 15)]):
        await until(core, clock, due - timedelta(seconds=1))
        assert len(outbox(core)) == 2 * n
        await until(core, clock, due)
        assert [p.text for p in outbox(core)][-2:] == [BANK[n], BANK[n]]
        assert sorted(p.network for p in outbox(core)[-2:]) == ["mastodon", "x"]
    with pytest.raises(Conflict, match="waiting"):
        await core.content_calendar.approve_all(approver, batch.id)


async def test_only_approvers_approve_all_or_skip(core: Core, clock: FakeClock) -> None:
    await start(core, clock)
    [first, *_] = posts(core)
    batch_id = first.batch or 0
    with pytest.raises(NotAllowed, match="Only approvers"):
        await core.content_calendar.approve_all(analyst, batch_id)
    with pytest.raises(NotAllowed, match="Only approvers"):
        await core.content_calendar.skip(outsider, first.id or 0)
    assert {p.state for p in posts(core)} == {"pending"}
    with core.store.transaction() as session:
        refused = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.action).like("%refused"))
        ).all()
    assert refused == ["calendar_approve_refused", "calendar_skip_refused"]


async def test_a_skipped_post_never_goes_out(
    core: Core, clock: FakeClock, chat: SeriesPresenter
) -> None:
    await start(core, clock)
    _, monday, wednesday, _ = posts(core)
    skipped = await core.content_calendar.skip(approver, monday.id or 0)
    assert skipped.state == "skipped" and skipped.series == "Tech tips"
    approved = await core.content_calendar.approve_all(approver, chat.batches[0].id)
    assert [e.state for e in approved.entries] == ["scheduled", "skipped", "scheduled", "scheduled"]
    # An approved one may be skipped too, before its time.
    await core.content_calendar.skip(approver, wednesday.id or 0)
    with pytest.raises(Conflict, match="already skipped"):
        await core.content_calendar.skip(approver, monday.id or 0)
    await until(core, clock, utc(2026, 1, 21, 16))
    assert [p.text for p in outbox(core)] == [BANK[0], BANK[0]]  # Friday's only
    assert [p.state for p in posts(core)[:3]] == ["published", "skipped", "skipped"]


async def test_an_unapproved_post_is_reminded_the_day_before_and_never_goes_out(
    core: Core, clock: FakeClock, chat: SeriesPresenter
) -> None:
    await start(core, clock)
    friday, monday, _, _ = posts(core)
    await core.content_calendar.approve(approver, friday.id or 0)  # one by one works too
    await until(core, clock, utc(2026, 1, 18, 15) - timedelta(seconds=1))  # Sun 9:59:59
    reminded = [n for n in chat.notices if n.kind == "calendar_unapproved"]
    assert reminded == []  # Friday's was approved: no reminder for it
    await until(core, clock, utc(2026, 1, 18, 15))  # Sunday 10:00: the day before Monday's
    [notice] = [n for n in chat.notices if n.kind == "calendar_unapproved"]
    assert "Tech tips" in notice.title and "Mon 10:00 AM" in notice.title
    assert f"#{monday.id}" in notice.text and "never published" in notice.text
    await until(core, clock, utc(2026, 1, 19, 16))  # past Monday's time
    assert [p.text for p in outbox(core)] == [BANK[0], BANK[0]]  # Friday's only
    with pytest.raises(Conflict, match="before anyone approved it"):
        await core.content_calendar.approve(approver, monday.id or 0)
    # Approve all, late: Wednesday's is scheduled, Monday's (past its time) is left as it was.
    approved = await core.content_calendar.approve_all(approver, monday.batch or 0)
    states = [e.state for e in approved.entries]
    assert states == ["published", "pending", "scheduled", "scheduled"]
    await until(core, clock, utc(2026, 1, 22, 16))
    assert [p.text for p in outbox(core)][2:] == [BANK[2], BANK[2]]
    assert BANK[1] not in [p.text for p in outbox(core)]
    assert posts(core)[1].state == "pending"


async def test_ten_oclock_stays_ten_oclock_across_the_spring_clock_change(
    store: Store, chat: SeriesPresenter
) -> None:
    clock = FakeClock(utc(2026, 3, 5, 12))  # Thursday 5 March, 7:00 AM EST
    core = make_core(store, clock, chat)
    await start(core, clock)
    assert [p.due_at for p in posts(core)] == [
        utc(2026, 3, 6, 15),  # Fri 10:00 EST
        utc(2026, 3, 9, 14),  # Mon 10:00 EDT: the clocks went forward on Sunday
        utc(2026, 3, 11, 14),
        utc(2026, 3, 13, 14),
    ]
    with store.transaction() as session:
        reminders = session.exec(
            select(Job.due_at).where(Job.kind == "calendar_unapproved").order_by(col(Job.due_at))
        ).all()
    # The day before, at 10:00 on the clock: Thursday EST, then Sunday (after 2:00) EDT.
    assert reminders == [
        utc(2026, 3, 5, 15),
        utc(2026, 3, 8, 14),
        utc(2026, 3, 10, 14),
        utc(2026, 3, 12, 14),
    ]
    await core.content_calendar.approve_all(approver, chat.batches[0].id)
    await until(core, clock, utc(2026, 3, 9, 14) - timedelta(seconds=1))
    assert len(outbox(core)) == 2  # Friday's
    await until(core, clock, utc(2026, 3, 9, 14))
    assert len(outbox(core)) == 4


async def test_ten_oclock_stays_ten_oclock_across_the_autumn_clock_change(
    store: Store, chat: SeriesPresenter
) -> None:
    clock = FakeClock(utc(2026, 10, 29, 12))  # Thursday 29 October, 8:00 AM EDT
    core = make_core(store, clock, chat)
    await start(core, clock)
    assert [p.due_at for p in posts(core)] == [
        utc(2026, 10, 30, 14),  # Fri 10:00 EDT
        utc(2026, 11, 2, 15),  # Mon 10:00 EST: the clocks went back on Sunday
        utc(2026, 11, 4, 15),
        utc(2026, 11, 6, 15),
    ]
    await core.content_calendar.approve_all(approver, chat.batches[0].id)
    await until(core, clock, utc(2026, 11, 2, 14))  # 9:00 EST, 10:00 had it been EDT
    assert len(outbox(core)) == 2
    await until(core, clock, utc(2026, 11, 2, 15))
    assert len(outbox(core)) == 4


def test_a_time_the_clock_skips_goes_an_hour_later_and_a_repeated_one_once() -> None:
    config = series_config(rule="FREQ=DAILY;BYHOUR=2;BYMINUTE=30")
    zone = config.organisation.zone
    [series] = config.calendar_series
    spring = occurrences(series, zone=zone, after=utc(2026, 3, 7), until=utc(2026, 3, 10))
    assert spring == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]
    # 8 March 2:30 does not exist in New York: 3:30 AM EDT (07:30 UTC), as RFC 5545 says.
    assert spring[1].astimezone(zone).strftime("%H:%M %Z") == "03:30 EDT"
    hourly = series_config(rule="FREQ=HOURLY;BYMINUTE=30").calendar_series[0]
    night = occurrences(hourly, zone=zone, after=utc(2026, 3, 8, 6), until=utc(2026, 3, 8, 8))
    assert night == [utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30)]  # 1:30 EST, 3:30 EDT once
    autumn = series_config(rule="FREQ=DAILY;BYHOUR=1;BYMINUTE=30").calendar_series[0]
    fall = occurrences(autumn, zone=zone, after=utc(2026, 11, 1), until=utc(2026, 11, 2))
    assert fall == [utc(2026, 11, 1, 5, 30)]  # 1:30 AM EDT, the first of the two


async def test_an_open_incident_holds_an_approved_post_until_its_all_clear(
    core: Core, clock: FakeClock, chat: SeriesPresenter
) -> None:
    await start(core, clock)
    await core.content_calendar.approve_all(approver, chat.batches[0].id)
    friday = posts(core)[0]
    draft = await core.declare(analyst, DeclareRequest(service="Wi-Fi", summary="eduroam down"))
    await core.approve(approver, draft.post.id)
    await until(core, clock, utc(2026, 1, 16, 15))
    assert BANK[0] not in [p.text for p in outbox(core)]
    assert posts(core)[0].state == "held" and "calendar_held" in chat.kinds()
    resolution = await core.draft_resolution(analyst, draft.incident.id, ResolveRequest())
    assert not isinstance(resolution, IncidentView)
    await core.approve(approver, resolution.post.id)
    await tick(core, clock, seconds=1)
    assert chat.reminders[-1].kind == "calendar_resume"
    await core.content_calendar.resume(approver, friday.id or 0, publish=True)
    await publish(core)
    assert [p.text for p in outbox(core)].count(BANK[0]) == 2


async def test_without_series_nothing_is_drafted(store: Store, clock: FakeClock) -> None:
    core = make_core(store, clock, SeriesPresenter())
    with store.transaction() as session:
        sync_from_config(session, config=core.config, now=clock.now())
        sync_from_config(session, config=make_config(), now=clock.now())  # series removed
        drafting = session.exec(select(Job).where(Job.key == SERIES_DRAFT)).one()
    assert drafting.outcome == "cancelled"
    await tick(core, clock, days=2)
    assert posts(core) == []


def test_an_occurrence_is_drafted_once(store: Store) -> None:
    at = utc(2026, 1, 16, 15)
    same: dict[str, Any] = {
        "text": "x",
        "due_at": at,
        "created_by": "config:crier.yml",
        "series": "Tech tips",
    }
    with store.transaction() as session:
        session.add(ScheduledPost(**same, occurrence_at=at))
        session.add(ScheduledPost(**same, occurrence_at=at - timedelta(days=1)))
        session.add(ScheduledPost(**{**same, "series": None}))  # not a series': no occurrence
        session.add(ScheduledPost(**{**same, "series": None}))
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(ScheduledPost(**same, occurrence_at=at))
