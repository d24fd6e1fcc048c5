"""The approval rules, through the core's async face (no chat platform involved)."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from bot.config import Network, Severity
from bot.core import Core, build_core
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.incidents.requests import DeclareRequest, EditRequest, ResolveRequest, UpdateRequest
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import (
    AuditEvent,
    Delivery,
    DeliveryState,
    IncidentStatus,
    Job,
    OutboxPost,
    PostState,
)
from bot.storage.store import Store
from bot.views import IncidentView
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, OUTSIDER, make_config

analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)
approver_2 = Actor("slack", APPROVER_2)
outsider = Actor("slack", OUTSIDER)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core(store: Store, clock: FakeClock) -> Core:
    return build_core(settings=Settings(), config=make_config(), store=store, clock=clock)


async def declare(core: Core) -> int:
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    return draft.post.id


def audit_actions(core: Core) -> list[tuple[str, str]]:
    with core.store.transaction() as session:
        return [(e.actor, e.action) for e in session.exec(select(AuditEvent)).all()]


async def test_declare_drafts_one_text_per_default_channel(core: Core) -> None:
    draft = await core.declare(
        analyst, DeclareRequest(service="Blackboard", summary="cannot log in")
    )
    assert draft.incident.service == "Blackboard"
    assert draft.incident.severity == "sev1"
    assert [p.network for p in draft.post.previews] == [
        Network.X,
        Network.FACEBOOK,
        Network.MASTODON,
        Network.BLUESKY,
        Network.STATUSPAGE,
        Network.SITE,  # every incident's, on by default
    ]
    # The time of publishing is a placeholder until then, marked as such in every chat; the
    # status pages show the time themselves.
    status_pages = {Network.STATUSPAGE, Network.SITE}
    assert all("{time}" in p.text for p in draft.post.previews if p.network not in status_pages)
    assert draft.post.publishable
    assert audit_actions(core) == [(analyst.key, "declare"), (analyst.key, "draft")]


async def test_unknown_service_suggests_the_nearest(core: Core) -> None:
    with pytest.raises(InvalidInput, match="Did you mean \\*Blackboard\\*"):
        await core.declare(analyst, DeclareRequest(service="Blakboard", summary="down"))


async def test_only_approvers_approve_and_refusals_are_audited(core: Core) -> None:
    post_id = await declare(core)
    with pytest.raises(NotAllowed):
        await core.approve(outsider, post_id)
    with pytest.raises(NotAllowed, match="another approver"):
        await core.approve(Actor("slack", APPROVER), await _declared_by(core, approver))
    assert (outsider.key, "approve_refused") in audit_actions(core)
    assert (await core.post(post_id)).state == PostState.PENDING


async def _declared_by(core: Core, actor: Actor) -> int:
    draft = await core.declare(actor, DeclareRequest(service="VPN", summary="slow"))
    return draft.post.id


async def test_two_simultaneous_approvals_publish_once(core: Core) -> None:
    post_id = await declare(core)
    results = await asyncio.gather(
        core.approve(approver, post_id), core.approve(approver_2, post_id), return_exceptions=True
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1
    await core.publishing.run_once()
    with core.store.transaction() as session:
        deliveries = session.exec(select(Delivery)).all()
        outbox = session.exec(select(OutboxPost)).all()
    # Blackboard's five channels and the site, each once; the site keeps no outbox entry: its
    # sent delivery is its record.
    assert len(deliveries) == 6 and {d.state for d in deliveries} == {DeliveryState.SENT}
    assert len(outbox) == 5


async def test_published_time_is_publish_time(core: Core, clock: FakeClock) -> None:
    post_id = await declare(core)
    clock.advance(minutes=7)
    await core.approve(approver, post_id)
    await core.publishing.run_once()
    with core.store.transaction() as session:
        texts = {o.network: o.text for o in session.exec(select(OutboxPost)).all()}
    assert "2:52 PM EST" in texts["x"] and "2:45 PM" not in texts["x"]


async def test_edit_makes_a_revision_and_the_old_buttons_are_refused(core: Core) -> None:
    post_id = await declare(core)
    draft = await core.edit(
        analyst, post_id, EditRequest(texts={Network.X: "Blackboard is down. 2:45 PM EST"})
    )
    assert draft.post.revision == 2 and draft.post.state == PostState.PENDING
    assert (await core.post(post_id)).state == PostState.SUPERSEDED
    with pytest.raises(Conflict, match="revision 2 replaced it"):
        await core.approve(approver, post_id)
    x = next(p for p in draft.post.previews if p.network == Network.X)
    assert x.edited and x.text.startswith("Blackboard is down")


async def test_an_edit_over_the_limit_is_refused_on_the_field(core: Core) -> None:
    post_id = await declare(core)
    with pytest.raises(InvalidInput) as caught:
        await core.edit(analyst, post_id, EditRequest(texts={Network.X: "é" * 300}))
    assert "x" in caught.value.fields


async def test_reject_needs_a_reason_and_records_it(core: Core) -> None:
    post_id = await declare(core)
    with pytest.raises(InvalidInput):
        await core.reject(approver, post_id, "   ")
    view = await core.reject(approver, post_id, "Wrong service")
    assert view.state == PostState.REJECTED and view.reject_reason == "Wrong service"


async def test_one_waiting_draft_per_incident(core: Core) -> None:
    post_id = await declare(core)
    incident_id = (await core.post(post_id)).incident_id
    with pytest.raises(Conflict, match="already has a draft"):
        await core.draft_update(
            analyst,
            incident_id,
            UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="fixing"),
        )


async def test_a_text_over_its_limit_is_flagged_and_cannot_be_published(
    store: Store, clock: FakeClock
) -> None:
    channels = {
        "x": {"enabled": True},
        "mastodon": {"enabled": True, "max_characters": 60},
        "facebook": {"enabled": True},
        "bluesky": {"enabled": True},
        "statuspage": {"enabled": True},
    }
    core = build_core(
        settings=Settings(), config=make_config(channels=channels), store=store, clock=clock
    )
    post_id = await declare(core)
    post = await core.post(post_id)
    mastodon = next(p for p in post.previews if p.network == Network.MASTODON)
    assert not mastodon.check.ok and "60" in (mastodon.check.problem or "")
    assert not post.publishable
    with pytest.raises(Conflict, match="Edit it first"):
        await core.approve(approver, post_id)
    edited = await core.edit(
        analyst,
        post_id,
        EditRequest(texts={Network.MASTODON: "Blackboard: sign-in fails. Update soon. #ITStatus"}),
    )
    assert edited.post.publishable
    await core.approve(approver, edited.post.id)
    assert await core.publishing.run_once() == 6  # and the status site


async def published_texts(core: Core) -> dict[str, str]:
    await core.publishing.run_once()
    with core.store.transaction() as session:
        return {o.network: o.text for o in session.exec(select(OutboxPost)).all()}


async def test_a_time_a_person_wrote_goes_out_exactly_as_written(
    core: Core, clock: FakeClock
) -> None:
    post_id = await declare(core)
    mastodon = next(p for p in (await core.post(post_id)).previews if p.network is Network.MASTODON)
    written = mastodon.text.replace("{next_update}", "3:05 PM")
    assert written != mastodon.text
    edited = await core.edit(analyst, post_id, EditRequest(texts={Network.MASTODON: written}))
    clock.advance(minutes=7)
    await core.approve(approver, edited.post.id)
    texts = await published_texts(core)
    assert "Next update by 3:05 PM." in texts["mastodon"]
    assert texts["mastodon"].startswith("Investigating · 2:52 PM EST")  # {time} was kept
    assert "Next update by 3:22 PM." in texts["x"]  # untouched texts keep their placeholder


async def test_an_edit_with_a_misspelt_or_unfillable_placeholder_is_refused(core: Core) -> None:
    post_id = await declare(core)
    with pytest.raises(InvalidInput, match="not something Crier fills in") as caught:
        await core.edit(analyst, post_id, EditRequest(texts={Network.X: "Down since {tme}"}))
    assert set(caught.value.fields) == {"x"}
    incident_id = (await core.post(post_id)).incident_id
    await core.approve(approver, post_id)
    await core.publishing.run_once()
    draft = await core.draft_resolution(analyst, incident_id, ResolveRequest())
    assert not isinstance(draft, IncidentView)
    with pytest.raises(InvalidInput, match="promises no next update"):
        await core.edit(
            analyst, draft.post.id, EditRequest(texts={Network.X: "Fixed. Next by {next_update}"})
        )


async def test_a_typed_handle_is_shown_as_who_it_will_notify(core: Core) -> None:
    draft = await core.declare(
        analyst, DeclareRequest(service="bb", summary="ask @jsmith about sign-in")
    )
    notes = {p.network: p.notes for p in draft.post.previews}
    assert "will notify @jsmith on X" in notes[Network.X]
    assert "will notify @jsmith on Mastodon" in notes[Network.MASTODON]
    assert not any("@jsmith" in note for note in notes[Network.FACEBOOK])
    assert draft.post.publishable


async def test_live_mentions_switched_off_for_a_network_stop_the_approval(
    store: Store, clock: FakeClock
) -> None:
    channels = {
        "x": {"enabled": True, "mentions": "block"},
        "mastodon": {"enabled": True},
        "facebook": {"enabled": True},
        "bluesky": {"enabled": True},
        "statuspage": {"enabled": True},
    }
    core = build_core(
        settings=Settings(), config=make_config(channels=channels), store=store, clock=clock
    )
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="ask @jsmith"))
    assert not draft.post.publishable
    assert any("@jsmith would notify" in problem for problem in draft.post.problems)
    with pytest.raises(Conflict, match="Edit it first"):
        await core.approve(approver, draft.post.id)


async def test_posts_are_numbered_by_what_went_out_not_by_drafts(core: Core) -> None:
    """A rejected draft takes no number: the next draft is a new revision of it, so "Post 2 is
    out" is the second post the public saw (issue 17)."""
    first = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.approve(approver, first.post.id)
    update = UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="Restarting.")
    rejected = await core.draft_update(analyst, first.incident.id, update)
    await core.reject(approver, rejected.post.id, "not yet")
    again = await core.draft_update(analyst, first.incident.id, update)
    assert (rejected.post.number, rejected.post.revision) == (2, 1)
    assert (again.post.number, again.post.revision) == (2, 2)
    approved = await core.approve(approver, again.post.id)
    assert approved.number == 2


