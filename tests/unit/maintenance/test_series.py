"""A maintenance series through the core: planned by one person, approved as one by another,
each post published at its own time through the outbox (with that time on it), the completion
when someone says the work is done; across the night the clocks go forward."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.core import Core
from bot.errors import Conflict, NotAllowed
from bot.incidents.requests import DeclareRequest
from bot.maintenance import series
from bot.maintenance.desk import SHOW
from bot.maintenance.export import export_maintenance
from bot.maintenance.series import SeriesPost, ShowReason
from bot.maintenance.window import SeriesKind, local_window
from bot.storage import audit
from bot.storage.models import Delivery, DeliveryState, Job, MaintenanceState
from tests.unit.maintenance.conftest import CHECKER, NEW_YORK, PLANNER, START, request, run_due


async def test_one_approval_publishes_each_post_at_its_time(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request())
    assert planned.state == MaintenanceState.PENDING
    assert planned.channels == ("x", "mastodon")  # a status page is not for the series
    kinds = [(p.kind, p.due_at) for p in planned.posts]
    starts = planned.window.starts_at
    assert kinds == [
        (SeriesKind.ANNOUNCE, starts - timedelta(days=3)),
        (SeriesKind.REMINDER, starts - timedelta(hours=1)),
        (SeriesKind.START, starts),
        (SeriesKind.COMPLETE, None),
    ]
    assert await run_due(core, START + timedelta(days=1)) == []  # nothing before approval

    with pytest.raises(NotAllowed):
        await core.maintenance.approve(PLANNER, planned.id)  # not their own
    approved = await core.maintenance.approve(CHECKER, planned.id)
    assert approved.state == MaintenanceState.SCHEDULED
    with pytest.raises(Conflict):
        await core.maintenance.approve(CHECKER, planned.id)

    announce = await run_due(core, starts - timedelta(days=3))  # Thu 5 Mar, 1:00 AM EST
    assert sorted(p.network for p in announce) == ["mastodon", "x"]
    [x_post] = [p for p in announce if p.network == "x"]
    assert x_post.text.startswith("Planned maintenance · 1:00 AM EST")
    assert "on Sun 8 Mar, 1:00 AM EST to 5:00 AM EDT" in x_post.text
    assert await run_due(core, starts - timedelta(hours=1, minutes=1)) == []

    reminder = await run_due(core, starts - timedelta(hours=1))
    assert [p.text.splitlines()[0] for p in reminder] == ["Reminder · 12:00 AM EST"] * 2
    begun = await run_due(core, starts)
    assert {p.text.splitlines()[0] for p in begun} == {"Maintenance started · 1:00 AM EST"}
    assert (await core.maintenance.view(planned.id)).state == MaintenanceState.IN_PROGRESS

    # Past the end: nobody said it is done, so the team is asked (and nothing is published).
    assert await run_due(core, planned.window.ends_at + timedelta(minutes=1)) == []
    done = await core.maintenance.complete(PLANNER, planned.id)
    assert done.state == MaintenanceState.COMPLETED
    complete = await run_due(core, planned.window.ends_at + timedelta(minutes=2))
    assert {p.text.splitlines()[0] for p in complete} == {"Maintenance complete · 5:02 AM EDT"}
    deliveries = await core.store.read(lambda s: s.exec(select(Delivery)).all())
    assert len(deliveries) == 8 and {d.state for d in deliveries} == {DeliveryState.SENT}


async def test_a_post_runs_once_however_often_its_job_fires(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request(remind_before=None))
    await core.maintenance.approve(CHECKER, planned.id)
    [announce, *_] = planned.posts
    due = announce.due_at
    assert due is not None

    def fire(session: Session) -> SeriesPost | None:  # the job, as a second replica runs it
        return series.post_due(session, maintenance_post_id=announce.id, now=due)

    first, again = await core.store.run(fire), await core.store.run(fire)
    assert first is not None and again is None
    published = await run_due(core, due)
    assert len(published) == 2


async def test_completion_before_the_window_is_refused(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request())
    await core.maintenance.approve(CHECKER, planned.id)
    with pytest.raises(Conflict, match="has not started"):
        await core.maintenance.complete(PLANNER, planned.id)


async def test_a_rejected_series_publishes_nothing(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request())
    rejected = await core.maintenance.reject(CHECKER, planned.id)
    assert rejected.state == MaintenanceState.REJECTED
    assert await run_due(core, planned.window.ends_at) == []


async def test_an_approved_extension_goes_out_and_moves_the_end(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request(remind_before=None))
    await core.maintenance.approve(CHECKER, planned.id)
    ends = planned.window.ends_at
    await run_due(core, ends + timedelta(minutes=1))  # announced, started, past its end
    extension = await core.maintenance.extend(PLANNER, planned.id, timedelta(hours=1))
    assert "We now expect to finish by 6:01 AM EDT" in extension.texts["x"]
    assert await run_due(core, ends + timedelta(minutes=2)) == []  # waits for approval
    with pytest.raises(NotAllowed):
        await core.maintenance.decide_change(PLANNER, extension.id, approved=True)
    extended = await core.maintenance.decide_change(CHECKER, extension.id, approved=True)
    assert extended.window.ends_at == ends + timedelta(hours=1, minutes=1)
    out = await run_due(core, ends + timedelta(minutes=3))
    assert {p.text.splitlines()[0] for p in out} == {"Maintenance extended · 5:03 AM EDT"}
    with pytest.raises(Conflict):
        await core.maintenance.decide_change(CHECKER, extension.id, approved=True)


async def test_cancelling_before_the_announcement_says_nothing(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request())
    await core.maintenance.approve(CHECKER, planned.id)
    assert await core.maintenance.cancel(PLANNER, planned.id) is None
    assert (await core.maintenance.view(planned.id)).state == MaintenanceState.CANCELLED
    assert await run_due(core, planned.window.ends_at + timedelta(hours=1)) == []


async def test_cancelling_after_the_announcement_is_said_once_approved(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request())
    await core.maintenance.approve(CHECKER, planned.id)
    starts = planned.window.starts_at
    assert len(await run_due(core, starts - timedelta(days=3))) == 2  # announced
    cancellation = await core.maintenance.cancel(PLANNER, planned.id)
    assert cancellation is not None
    assert "will not take place" in cancellation.texts["mastodon"]
    assert (await core.maintenance.view(planned.id)).state == MaintenanceState.SCHEDULED
    cancelled = await core.maintenance.decide_change(CHECKER, cancellation.id, approved=True)
    assert cancelled.state == MaintenanceState.CANCELLED
    out = await run_due(core, starts - timedelta(days=2))
    assert {p.text.splitlines()[0] for p in out} == {"Maintenance cancelled · 1:00 AM EST"}
    assert await run_due(core, planned.window.ends_at + timedelta(hours=1)) == []  # no more


async def test_an_outage_during_the_window_is_linked_to_it(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request(remind_before=None))
    await core.maintenance.approve(CHECKER, planned.id)
    await run_due(core, planned.window.starts_at + timedelta(minutes=30))
    during = await core.declare(PLANNER, DeclareRequest(service="Blackboard", summary="errors"))
    other = await core.declare(PLANNER, DeclareRequest(service="Email", summary="slow"))
    record = await core.store.read(
        lambda s: export_maintenance(s, maintenance_id=planned.id, config=core.config)
    )
    assert f"- #{during.incident.id}: Blackboard — errors" in record
    assert f"#{other.incident.id}:" not in record
    timeline = await core.store.read(
        lambda s: audit.export_markdown(s, incident_id=during.incident.id, config=core.config)
    )
    assert f"declared the incident during planned maintenance #{planned.id}" in timeline


async def test_an_edited_window_is_drafted_and_approved_again(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request(remind_before=None))
    await core.maintenance.approve(CHECKER, planned.id)
    starts = planned.window.starts_at
    assert len(await run_due(core, starts - timedelta(days=3))) == 2  # announced
    later = request(
        remind_before=None,
        window=local_window(date(2026, 3, 14), time(1), date(2026, 3, 14), time(5), NEW_YORK),
    )
    edited = await core.maintenance.edit(PLANNER, planned.id, later)
    assert (edited.state, edited.revision) == (MaintenanceState.PENDING, 2)
    assert await run_due(core, starts) == []  # the old start never goes out
    await core.maintenance.approve(CHECKER, planned.id)
    again = await run_due(core, starts + timedelta(minutes=1))  # the new announcement, at once
    assert {p.text.splitlines()[2] for p in again} == {
        "Blackboard will be unavailable on Sat 14 Mar, 1:00 AM to 5:00 AM EDT: "
        "upgrading to the new version."
    }
    begun = await run_due(core, later.window.starts_at)
    assert {p.text.splitlines()[0] for p in begun} == {"Maintenance started · 1:00 AM EDT"}


async def test_a_rejected_extension_after_the_end_asks_again(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request(remind_before=None), where="C0PLAN")
    await core.maintenance.approve(CHECKER, planned.id)
    await run_due(core, planned.window.ends_at + timedelta(minutes=1))
    extension = await core.maintenance.extend(PLANNER, planned.id, timedelta(hours=1))
    await core.maintenance.decide_change(CHECKER, extension.id, approved=False)

    def shows(session: Session) -> list[tuple[object, object]]:
        rows = session.exec(select(Job).where(Job.kind == SHOW).order_by(col(Job.id))).all()
        return [(row.payload["reason"], row.payload["where"]) for row in rows]

    assert (await core.store.read(shows))[-1] == (ShowReason.OVERDUE, "C0PLAN")
