"""The emergency route (issue 17): at 2 AM in a sev1 nobody approves, and the public hears
nothing. Someone named in ``approvals.emergency`` may then publish the first post alone, after
``after_minutes`` without an answer; the thread says so loudly, the approvers are called, the
audit log marks it. Off unless crier.yml names someone; never for an update or a lesser outage.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import Severity
from bot.core import Core, build_core
from bot.errors import NotAllowed
from bot.incidents.requests import DeclareRequest, UpdateRequest
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import AuditEvent, IncidentStatus, PostState
from bot.storage.store import Store
from bot.views import IncidentView, PostView, Reminder
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, OUTSIDER, make_config

on_call = Actor("slack", ANALYST, name="night.owl")
approver = Actor("slack", APPROVER)
stranger = Actor("slack", OUTSIDER)


class Thread:
    """Plays a chat: keeps the reminders posted in incidents' threads."""

    platform = "test"

    def __init__(self) -> None:
        self.reminders: list[Reminder] = []

    async def show_post(self, incident: IncidentView, post: PostView) -> None:
        return None

    async def show_incident(self, incident: IncidentView) -> None:
        return None

    async def remind(self, incident: IncidentView, reminder: Reminder) -> None:
        self.reminders.append(reminder)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # Thursday 15 January 2026, 2:45 PM EST


@pytest.fixture
def thread() -> Thread:
    return Thread()


def core_with(store: Store, clock: FakeClock, thread: Thread, **emergency: object) -> Core:
    approvals = {"slack_users": [APPROVER], "emergency": emergency}
    return build_core(
        settings=Settings(),
        config=make_config(approvals=approvals),
        store=store,
        clock=clock,
        presenters={"test": thread},
    )


@pytest.fixture
def core(store: Store, clock: FakeClock, thread: Thread) -> Core:
    return core_with(store, clock, thread, slack_users=[ANALYST], after_minutes=15)


async def sev1_draft(core: Core, severity: Severity = Severity.SEV1) -> int:
    draft = await core.declare(
        on_call, DeclareRequest(service="Wi-Fi", summary="no network", severity=severity)
    )
    return draft.post.id


async def test_the_named_person_publishes_alone_once_nobody_answered(
    core: Core, clock: FakeClock, thread: Thread
) -> None:
    post_id = await sev1_draft(core)
    clock.advance(minutes=14)
    with pytest.raises(NotAllowed) as refused:
        await core.approve(on_call, post_id)
    assert "yours to publish alone" in refused.value.message
    assert "if no approver has answered by 3:00 PM" in refused.value.message

    clock.advance(minutes=1)
    view = await core.approve(on_call, post_id)
    assert view.state == PostState.APPROVED and view.deliveries
    await core.scheduler.run_once()  # the thread is told at once
    [told] = thread.reminders
    assert told.kind == "emergency" and told.text.startswith("⚠️ Published WITHOUT an approver")
    assert told.mention_approvers and told.mention_comms_lead
    assert told.mention_users == (on_call.key,)
    with core.store.transaction() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "approve")).one()
    assert event.actor == on_call.key and event.detail["emergency"] is True


async def test_an_approver_is_never_sent_down_the_emergency_route(
    core: Core, clock: FakeClock, thread: Thread
) -> None:
    post_id = await sev1_draft(core)
    clock.advance(minutes=30)
    await core.approve(approver, post_id)
    await core.scheduler.run_once()
    assert thread.reminders == []
    with core.store.transaction() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "approve")).one()
    assert event.detail["emergency"] is False


async def test_not_for_a_lesser_outage_an_update_or_someone_not_named(
    core: Core, clock: FakeClock
) -> None:
    sev2 = await sev1_draft(core, Severity.SEV2)
    first = await sev1_draft(core)
    clock.advance(hours=2)
    for actor, post_id in ((on_call, sev2), (stranger, first)):
        with pytest.raises(NotAllowed) as refused:
            await core.approve(actor, post_id)
        assert "publish alone" not in refused.value.message
    await core.approve(approver, first)
    incident_id = (await core.post(first)).incident_id
    update = await core.draft_update(
        on_call,
        incident_id,
        UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="Rebooting."),
    )
    clock.advance(hours=2)
    with pytest.raises(NotAllowed):
        await core.approve(on_call, update.post.id)


async def test_off_unless_someone_is_named(store: Store, clock: FakeClock, thread: Thread) -> None:
    core = core_with(store, clock, thread)
    post_id = await sev1_draft(core)
    clock.advance(hours=3)
    with pytest.raises(NotAllowed) as refused:
        await core.approve(on_call, post_id)
    assert "publish alone" not in refused.value.message
