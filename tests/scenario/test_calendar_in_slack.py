"""Story: `/outage calendar` proposes a tip; an approver schedules it; an outage holds it; the
all-clear offers it."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.storage.models import OutboxPost
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER
from tests.fakes.slack_requests import text_input
from tests.scenario.conftest import tick
from tests.scenario.harness import SlackHarness, as_text, ephemeral_texts


async def test_schedule_hold_and_resume_from_slack(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    await slack.command("calendar add", user=ANALYST)
    view = await slack.open_modal()
    assert view["callback_id"] == "calendar_add_form"
    due = (clock.now() + timedelta(minutes=30)).astimezone(
        slack.crier.core.config.organisation.zone
    )
    values = {
        "calendar_text": text_input("Tip: MFA codes refresh every 30 seconds."),
        "calendar_date": {"type": "datepicker", "selected_date": due.date().isoformat()},
        "calendar_time": {"type": "timepicker", "selected_time": due.strftime("%H:%M")},
        "channels": {"type": "checkboxes", "selected_options": [{"value": "x"}]},
    }
    past = dict(
        values,
        calendar_time={"type": "timepicker", "selected_time": "00:00"},
        calendar_date={"type": "datepicker", "selected_date": "2020-01-01"},
    )
    status, answer = await slack.submit(view, past, user=ANALYST)
    assert answer["response_action"] == "errors" and "calendar_time" in answer["errors"]
    status, answer = await slack.submit(view, values, user=ANALYST)
    assert status == 200 and answer == {}
    # Proposed, not scheduled: the approvers see it in the comms channel.
    await slack.workspace.wait_for("chat.postMessage", count=1)
    [proposed] = slack.calendar_posts()
    assert "Tip: MFA codes refresh" in as_text(proposed) and "calendar_approve" in as_text(proposed)
    assert "<@U0APPROVER1>" in as_text(proposed)  # the approvers are named
    await slack.click(proposed, "calendar_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.update")
    await slack.settle()
    [approved] = slack.calendar_posts()
    assert "Approved by <@U0APPROVER1>" in as_text(approved)
    assert "calendar_approve" not in as_text(approved)

    await slack.command("Email: outlook is down", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.click(slack.thread()[0], "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=4)
    await slack.settle()
    await tick(slack, clock, minutes=30)
    # The hold's note, beside the overdue-update reminder that fell due at the same time.
    assert any("Held a scheduled post" in as_text(m) for m in slack.thread()[-2:])

    await slack.click(slack.root(), "incident_resolve", user=ANALYST)
    # The third modal: after the calendar form and the approval's confirmation. (Waiting for two
    # could return the confirmation when the resolve form is not open yet.)
    resolve_view = await slack.open_modal(count=3)
    assert resolve_view["callback_id"] == "incident_resolve_form"
    await slack.submit(resolve_view, {}, user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=7)
    await slack.settle()
    all_clear = next(m for m in reversed(slack.thread()) if "draft_approve" in as_text(m))
    posted = len(slack.workspace.calls_to("chat.postMessage"))
    await slack.click(all_clear, "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=posted + 1)  # the all-clear is out
    await slack.settle()
    await tick(slack, clock, seconds=1)
    # The offer and the all-clear's "is out" reply may come in either order.
    offer = next(m for m in reversed(slack.thread()) if "were held" in as_text(m))
    post_now = next(
        e["action_id"]
        for b in offer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"].startswith("Post")
    )
    await slack.click(offer, post_now, user=APPROVER)
    await slack.workspace.wait_for("chat.postEphemeral")
    await slack.settle()
    assert any("being published" in t for t in ephemeral_texts(slack.workspace, APPROVER))
    with slack.crier.core.store.transaction() as session:
        texts = [p.text for p in session.exec(select(OutboxPost)).all()]
    assert "Tip: MFA codes refresh every 30 seconds." in texts
