"""Stories of things going wrong in the thread: a draft rejected before anything was public."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import AuditEvent, Post
from tests.conftest import ANALYST, APPROVER
from tests.fakes.slack_requests import text_input
from tests.scenario.harness import SlackHarness, as_text, ephemeral_texts


async def reject_first_draft(slack: SlackHarness) -> None:
    await slack.command("Library Systems: catalogue search is slow", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.click(slack.thread()[0], "draft_reject", user=APPROVER)
    view = await slack.open_modal()
    status, answer = await slack.submit(
        view, {"reason": text_input("Not public yet")}, user=APPROVER
    )
    assert status == 200 and answer == {}
    await slack.workspace.wait_for("chat.postMessage", count=3)  # the requester is told
    await slack.settle()


async def test_resolving_an_incident_nothing_was_published_for_closes_it(
    slack: SlackHarness,
) -> None:
    await reject_first_draft(slack)
    await slack.click(slack.root(), "incident_resolve", user=ANALYST)
    view = await slack.open_modal(count=2)
    status, answer = await slack.submit(view, {}, user=ANALYST)
    assert status == 200 and answer == {}
    await slack.workspace.wait_for("chat.postEphemeral")
    await slack.settle()
    assert any("no all-clear to post" in t for t in ephemeral_texts(slack.workspace, ANALYST))
    root = as_text(slack.root())
    assert "Resolved" in root and "incident_resolve" not in root
    with slack.crier.core.store.transaction() as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert "close_unpublished" in actions


async def test_the_first_approved_post_after_a_rejection_is_a_first_post(
    slack: SlackHarness,
) -> None:
    await reject_first_draft(slack)
    await slack.click(slack.root(), "incident_post_update", user=ANALYST)
    view = await slack.open_modal(count=2)
    await slack.submit(
        view, {"what_we_are_doing": text_input("We are looking into it.")}, user=ANALYST
    )
    await slack.workspace.wait_for("chat.postMessage", count=4)
    await slack.settle()
    assert "First public post" in as_text(slack.thread()[-1])
    with slack.crier.core.store.transaction() as session:
        kinds = [p.kind for p in session.exec(select(Post).order_by(Post.id)).all()]
    assert kinds == ["initial", "initial"]
