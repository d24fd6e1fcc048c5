"""Maintenance and the content calendar (issue 19): routine work does not hold the tips, unless
crier.yml's ``maintenance.pauses_calendar`` says so; then a post due during the window is held,
and once the work is complete (or called off) the comms channel is offered it again — post now
or skip, approvers only. An incident open at that moment takes it over for its all-clear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import CrierConfig, Network
from bot.core import Core, build_core
from bot.errors import Conflict, NotAllowed
from bot.incidents.requests import DeclareRequest, ResolveRequest
from bot.scheduling.calendar import CalendarEntry
from bot.settings import Settings
from bot.storage.models import ScheduledPost
from bot.storage.store import Store
from bot.views import IncidentView
from tests.clock import FakeClock
from tests.conftest import make_config
from tests.unit.maintenance.conftest import CHECKER, PLANNER, START, request, run_due
from tests.unit.test_calendar_series import SeriesPresenter

TIP = "Tip: a long passphrase beats a short password."


def pausing_config(pauses: bool) -> CrierConfig:
    return make_config(maintenance={"pauses_calendar": pauses})


@pytest.fixture
def chat() -> SeriesPresenter:
    return SeriesPresenter()


async def make_core(store: Store, chat: SeriesPresenter, *, pauses: bool) -> Core:
    return build_core(
        settings=Settings(),
        config=pausing_config(pauses),
        store=store,
        clock=FakeClock(START),
        presenters={"test": chat},
    )


@pytest.fixture
async def pausing(store: Store, chat: SeriesPresenter) -> AsyncIterator[Core]:
    core = await make_core(store, chat, pauses=True)
    yield core
    await core.close()


async def a_tip_during_the_window(core: Core) -> tuple[CalendarEntry, int]:
    """An approved maintenance (Sun 8 Mar, 1:00 AM EST to 5:00 AM EDT) and a tip approved for
    an hour into its window."""
    planned = await core.maintenance.propose(PLANNER, request())
    await core.maintenance.approve(CHECKER, planned.id)
    proposed = await core.content_calendar.add(
        PLANNER,
        text=TIP,
        channels=(Network.X,),
        due_at=planned.window.starts_at + timedelta(hours=1),
    )
    tip = await core.content_calendar.approve(CHECKER, proposed.id)
    return tip, planned.id


def state_of(core: Core, tip: CalendarEntry) -> ScheduledPost:
    with core.store.transaction() as session:
        return session.exec(select(ScheduledPost).where(ScheduledPost.id == tip.id)).one()


async def test_by_default_maintenance_does_not_hold_the_calendar(
    store: Store, chat: SeriesPresenter
) -> None:
    core = await make_core(store, chat, pauses=False)
    try:
        tip, _ = await a_tip_during_the_window(core)
        published = await run_due(core, tip.due_at)  # the series' posts up to then, and it
        assert [p.text for p in published].count(TIP) == 1
    finally:
        await core.close()


async def test_a_paused_post_waits_for_the_work_to_be_complete(
    pausing: Core, chat: SeriesPresenter
) -> None:
    core = pausing
    tip, maintenance_id = await a_tip_during_the_window(core)
    started = await run_due(core, tip.due_at - timedelta(hours=1))
    assert TIP not in [p.text for p in started]
    assert await run_due(core, tip.due_at) == []  # held
    held = state_of(core, tip)
    assert (held.state, held.held_by, held.held_by_maintenance) == ("held", None, maintenance_id)
    [notice] = [n for n in chat.notices if n.kind == "calendar_held"]
    assert f"Maintenance #{maintenance_id} is under way" in notice.text and TIP in notice.text
    # While the work goes on, posting it now is refused; the calendar says what holds it.
    with pytest.raises(Conflict, match="still under way"):
        await core.content_calendar.resume(CHECKER, tip.id, publish=True)
    listed = await core.content_calendar.entry(tip.id)
    assert listed.outcome == f"⏸️ held by maintenance #{maintenance_id} until it is complete"

    await core.maintenance.complete(PLANNER, maintenance_id)
    await run_due(core, core.clock.now())
    [offer] = [n for n in chat.notices if n.kind == "calendar_resume"]
    assert f"Maintenance #{maintenance_id} is over: 1 held" in offer.title
    assert f"#{tip.id}" in offer.text and "/outage calendar" in offer.text
    with pytest.raises(NotAllowed, match="Only approvers"):
        await core.content_calendar.resume(PLANNER, tip.id, publish=True)
    await core.content_calendar.resume(CHECKER, tip.id, publish=True)
    published = await run_due(core, core.clock.now())
    assert [p.text for p in published if p.network == "x"].count(TIP) == 1
    assert state_of(core, tip).held_by_maintenance is None


async def test_calling_the_work_off_offers_what_it_held(
    pausing: Core, chat: SeriesPresenter
) -> None:
    core = pausing
    tip, maintenance_id = await a_tip_during_the_window(core)
    await run_due(core, tip.due_at)
    cancelled = await core.maintenance.cancel(PLANNER, maintenance_id)
    assert cancelled is not None  # announced: the cancellation waits for approval
    await core.maintenance.decide_change(CHECKER, cancelled.id, approved=True)
    await run_due(core, core.clock.now())
    assert [n.kind for n in chat.notices].count("calendar_resume") == 1
    skipped = await core.content_calendar.resume(CHECKER, tip.id, publish=False)
    assert skipped.state == "skipped"


async def test_an_incident_open_at_the_end_of_the_work_takes_the_held_posts_over(
    pausing: Core, chat: SeriesPresenter
) -> None:
    core = pausing
    tip, maintenance_id = await a_tip_during_the_window(core)
    await run_due(core, tip.due_at)
    draft = await core.declare(PLANNER, DeclareRequest(service="VPN", summary="slow"))
    await core.approve(CHECKER, draft.post.id)
    await core.maintenance.complete(PLANNER, maintenance_id)
    await run_due(core, core.clock.now())
    held = state_of(core, tip)
    assert (held.held_by, held.held_by_maintenance) == (draft.incident.id, None)
    assert "calendar_resume" not in [n.kind for n in chat.notices]  # the all-clear offers it
    resolution = await core.draft_resolution(PLANNER, draft.incident.id, ResolveRequest())
    assert not isinstance(resolution, IncidentView)
    await core.approve(CHECKER, resolution.post.id)
    await run_due(core, core.clock.now())
    assert chat.reminders[-1].kind == "calendar_resume"
    assert str(tip.id) in [a.value for a in chat.reminders[-1].actions]
