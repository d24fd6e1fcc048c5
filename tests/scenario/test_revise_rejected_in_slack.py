"""A rejected draft is not a dead end: *Revise* brings it back as a new revision (issue 17).

Driven with signed requests, as Slack would send them; what people see is read from the
simulated workspace.
"""

from __future__ import annotations

from tests.conftest import ANALYST, APPROVER, APPROVER_2
from tests.fakes.slack_requests import text_input
from tests.placeholders import shown_in
from tests.scenario.harness import SlackHarness, as_text, ephemeral_texts
from tests.scenario.test_revise_and_resolve import (
    CHANNELS,
    NETWORKS,
    audit_actions,
    button_ids,
    current,
    declare,
    has_buttons,
    initial_texts,
    open_from,
    outbox,
    preview_texts,
    refused,
    submit_and_wait,
)


async def test_a_rejected_draft_is_revised_and_another_approver_publishes_it(
    slack: SlackHarness,
) -> None:
    first = await declare(slack)
    reject = await open_from(slack, first, "draft_reject", user=APPROVER)
    await submit_and_wait(
        slack, reject, {"reason": text_input("Say which campus")}, user=APPROVER, messages_after=3
    )
    rejected = current(slack, first)
    assert "Rejected by <@U0APPROVER1>" in as_text(rejected["blocks"])
    assert "draft_approve" not in as_text(rejected["blocks"])

    # The approver who said no fixes it themselves: the edit form, filled with what was rejected.
    view = await open_from(slack, rejected, "draft_revise", user=APPROVER)
    assert view["callback_id"] == "draft_revise_form"
    texts = initial_texts(view)
    assert set(texts) == {f"text_{n}" for n in CHANNELS}
    assert all(text and shown_in(text, preview_texts(first)) for text in texts.values())

    edited_x = "Blackboard sign-in is down at the north campus. We are on it; more soon."
    values = {b: text_input(t) for b, t in texts.items()} | {"text_x": text_input(edited_x)}
    revised = await submit_and_wait(slack, view, values, user=APPROVER, messages_after=4)
    shown = as_text(revised["blocks"])
    assert "revision 2" in shown and "drafted by <@U0APPROVER1>" in shown
    assert edited_x in preview_texts(revised) and "edited" in shown
    assert button_ids(revised) == ["draft_approve", "draft_edit", "draft_reject"]
    # The rejected draft keeps its reason, not its button: there is one story at a time.
    assert not has_buttons(current(slack, first))
    refusal = await refused(slack, rejected, "draft_revise", user=ANALYST)
    assert "Revision 2 of this draft already waits for approval" in refusal

    # Whoever revised it drafted it: another approver publishes it.
    told = len(ephemeral_texts(slack.workspace, APPROVER))
    status, _ = await slack.click(revised, "draft_approve", user=APPROVER)
    assert status == 200
    refusals = ephemeral_texts(slack.workspace, APPROVER)[told:]
    assert refusals and "another approver" in refusals[-1]
    assert not outbox(slack)

    status, _ = await slack.click(revised, "draft_approve", user=APPROVER_2)
    assert status == 200
    await slack.workspace.wait_for("chat.postMessage", count=5)
    await slack.settle()
    published = {p.network: p.text for p in outbox(slack)}
    assert set(published) == set(NETWORKS) and published["x"] == edited_x
    actions = audit_actions(slack)
    assert actions.count("revise") == 1 and actions.count("approve") == 1
    assert "is out on X" in slack.thread()[-1]["text"]
    slack.sent_blocks_are_valid()
