"""Approvers named by a Slack user group: membership comes from usergroups.users.list."""

from __future__ import annotations

import pytest

from bot.config import CrierConfig
from tests.conftest import ANALYST, APPROVER, APPROVER_2, make_config
from tests.scenario.conftest import GROUP
from tests.scenario.harness import SlackHarness, as_text, ephemeral_texts


@pytest.fixture
def config() -> CrierConfig:
    return make_config(approvals={"slack_users": [], "slack_usergroup": GROUP})


async def test_group_members_approve_and_others_are_refused(slack: SlackHarness) -> None:
    await slack.command("Student Portal: timetable pages fail", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    draft = slack.thread()[0]
    await slack.click(draft, "draft_approve", user=APPROVER)  # named nowhere now
    await slack.workspace.wait_for("chat.postEphemeral")
    assert any("Only approvers" in t for t in ephemeral_texts(slack.workspace, APPROVER))
    await slack.click(draft, "draft_approve", user=APPROVER_2)  # a member of the group
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    assert "Approved by <@U0APPROVER2>" in as_text(slack.thread()[0])
    lookups = slack.workspace.calls_to("usergroups.users.list")
    assert lookups and lookups[0].args["usergroup"] == GROUP


async def test_an_unreadable_group_is_explained_not_guessed(slack: SlackHarness) -> None:
    await slack.command("Email: delays", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    slack.workspace.fail_next("usergroups.users.list", error="missing_scope")
    await slack.click(slack.thread()[0], "draft_approve", user=APPROVER_2)
    await slack.workspace.wait_for("chat.postEphemeral")
    told = ephemeral_texts(slack.workspace, APPROVER_2)
    assert any("could not read the approvers' group" in t for t in told)
    assert "draft_approve" in as_text(slack.thread()[0])  # still waiting, nothing published
