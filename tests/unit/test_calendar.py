"""The content calendar goes out on time, and holds while an incident is open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import Network, Settings
from bot.core import Core, build_core
from bot.errors import Conflict, InvalidInput
from bot.models import OutboxPost, ScheduledPost
from bot.ports import Actor
from bot.requests import DeclareRequest, ResolveRequest
from bot.store import Store
from bot.views import IncidentView
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.unit.test_reminders import RecordingPresenter, tick

analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)
TIP = "Tip: you can reset your password yourself at https://it.example.edu/password"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def chat() -> RecordingPresenter:
    return RecordingPresenter()


@pytest.fixture
def core(store: Store, clock: FakeClock, chat: RecordingPresenter) -> Core:
    core = build_core(settings=Settings(), config=make_config(), store=store, clock=clock)
    core.presenters["test"] = chat
    return core


def outbox(core: Core) -> list[OutboxPost]:
    with core.store.transaction() as session:
        return list(session.exec(select(OutboxPost)).all())


async def publish(core: Core) -> None:
    while await core.worker.run_once():
        pass


async def test_a_scheduled_post_goes_out_at_its_time(core: Core, clock: FakeClock) -> None:
    await core.content_calendar.add(
        analyst,
        text=TIP,
        channels=(Network.X, Network.MASTODON),
        due_at=clock.now() + timedelta(hours=1),
    )
    await tick(core, clock, minutes=59)
    await publish(core)
    assert outbox(core) == []
    await tick(core, clock, minutes=1)
    await publish(core)
    assert sorted(p.network for p in outbox(core)) == ["mastodon", "x"]
    assert all(p.text == TIP for p in outbox(core))


async def test_an_open_incident_holds_it_and_the_all_clear_offers_it(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    tip = await core.content_calendar.add(
        analyst, text=TIP, channels=(Network.X,), due_at=clock.now() + timedelta(minutes=30)
    )
    draft = await core.declare(analyst, DeclareRequest(service="Wi-Fi", summary="eduroam down"))
    await core.approve(approver, draft.post.id)
    await publish(core)
    await tick(core, clock, minutes=30)
    await publish(core)
    assert [p.network for p in outbox(core)].count("x") == 1  # only the incident's post
    assert "calendar_held" in chat.kinds()
    assert "eduroam" not in chat.reminders[chat.kinds().index("calendar_held")].text

    resolution = await core.draft_resolution(analyst, draft.incident.id, ResolveRequest())
    assert not isinstance(resolution, IncidentView)
    await core.approve(approver, resolution.post.id)
    await tick(core, clock, seconds=1)
    offer = chat.reminders[-1]
    assert offer.kind == "calendar_resume"
    assert [a.kind for a in offer.actions] == ["calendar_post", "calendar_skip"]
    await core.content_calendar.resume(approver, tip.id, publish=True)
    await publish(core)
    assert TIP in [p.text for p in outbox(core)]
    with pytest.raises(Conflict, match="already published"):
        await core.content_calendar.resume(approver, tip.id, publish=False)


async def test_skipping_a_held_post_publishes_nothing(core: Core, clock: FakeClock) -> None:
    tip = await core.content_calendar.add(
        analyst, text=TIP, channels=(Network.X,), due_at=clock.now() + timedelta(minutes=5)
    )
    draft = await core.declare(analyst, DeclareRequest(service="VPN", summary="slow"))
    await tick(core, clock, minutes=5)
    await core.reject(approver, draft.post.id, "Not yet")
    closed = await core.draft_resolution(analyst, draft.incident.id, ResolveRequest())
    assert isinstance(closed, IncidentView)
    await tick(core, clock, seconds=1)
    skipped = await core.content_calendar.resume(approver, tip.id, publish=False)
    assert skipped.state == "skipped"
    await publish(core)
    assert outbox(core) == []


async def test_the_calendar_refuses_the_status_page_and_past_times(
    core: Core, clock: FakeClock
) -> None:
    with pytest.raises(InvalidInput, match="status"):
        await core.content_calendar.add(
            analyst,
            text=TIP,
            channels=(Network.STATUSPAGE,),
            due_at=clock.now() + timedelta(hours=1),
        )
    with pytest.raises(InvalidInput, match="passed"):
        await core.content_calendar.add(
            analyst, text=TIP, channels=(Network.X,), due_at=clock.now() - timedelta(minutes=1)
        )
    with core.store.transaction() as session:
        assert session.exec(select(ScheduledPost)).all() == []
