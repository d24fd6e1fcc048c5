"""The content calendar: a proposed post needs an approver who is not its author; then it goes
out on time, and holds while an incident is open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.config import Network
from bot.core import Core, build_core
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.incidents.requests import DeclareRequest, ResolveRequest
from bot.ports import Actor
from bot.scheduling.calendar import CalendarEntry, sync_from_config
from bot.settings import Settings
from bot.storage.models import AuditEvent, OutboxPost, ScheduledPost
from bot.storage.store import Store
from bot.views import IncidentView
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, OUTSIDER, make_config
from tests.unit.test_reminders import RecordingPresenter, tick

analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)
approver_2 = Actor("slack", APPROVER_2)
outsider = Actor("slack", OUTSIDER)
TIP = "Tip: you can reset your password yourself at https://it.example.edu/password"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def chat() -> RecordingPresenter:
    return RecordingPresenter()


@pytest.fixture
def core(store: Store, clock: FakeClock, chat: RecordingPresenter) -> Core:
    return build_core(
        settings=Settings(),
        config=make_config(),
        store=store,
        clock=clock,
        presenters={"test": chat},
    )


def outbox(core: Core) -> list[OutboxPost]:
    with core.store.transaction() as session:
        return list(session.exec(select(OutboxPost)).all())


async def publish(core: Core) -> None:
    while await core.publishing.run_once():
        pass


async def scheduled(core: Core, clock: FakeClock, **when: float) -> CalendarEntry:
    """A tip the analyst proposes and an approver approves."""
    proposed = await core.content_calendar.add(
        analyst, text=TIP, channels=(Network.X,), due_at=clock.now() + timedelta(**when)
    )
    return await core.content_calendar.approve(approver, proposed.id)


def refusals(core: Core) -> list[tuple[str, str, str]]:
    with core.store.transaction() as session:
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [
        (e.actor, e.action, e.detail.get("reason", "")) for e in events if "refused" in e.action
    ]


async def test_a_scheduled_post_goes_out_at_its_time(
    core: Core, clock: FakeClock, chat: RecordingPresenter
) -> None:
    proposed = await core.content_calendar.add(
        analyst,
        text=TIP,
        channels=(Network.X, Network.MASTODON),
        due_at=clock.now() + timedelta(hours=1),
    )
    assert proposed.state == "pending"
    await tick(core, clock, seconds=1)
    assert [e.id for e in chat.calendar] == [proposed.id]  # shown to the approvers
    approved = await core.content_calendar.approve(approver, proposed.id)
    assert approved.state == "scheduled" and approved.decided_by == f"slack:{APPROVER}"
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
    tip = await scheduled(core, clock, minutes=30)
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
    with pytest.raises(NotAllowed, match="Only approvers"):
        await core.content_calendar.resume(analyst, tip.id, publish=True)
    await publish(core)
    assert TIP not in [p.text for p in outbox(core)]
    assert refusals(core) == [(f"slack:{ANALYST}", "calendar_resume_refused", "not an approver")]
    await core.content_calendar.resume(approver, tip.id, publish=True)
    await publish(core)
    assert TIP in [p.text for p in outbox(core)]
    with pytest.raises(Conflict, match="already published"):
        await core.content_calendar.resume(approver, tip.id, publish=False)


async def test_skipping_a_held_post_publishes_nothing(core: Core, clock: FakeClock) -> None:
    tip = await scheduled(core, clock, minutes=5)
    draft = await core.declare(analyst, DeclareRequest(service="VPN", summary="slow"))
    await tick(core, clock, minutes=5)
    await core.reject(approver, draft.post.id, "Not yet")
    closed = await core.draft_resolution(analyst, draft.incident.id, ResolveRequest())
    assert isinstance(closed, IncidentView)
    await tick(core, clock, seconds=1)
    with pytest.raises(NotAllowed):
        await core.content_calendar.resume(outsider, tip.id, publish=False)
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


async def test_a_proposed_post_never_goes_out_unapproved(core: Core, clock: FakeClock) -> None:
    proposed = await core.content_calendar.add(
        analyst, text=TIP, channels=(Network.X,), due_at=clock.now() + timedelta(minutes=10)
    )
    await tick(core, clock, minutes=30)
    await publish(core)
    assert outbox(core) == []
    with pytest.raises(Conflict, match="before anyone approved it"):
        await core.content_calendar.approve(approver, proposed.id)
    await tick(core, clock, minutes=1)
    await publish(core)
    assert outbox(core) == []


async def test_only_an_approver_who_did_not_propose_it_approves_it(
    core: Core, clock: FakeClock
) -> None:
    mine = await core.content_calendar.add(
        approver, text=TIP, channels=(Network.X,), due_at=clock.now() + timedelta(hours=1)
    )
    with pytest.raises(NotAllowed, match="Only approvers"):
        await core.content_calendar.approve(outsider, mine.id)
    with pytest.raises(NotAllowed, match="another approver"):
        await core.content_calendar.approve(approver, mine.id)
    with pytest.raises(NotAllowed):
        await core.content_calendar.approve(Actor("cli", "root"), mine.id)  # the CLI proposes only
    with pytest.raises(NotAllowed, match="Only approvers"):
        await core.content_calendar.reject(outsider, mine.id)
    assert refusals(core) == [
        (f"slack:{OUTSIDER}", "calendar_approve_refused", "not an approver"),
        (f"slack:{APPROVER}", "calendar_approve_refused", "own draft"),
        ("cli:root", "calendar_approve_refused", "not an approver"),
        (f"slack:{OUTSIDER}", "calendar_reject_refused", "not an approver"),
    ]
    approved = await core.content_calendar.approve(approver_2, mine.id)
    assert approved.state == "scheduled"
    with pytest.raises(Conflict, match="already approved"):
        await core.content_calendar.reject(approver, mine.id)


async def test_self_approval_when_crier_yml_allows_it(store: Store, clock: FakeClock) -> None:
    config = make_config(
        approvals={"slack_users": [APPROVER], "allow_self_approval": True},
    )
    core = build_core(settings=Settings(), config=config, store=store, clock=clock)
    mine = await core.content_calendar.add(
        approver, text=TIP, channels=(Network.X,), due_at=clock.now() + timedelta(hours=1)
    )
    assert (await core.content_calendar.approve(approver, mine.id)).state == "scheduled"


async def test_a_rejected_post_never_goes_out(core: Core, clock: FakeClock) -> None:
    proposed = await core.content_calendar.add(
        analyst, text=TIP, channels=(Network.X,), due_at=clock.now() + timedelta(minutes=10)
    )
    rejected = await core.content_calendar.reject(approver, proposed.id)
    assert rejected.state == "rejected"
    with pytest.raises(Conflict, match="already rejected"):
        await core.content_calendar.approve(approver_2, proposed.id)
    await tick(core, clock, minutes=30)
    await publish(core)
    assert outbox(core) == []


async def test_crier_yml_entries_count_as_approved(core: Core, clock: FakeClock) -> None:
    config = make_config(
        calendar=[{"text": TIP, "at": "2026-01-15T16:00", "channels": ["x"]}]  # 1:15 from now
    )
    with core.store.transaction() as session:
        assert sync_from_config(session, config=config, now=clock.now()) == 1
        [post] = session.exec(select(ScheduledPost)).all()
    assert post.state == "scheduled" and post.decided_by == "config:crier.yml"
    await tick(core, clock, minutes=80)
    await publish(core)
    assert [p.text for p in outbox(core)] == [TIP]


def test_the_upgrade_sends_unapproved_posts_back_for_approval(store: Store) -> None:
    """Posts scheduled before calendar approval existed were never approved: pending again,
    and shown to the approvers; crier.yml's stay scheduled (bot/storage/migrations 0004)."""
    from sqlalchemy import JSON, DateTime, Integer, String, column, insert, table

    from bot.storage.models import Job
    from bot.storage.schema import downgrade, upgrade

    downgrade(store, "0003")
    old = table(
        "scheduledpost",
        column("id", Integer()),
        column("text", String()),
        column("channels", JSON()),
        column("due_at", DateTime(timezone=True)),
        column("state", String()),
        column("created_by", String()),
    )
    due = FakeClock().now() + timedelta(days=1)
    with store.engine.begin() as connection:
        for key in ("slack:U0ANALYST1", "config:crier.yml", "cli:jo"):
            connection.execute(
                insert(old).values(
                    text=TIP, channels=["x"], due_at=due, state="scheduled", created_by=key
                )
            )
    upgrade(store)
    with store.transaction() as session:
        posts = session.exec(select(ScheduledPost).order_by(col(ScheduledPost.id))).all()
        reviews = session.exec(select(Job).where(Job.kind == "calendar_review")).all()
    assert [(p.created_by, p.state, p.decided_by) for p in posts] == [
        ("slack:U0ANALYST1", "pending", None),
        ("config:crier.yml", "scheduled", "config:crier.yml"),
        ("cli:jo", "pending", None),
    ]
    assert sorted(j.payload["scheduled_post_id"] for j in reviews) == [posts[0].id, posts[2].id]
