"""Requests Crier refuses, writing nothing: too big, about things that do not exist, or from
another Slack workspace. (Forged, expired and replayed signatures: tests/scenario/test_guards.)"""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from handlers.server import MAX_BODY
from handlers.slack import modals
from handlers.slack.ids import Action, Field
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.fakes import slack_requests as req
from tests.hostile.checks import Mark, quiesce, told_since
from tests.scenario.harness import SlackHarness

OTHER_TEAM = "T0ELSEWHERE"


@pytest.fixture
def slack(slack_alone: SlackHarness) -> SlackHarness:
    """Without the app's background loops: the rows counted are the requests' alone."""
    return slack_alone


def rows(slack: SlackHarness) -> dict[str, int]:
    """How many rows every table holds, but the ids of the Slack deliveries handled (each
    command and interaction is recorded once, so that a second delivery does nothing)."""
    with slack.crier.core.store.transaction() as session:
        return {
            name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in SQLModel.metadata.tables.items()
            if name != "processedevent"
        }


async def declared(slack: SlackHarness) -> dict:
    await slack.command("Email: outlook is down", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await quiesce(slack)
    return slack.root()


async def test_a_body_over_a_mebibyte_is_refused_with_413_before_anything_runs(
    slack: SlackHarness,
) -> None:
    body = req.slash_command(
        "/outage",
        "Email: " + "x" * MAX_BODY,
        user_id=ANALYST,
        channel_id=COMMS,
        response_url=slack.workspace.new_response_url(),
    )
    before = rows(slack)
    status, _ = await slack.post(body)
    await quiesce(slack)
    assert status == 413
    assert rows(slack) == before and slack.workspace.calls == []


@pytest.mark.parametrize(
    ("action_id", "value", "told"),
    [
        (Action.APPROVE, "999", "Draft #999 does not exist"),
        (Action.EDIT, "999", "Draft #999 does not exist"),
        (Action.REJECT, "999", "does not exist"),
        (Action.POST_UPDATE, "999", "Incident #999 does not exist"),
        (Action.RESOLVE, "999", "Incident #999 does not exist"),
        (f"{Action.RETRY}_0", "999", "does not exist"),
        (f"{Action.SNOOZE}_0", "999:15", "That reminder no longer exists"),
        (f"{Action.CALENDAR_POST}_0", "999", "That scheduled post no longer exists"),
        (Action.APPROVE, "not-a-number", "does not exist"),
    ],
)
async def test_a_button_for_something_that_does_not_exist_is_answered_and_writes_nothing(
    slack: SlackHarness, action_id: str, value: str, told: str
) -> None:
    root = await declared(slack)
    before, mark = rows(slack), Mark.of(slack.workspace)
    body = req.block_action(
        action_id=action_id,
        value=value,
        block_id="post_999",
        user_id=APPROVER,
        channel_id=COMMS,
        message_ts=root["ts"],
        response_url=slack.workspace.new_response_url(),
    )
    status, _ = await slack.post(body)
    await quiesce(slack)
    assert status == 200
    answers = told_since(slack.workspace, mark, APPROVER)
    assert len(answers) == 1 and told in answers[0], answers
    assert rows(slack) == before
    assert {c.method for c in slack.workspace.calls[mark.calls :]} == {"chat.postEphemeral"}


@pytest.mark.parametrize("key", ["incident_id", "post_id"])
async def test_a_form_about_something_that_does_not_exist_gets_a_field_error(
    slack: SlackHarness, key: str
) -> None:
    await declared(slack)
    core = slack.crier.core
    incident, post = await core.incident(1), await core.post(1)
    if key == "incident_id":
        view = modals.update_modal(incident, core.config, channel_id=COMMS)
        values = {Field.DOING: {"value": req.text_input("restarting it")}}
    else:
        view = modals.edit_modal(post, channel_id=COMMS)
        values = {"text_x": {"value": req.text_input("Email is down.")}}
    view["private_metadata"] = json.dumps({key: 999, "channel_id": COMMS})
    before = rows(slack)
    body = req.view_submission(view=view, values=values, user_id=APPROVER)
    status, answer = await slack.post(body)
    await quiesce(slack)
    assert status == 200
    errors = json.loads(answer)["errors"]
    assert any("#999 does not exist" in e for e in errors.values()), errors
    assert rows(slack) == before


async def test_requests_from_another_workspace_are_refused_logged_and_write_nothing(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="handlers.slack.guards")
    root = await declared(slack)
    draft = slack.thread()[0]
    before, mark = rows(slack), Mark.of(slack.workspace)

    command = req.slash_command(
        "/outage",
        "VPN: cannot connect",
        user_id=ANALYST,
        channel_id=COMMS,
        response_url=slack.workspace.new_response_url(),
        team_id=OTHER_TEAM,
    )
    status, answer = await slack.post(command)
    assert status == 200 and "another Slack workspace" in json.loads(answer)["text"]

    click = req.block_action(
        action_id=Action.APPROVE,
        value="1",
        block_id="post_1",
        user_id=APPROVER,
        channel_id=COMMS,
        message_ts=draft["ts"],
        thread_ts=root["ts"],
        response_url=slack.workspace.new_response_url(),
        team_id=OTHER_TEAM,
    )
    assert (await slack.post(click))[0] == 403

    form = req.view_submission(
        view=modals.declare_modal(slack.crier.core.config, channel_id=COMMS),
        values={
            Field.SERVICE: {"value": req.static_select("VPN")},
            Field.SUMMARY: {"value": req.text_input("cannot connect")},
        },
        user_id=APPROVER,
        team_id=OTHER_TEAM,
    )
    assert (await slack.post(form))[0] == 403

    genuine = click.replace(OTHER_TEAM, req.DEFAULT_TEAM_ID)  # the same click, from our team
    assert (await slack.post(genuine))[0] == 200

    await quiesce(slack)
    refusals = [r for r in caplog.records if OTHER_TEAM in r.getMessage()]
    assert len(refusals) == 3
    after = rows(slack)
    assert after["incident"] == before["incident"] and after["post"] == before["post"]
    # Only the click from our own team counted: its approver is asked to confirm.
    assert [c.method for c in slack.workspace.calls[mark.calls :]].count("views.open") == 1
    assert not [c for c in slack.workspace.calls[mark.calls :] if c.method == "chat.postEphemeral"]