async def test_a_service_not_in_the_catalog_is_declared_and_says_it_has_no_help_link(
    core: Core,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await core.declare(analyst, DeclareRequest(service="Zoom", summary="calls drop"))
    assert "pick *Other*" in refused.value.message
    draft = await core.declare(
        analyst, DeclareRequest(service="Zoom", summary="calls drop", unlisted=True)
    )
    assert draft.incident.service == "Zoom" and draft.incident.severity == "sev2"
    assert all(
        "Zoom is not in Crier's catalog: the post links to the help page" in p.notes
        for p in draft.post.previews
    )
    assert draft.post.publishable
    listed = await core.declare(
        analyst, DeclareRequest(service="blackboard", summary="down", unlisted=True)
    )
    assert listed.incident.service == "Blackboard"  # the catalog's, when it has one


async def test_an_update_changes_severity_and_channels_once_approved(core: Core) -> None:
    first = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.approve(approver, first.post.id)
    update = await core.draft_update(
        analyst,
        first.incident.id,
        UpdateRequest(
            status=IncidentStatus.IDENTIFIED,
            what_we_are_doing="Restarting.",
            severity=Severity.SEV3,
            channels=(Network.X, Network.MASTODON),
        ),
    )
    assert [p.network for p in update.post.previews] == [Network.X, Network.MASTODON]
    assert (await core.incident(first.incident.id)).severity == "sev1"  # not before approval
    await core.approve(approver, update.post.id)
    incident = await core.incident(first.incident.id)
    assert incident.severity == "sev3"
    assert [c.value for c in incident.channels] == ["x", "mastodon"]
    with pytest.raises(InvalidInput):
        await core.draft_update(
            analyst,
            first.incident.id,
            UpdateRequest(status=IncidentStatus.IDENTIFIED, channels=(Network.LINKEDIN,)),
        )


async def test_a_false_alarm_is_corrected_in_public_or_closed_if_nothing_went_out(
    core: Core,
) -> None:
    quiet = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.reject(approver, quiet.post.id, "a test")
    closed = await core.draft_resolution(
        analyst, quiet.incident.id, ResolveRequest(false_alarm=True)
    )
    assert isinstance(closed, IncidentView) and not closed.is_open

    public = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.approve(approver, public.post.id)
    correction = await core.draft_resolution(
        analyst, public.incident.id, ResolveRequest(false_alarm=True)
    )
    assert not isinstance(correction, IncidentView)
    texts = [p.text for p in correction.post.previews]
    assert any("This was a false alarm: Blackboard was working normally" in t for t in texts)


async def test_a_rejected_draft_is_revised_as_a_new_revision_of_its_number(
    core: Core, clock: FakeClock
) -> None:
    """*Revise* brings a rejected draft back with its texts, as its reviser's draft (issue 17)."""
    first = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    rejected = await core.reject(approver, first.post.id, "Say which campus")
    assert rejected.revisable
    clock.advance(minutes=3)
    edited_x = "Blackboard sign-in is down at the north campus. {time}"
    draft = await core.revise(approver, first.post.id, EditRequest(texts={Network.X: edited_x}))

    assert (draft.post.number, draft.post.revision) == (1, 2)
    assert draft.post.state == PostState.PENDING and draft.post.requested_by == approver.key
    before = {p.network: p for p in first.post.previews}
    for preview in draft.post.previews:
        if preview.network == Network.X:
            assert preview.text == edited_x and preview.edited
        else:
            kept = before[preview.network]
            assert (preview.text, preview.edited, preview.notes) == (kept.text, False, kept.notes)
    old = await core.post(first.post.id)
    assert old.state == PostState.REJECTED and not old.revisable
    assert (approver.key, "revise") in audit_actions(core)
    with core.store.transaction() as session:
        reminder = session.exec(select(Job).where(Job.key == f"approval:{draft.post.id}")).one()
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "revise")).all()
    assert reminder.done_at is None and reminder.due_at > clock.now()
    assert events[0].detail["revises"] == first.post.id

    # The reviser drafted it now: another approver publishes it.
    with pytest.raises(NotAllowed, match="another approver"):
        await core.approve(approver, draft.post.id)
    approved = await core.approve(approver_2, draft.post.id)
    assert (approved.number, approved.revision) == (1, 2)


