"""The scheduled health check: the channel checks run daily as a durable job; the comms channel
hears when a channel stops being ready and when it is back (not every day it stays the same),
when an API version nears its end, and 14 and 3 days before a token expires."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, CrierConfig
from bot.core import Core, build_core
from bot.publishing.credentials import NetworkCredentials
from bot.scheduling.calendar import CalendarEntry
from bot.scheduling.channel_health import HEALTH_KEY
from bot.settings import Settings
from bot.storage.models import Job
from bot.storage.store import Store
from bot.views import IncidentView, Notice, PostView, Reminder
from tests.clock import FakeClock
from tests.conftest import make_config
from tests.fakes.networks.facebook import FakeGraph

PAGE = "1122334455"
TOKEN = "fb-page-token-not-for-chat"
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tuesday 10:00 AM in New York
FIRST_CHECK = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # Wednesday 7:00 AM in New York


class NoticeBoard:
    """Plays a chat platform: keeps the notices posted in its comms channel."""

    platform = "test"

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def show_post(self, incident: IncidentView, post: PostView) -> None:
        return None

    async def show_incident(self, incident: IncidentView) -> None:
        return None

    async def remind(self, incident: IncidentView, reminder: Reminder) -> None:
        return None

    async def show_calendar(self, entry: CalendarEntry, *, where: str | None) -> None:
        return None

    async def show_notice(self, notice: Notice) -> None:
        self.notices.append(notice)

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notices]


def facebook_config(graph: FakeGraph, **health: Any) -> CrierConfig:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels["facebook"] = {
        "enabled": True,
        "base_url": graph.base_url,
        "account": PAGE,
        "api_version": "v21.0",  # switched off on 2027-01-21
    }
    return make_config(channels=channels, health_check=health)


@pytest.fixture
async def graph(clock: FakeClock) -> AsyncIterator[FakeGraph]:
    # On the test's clock: past its expiry the token is refused, as Graph does.
    async with FakeGraph(
        page_id=PAGE, page_token=TOKEN, now=lambda: clock.now().timestamp()
    ) as server:
        server.token_expiry[TOKEN] = (int((START + timedelta(days=20)).timestamp()), 0)
        yield server  # type: ignore[misc]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def board() -> NoticeBoard:
    return NoticeBoard()


def new_core(store: Store, clock: FakeClock, board: NoticeBoard, config: CrierConfig) -> Core:
    core = build_core(
        settings=Settings(),
        config=config,
        store=store,
        clock=clock,
        credentials=NetworkCredentials(facebook_page_token=SecretStr(TOKEN)),
        presenters={board.platform: board},
    )
    return core


@pytest.fixture
async def core(
    store: Store, clock: FakeClock, board: NoticeBoard, graph: FakeGraph
) -> AsyncIterator[Core]:
    built = new_core(store, clock, board, facebook_config(graph))
    yield built
    await built.close()


async def tick(core: Core, clock: FakeClock, to: datetime | None = None, **delta: float) -> None:
    if to is not None:
        clock.advance(seconds=(to - clock.now()).total_seconds())
    clock.advance(**delta)
    while await core.scheduler.run_once():
        pass
    await core.settle()


def health_job(store: Store) -> Job:
    with store.transaction() as session:
        return session.exec(select(Job).where(Job.key == HEALTH_KEY)).one()


async def test_the_check_is_a_durable_job_at_seven_in_the_morning(
    core: Core, store: Store, clock: FakeClock, board: NoticeBoard
) -> None:
    await core.channel_health.start()
    await core.channel_health.start()  # a second start (another process) changes nothing
    job = health_job(store)
    assert job.due_at.replace(tzinfo=UTC) == FIRST_CHECK and job.done_at is None
    await tick(core, clock, to=FIRST_CHECK, seconds=-1)
    assert board.notices == []
    await tick(core, clock, seconds=1)
    assert health_job(store).due_at.replace(tzinfo=UTC) == FIRST_CHECK + timedelta(days=1)


async def test_a_version_near_its_end_is_said_once_with_the_key_and_the_new_value(
    core: Core, clock: FakeClock, board: NoticeBoard
) -> None:
    await core.channel_health.start()
    await tick(core, clock, to=FIRST_CHECK)
    [warning] = board.notices
    assert warning.kind == "version_ending"
    assert "v21.0" in warning.text and "2027-01-21" in warning.text
    assert "channels.facebook.api_version" in warning.text and "v26.0" in warning.text
    await tick(core, clock, days=1)
    await tick(core, clock, days=1)
    assert board.kinds() == ["version_ending"]


async def test_a_channel_that_stops_being_ready_is_said_once_and_again_when_back(
    core: Core, clock: FakeClock, board: NoticeBoard, graph: FakeGraph
) -> None:
    await core.channel_health.start()
    await tick(core, clock, to=FIRST_CHECK)
    board.notices.clear()
    graph.expired.add(TOKEN)
    await tick(core, clock, days=1)
    [down] = board.notices
    assert down.kind == "channel_down" and "Facebook" in down.text and "expired" in down.text
    assert "crier channels check" in down.text
    await tick(core, clock, days=1)
    assert board.kinds() == ["channel_down"]  # still down: not said again
    graph.expired.discard(TOKEN)
    await tick(core, clock, days=1)
    assert board.kinds() == ["channel_down", "channel_up"]
    await tick(core, clock, days=1)
    assert board.kinds() == ["channel_down", "channel_up"]
    assert all(TOKEN not in n.text for n in board.notices)


async def test_an_expiring_token_is_reminded_14_and_3_days_before(
    core: Core, clock: FakeClock, board: NoticeBoard
) -> None:
    expires = START + timedelta(days=20)
    await core.channel_health.start()
    await tick(core, clock, to=FIRST_CHECK)
    board.notices.clear()
    await tick(core, clock, to=expires - timedelta(days=14), seconds=-1)
    assert board.kinds() == []
    await tick(core, clock, seconds=1)
    [reminder] = board.notices
    assert reminder.kind == "token_expiring"
    assert "FACEBOOK_PAGE_TOKEN" in reminder.text and "14 days" in reminder.text
    assert "developers.facebook.com" in reminder.text  # where to renew it
    assert TOKEN not in reminder.text
    await tick(core, clock, to=expires - timedelta(days=3))
    assert board.kinds() == ["token_expiring", "token_expiring"]
    assert "3 days" in board.notices[-1].text


async def test_a_renewed_token_is_not_reminded(
    core: Core, clock: FakeClock, board: NoticeBoard, graph: FakeGraph
) -> None:
    await core.channel_health.start()
    await tick(core, clock, to=FIRST_CHECK)
    board.notices.clear()
    renewed = START + timedelta(days=40)  # before v21.0 has ended: that says something too
    graph.token_expiry[TOKEN] = (int(renewed.timestamp()), 0)
    await tick(core, clock, to=START + timedelta(days=6))  # the old token's 14-day reminder
    assert board.kinds() == []
    await tick(core, clock, to=renewed - timedelta(days=14))
    assert board.kinds() == ["token_expiring"]


async def test_a_token_found_late_is_reminded_once_not_for_every_passed_day(
    store: Store, clock: FakeClock, board: NoticeBoard, graph: FakeGraph
) -> None:
    graph.token_expiry[TOKEN] = (int((FIRST_CHECK + timedelta(days=2)).timestamp()), 0)
    core = new_core(store, clock, board, facebook_config(graph))
    try:
        await core.channel_health.start()
        await tick(core, clock, to=FIRST_CHECK)
        await tick(core, clock, seconds=1)
        assert board.kinds().count("token_expiring") == 1
        assert "2 days" in board.notices[-1].text
    finally:
        await core.close()


async def test_what_was_said_survives_a_restart(
    store: Store, clock: FakeClock, board: NoticeBoard, graph: FakeGraph
) -> None:
    first = new_core(store, clock, board, facebook_config(graph))
    try:
        await first.channel_health.start()
        await tick(first, clock, to=FIRST_CHECK)
    finally:
        await first.close()
    assert board.kinds() == ["version_ending"]
    again = new_core(store, clock, board, facebook_config(graph))
    try:
        await again.channel_health.start()
        await tick(again, clock, days=1)
        assert board.kinds() == ["version_ending"]
    finally:
        await again.close()


async def test_the_schedule_follows_crier_yml_and_can_be_turned_off(
    store: Store, clock: FakeClock, board: NoticeBoard, graph: FakeGraph
) -> None:
    core = new_core(store, clock, board, facebook_config(graph))
    try:
        await core.channel_health.start()
        await tick(core, clock, to=FIRST_CHECK)
    finally:
        await core.close()
    every_six = new_core(store, clock, board, facebook_config(graph, every_hours=6, at="01:00"))
    try:
        await every_six.channel_health.start()
        job = health_job(store)
        assert job.due_at.replace(tzinfo=UTC) == FIRST_CHECK + timedelta(hours=6)
        assert job.payload.get("said")  # what was said is kept when the schedule moves
    finally:
        await every_six.close()
    off = new_core(store, clock, board, facebook_config(graph, enabled=False))
    try:
        await off.channel_health.start()
        assert health_job(store).done_at is not None
    finally:
        await off.close()


def test_an_unquoted_time_in_crier_yml_is_read_as_a_time() -> None:
    raw = yaml.safe_load("health_check: {at: 7:30}")  # YAML 1.1: the number 450
    config = make_config(health_check=raw["health_check"])
    assert config.health_check.at.strftime("%H:%M") == "07:30"
    assert make_config().health_check.enabled


def test_start_up_schedules_the_check_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.server import open_crier

    monkeypatch.setenv("CRIER_CONFIG", str(STARTER_CONFIG))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'crier.db'}")
    for _ in range(2):  # a restart keeps the one job
        crier = open_crier(settings, clock=FakeClock(START))
        store = crier.core.store
        with store.transaction() as session:
            jobs = session.exec(select(Job).where(Job.kind == "channel_health")).all()
        store.dispose()
        assert len(jobs) == 1
        assert jobs[0].due_at.replace(tzinfo=UTC) == FIRST_CHECK
