"""*Approve & publish* asks only who may publish; every message about a post says what became
of it, after a *Retry* too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.publishing.credentials import NetworkCredentials
from bot.storage.models import AuditEvent
from bot.storage.store import Store
from handlers.sandbox.workspace import RecordedCall, SlackWorkspace
from tests.conftest import APPROVER, COMMS, OUTSIDER
from tests.fakes import slack_requests as req
from tests.fakes.networks.x import FakeX
from tests.scenario.harness import JsonDict, SlackHarness, as_text, find_button, start_harness
from tests.scenario.test_only_approvers_publish import button, now_shown, x_config
from tests.scenario.test_revise_and_resolve import declare, outbox


async def click_only(slack: SlackHarness, message: JsonDict, action_id: str, *, user: str) -> str:
    """Click without confirming anything; returns the click's trigger id."""
    block_id, value = find_button(message, action_id)
    body = req.block_action(
        action_id=action_id,
        value=value,
        block_id=block_id,
        user_id=user,
        channel_id=COMMS,
        message_ts=message["ts"],
        thread_ts=message.get("thread_ts"),
        message=message,
        response_url=slack.workspace.new_response_url(),
    )
    status, _ = await slack.post(body)
    assert status == 200
    return str(req.interaction_payload(body)["trigger_id"])


def approve_button(message: JsonDict) -> JsonDict:
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    return next(e for b in actions for e in b["elements"] if e["action_id"] == "draft_approve")


async def test_only_who_may_publish_is_asked_to_confirm(slack: SlackHarness) -> None:
    draft = await declare(slack)
    # Slack would show a button's own confirm dialog to everyone, before Crier hears of it.
    assert "confirm" not in approve_button(draft)

    await click_only(slack, draft, "draft_approve", user=OUTSIDER)
    await slack.workspace.wait_for("chat.postEphemeral")
    assert "Only approvers" in slack.workspace.calls_to("chat.postEphemeral")[-1].args["text"]
    assert not slack.workspace.calls_to("views.open")  # never asked "Publish now?"
    with slack.crier.core.store.transaction() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "approve_refused"))
        assert [e.actor for e in refused] == [f"slack:{OUTSIDER}"]

    trigger = await click_only(slack, draft, "draft_approve", user=APPROVER)
    (opened,) = await slack.workspace.wait_for("views.open")
    assert opened.args["trigger_id"] == trigger
    asked = opened.args["view"]
    assert asked["title"]["text"] == "Publish now?" and asked["close"]["text"] == "Not yet"
    channels = "X, Facebook, Mastodon, Bluesky, Status page, Status site"
    assert f"goes out to 6 public channels now: {channels}" in as_text(asked["blocks"])
    await slack.settle()
    assert not outbox(slack)  # "Not yet" (closing the form) publishes nothing

    status, answer = await slack.submit(asked, {}, user=APPROVER)
    assert (status, answer) == (200, {})
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    assert len(outbox(slack)) == 5
    assert "Approved by <@U0APPROVER1>" in as_text(now_shown(slack, draft))

    # A second confirmation form, left open meanwhile, is told the draft went out already.
    status, answer = await slack.submit(asked, {}, user=APPROVER)
    assert status == 200 and answer == {}
    await slack.workspace.wait_for("chat.postEphemeral", count=2)
    assert "already approved" in slack.workspace.calls_to("chat.postEphemeral")[-1].args["text"]
    assert len(outbox(slack)) == 5


@pytest.fixture
async def x_slack(
    store: Store, workspace: SlackWorkspace
) -> AsyncIterator[tuple[SlackHarness, FakeX]]:
    """The Slack harness with X posting to a fake X (the other channels to the outbox)."""
    async with FakeX() as x, aiohttp.ClientSession() as http:
        slack, runner = await start_harness(
            store=store,
            config=x_config(x),
            workspace=workspace,
            http=http,
            credentials=NetworkCredentials(x_bearer_token=SecretStr("x-user-token")),
        )
        try:
            yield slack, x
            slack.sent_blocks_are_valid()
        finally:
            await runner.cleanup()


async def test_the_outcome_reply_follows_a_retry(x_slack: tuple[SlackHarness, FakeX]) -> None:
    slack, x = x_slack
    draft = await declare(slack)
    x.fail_next(403, {"detail": "You are not permitted to perform this action."})
    await slack.click(draft, "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    outcome = slack.thread()[-1]
    assert "Needs attention: X (failed)" in outcome["text"]

    events = slack.workspace.subscribe()
    shown_draft = now_shown(slack, draft)
    await slack.click(shown_draft, button(shown_draft, "delivery_retry_"), user=APPROVER)
    async with asyncio.timeout(5):  # the outcome reply is updated, once X took the post
        while not (
            isinstance(event := await events.get(), RecordedCall)
            and event.method == "chat.update"
            and event.args.get("ts") == outcome["ts"]
        ):
            pass
    await slack.settle()
    assert len(x.tweets) == 1
    shown = now_shown(slack, outcome)
    assert shown["text"].startswith("Post 1 is out on X, Facebook") and "Needs attention" not in (
        as_text(shown)
    )
    assert "❌" not in as_text(now_shown(slack, draft))
    assert len(slack.thread()) == 2  # the same outcome reply, updated: no new one