async def test_revise_refuses_what_it_cannot_bring_back(core: Core) -> None:
    first = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    incident_id = first.incident.id
    with pytest.raises(Conflict, match="only a rejected draft can be revised"):
        await core.revisable(first.post.id)
    with pytest.raises(Conflict, match="only a rejected draft can be revised"):
        await core.revise(analyst, first.post.id)

    await core.reject(approver, first.post.id, "not yet")
    update = UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="Restarting.")
    redrafted = await core.draft_update(analyst, incident_id, update)  # revision 2, waiting
    with pytest.raises(Conflict, match="Revision 2 of this draft already waits for approval"):
        await core.revise(analyst, first.post.id)

    await core.reject(approver, redrafted.post.id, "still not")
    with pytest.raises(Conflict, match="revision 2 came after it"):
        await core.revise(analyst, first.post.id)
    with pytest.raises(InvalidInput) as too_long:
        await core.revise(analyst, redrafted.post.id, EditRequest(texts={Network.X: "é" * 300}))
    assert "x" in too_long.value.fields
    assert "revise" not in [action for _, action in audit_actions(core)]

    # Two people revising at once: one revision.
    results = await asyncio.gather(
        core.revise(analyst, redrafted.post.id),
        core.revise(approver, redrafted.post.id),
        return_exceptions=True,
    )
    (revised,) = [r for r in results if not isinstance(r, BaseException)]
    assert [type(r) for r in results if isinstance(r, BaseException)] == [Conflict]
    assert not isinstance(revised, BaseException) and revised.post.revision == 3

    await core.reject(approver, revised.post.id, "no, close it")
    assert (await core.post(revised.post.id)).revisable
    closed = await core.draft_resolution(analyst, incident_id, ResolveRequest(false_alarm=True))
    assert isinstance(closed, IncidentView) and not closed.is_open
    assert not (await core.post(revised.post.id)).revisable
    with pytest.raises(Conflict, match="already resolved"):
        await core.revise(analyst, revised.post.id)


async def test_a_new_draft_shows_its_rejected_predecessor_again(core: Core) -> None:
    """After a rejection, *Post update* makes the next revision of that number: the rejected
    message is refreshed, and its *Revise* no longer offered."""
    first = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.reject(approver, first.post.id, "wrong service")
    await core.settle()  # the rejection shown: its refresh row is done
    assert (await core.post(first.post.id)).revisable
    update = UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="Restarting.")
    again = await core.draft_update(analyst, first.incident.id, update)
    assert again.earlier == (first.post.id,)
    assert not (await core.post(first.post.id)).revisable
    with core.store.transaction() as session:
        refresh = session.exec(select(Job).where(Job.key == f"show_post:{first.post.id}")).one()
    assert refresh.done_at is None  # queued again, in the new draft's own transaction
