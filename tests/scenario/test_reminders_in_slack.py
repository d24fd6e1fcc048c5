"""Story: the promised update is due; the reminder in the thread names the owner; snooze works."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import Job
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER
from tests.scenario.conftest import tick
from tests.scenario.harness import SlackHarness, as_text, ephemeral_texts


async def test_the_owner_is_reminded_in_the_thread_and_can_snooze(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    await slack.command("Blackboard: cannot log in", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.click(slack.thread()[0], "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    before = len(slack.thread())
    await tick(slack, clock, minutes=24)
    assert len(slack.thread()) == before
    await tick(slack, clock, minutes=1)
    reminder = slack.thread()[-1]
    text = as_text(reminder)
    assert "<@U0ANALYST1>" in text and "3:15 PM" in text
    assert "incident_post_update" in text and "Snooze 15 min" in text

    snooze_id = next(
        e["action_id"]
        for b in reminder["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Snooze 30 min"
    )
    status, _ = await slack.click(reminder, snooze_id, user=ANALYST)
    assert status == 200
    await slack.workspace.wait_for("chat.postEphemeral")
    assert any("30 minutes" in t for t in ephemeral_texts(slack.workspace, ANALYST))
    with slack.crier.core.store.transaction() as session:
        job = session.exec(select(Job).where(Job.kind == "remind_next_update")).one()
    assert int((job.due_at - clock.now()).total_seconds()) == 30 * 60
