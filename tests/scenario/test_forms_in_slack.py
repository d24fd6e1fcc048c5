"""The forms' choices in Slack: *Other* for a service the catalog does not list, an update that
changes severity and channels, a false alarm; and the incident's message as people read it."""

from __future__ import annotations

from typing import Any

from tests.conftest import ANALYST, APPROVER
from tests.fakes.slack_requests import static_select, text_input
from tests.scenario.harness import SlackHarness, as_text, ephemeral_texts
from tests.scenario.test_revise_and_resolve import (
    approve,
    declare,
    field_errors,
    has_buttons,
    open_from,
    outbox,
    preview_texts,
    submit_and_wait,
)

JsonDict = dict[str, Any]


def checkboxes(*values: str) -> JsonDict:
    return {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}


def block(view: JsonDict, block_id: str) -> JsonDict:
    found = [b for b in view["blocks"] if b.get("block_id") == block_id]
    assert found, f"no {block_id!r} in the form"
    return found[0]


def root_fields(slack: SlackHarness) -> str:
    """The incident message's header and fields, as one string."""
    return as_text(slack.root()["blocks"][:2])


async def test_other_service_is_declared_by_its_name(slack: SlackHarness) -> None:
    status, _ = await slack.command("", user=ANALYST)
    assert status == 200
    view = await slack.open_modal()
    options = block(view, "service")["element"]["options"]
    assert options[-1]["value"] == "__other__" and "Other" in options[-1]["text"]["text"]
    assert "help page" in block(view, "other_service")["hint"]["text"]

    def form(name: str | None) -> dict[str, JsonDict]:
        return {
            "service": static_select("__other__", "Other (not in the catalog)"),
            "other_service": text_input(name),
            "summary": text_input("meetings drop after a minute"),
        }

    status, answer = await slack.submit(view, form("  "), user=ANALYST)
    assert status == 200 and set(field_errors(answer)) == {"other_service"}
    assert not slack.workspace.calls_to("chat.postMessage")

    await submit_and_wait(slack, view, form("Zoom"), user=ANALYST, messages_after=2)
    assert "Zoom: meetings drop after a minute" in root_fields(slack)
    assert "Zoom" in as_text(preview_texts(slack.thread()[0]))


async def test_the_incident_message_names_its_channels(slack: SlackHarness) -> None:
    await declare(slack)
    fields = root_fields(slack)
    assert "X, Facebook, Mastodon, Bluesky, Status page" in fields
    assert "statuspage" not in fields


async def test_an_update_changes_severity_and_channels_once_approved(
    slack: SlackHarness,
) -> None:
    await approve(slack, await declare(slack), messages_after=3)
    assert "🔴" in root_fields(slack) and "Critical" in root_fields(slack)

    view = await open_from(slack, slack.root(), "incident_post_update", user=ANALYST)
    assert block(view, "severity")["element"]["initial_option"]["value"] == "sev1"
    ticked = block(view, "channels")["element"]["initial_options"]
    channels = ["x", "facebook", "mastodon", "bluesky", "statuspage", "site"]
    assert [o["value"] for o in ticked] == channels

    update = {
        "status": static_select("identified"),
        "severity": static_select("sev2"),
        "what_we_are_doing": text_input("Only some courses are affected."),
        "channels": checkboxes("x", "mastodon"),
    }
    draft = await submit_and_wait(slack, view, update, user=ANALYST, messages_after=4)
    assert "Critical" in root_fields(slack)  # not until the update is approved

    await approve(slack, draft, messages_after=5)
    fields = root_fields(slack)
    assert "🟠" in fields and "Major" in fields and "X, Mastodon" in fields
    assert "Facebook" not in fields
    second = [p.network for p in outbox(slack)][5:]
    assert sorted(second) == ["mastodon", "x"]

    # The next update's form starts from the incident as it now stands.
    view = await open_from(slack, slack.root(), "incident_post_update", user=ANALYST)
    assert block(view, "severity")["element"]["initial_option"]["value"] == "sev2"
    ticked = block(view, "channels")["element"]["initial_options"]
    assert [o["value"] for o in ticked] == ["x", "mastodon"]


async def test_a_false_alarm_says_so_and_the_closed_incident_loses_its_colour(
    slack: SlackHarness,
) -> None:
    await approve(slack, await declare(slack), messages_after=3)
    view = await open_from(slack, slack.root(), "incident_resolve", user=ANALYST)
    option = block(view, "false_alarm")["element"]["options"][0]
    assert "false alarm" in option["text"]["text"]

    ticked = {"false_alarm": checkboxes(option["value"])}
    all_clear = await submit_and_wait(slack, view, ticked, user=ANALYST, messages_after=4)
    for text in preview_texts(all_clear):  # every network's says so, not "fixed"
        assert "This was a false alarm: Blackboard was working normally" in text, text
        assert "fixed" not in text and "working normally again" not in text

    await approve(slack, all_clear, messages_after=5)
    header = as_text(slack.root()["blocks"][0])
    assert "✅" in header and "🔴" not in header
    assert not has_buttons(slack.root())


async def test_a_false_alarm_with_nothing_published_closes_at_once(slack: SlackHarness) -> None:
    draft = await declare(slack)
    view = await open_from(slack, draft, "draft_reject", user=APPROVER)
    reason = {"reason": text_input("Not an outage")}
    await submit_and_wait(slack, view, reason, user=APPROVER, messages_after=3)

    view = await open_from(slack, slack.root(), "incident_resolve", user=ANALYST)
    told = len(slack.workspace.calls_to("chat.postEphemeral"))
    status, answer = await slack.submit(view, {"false_alarm": checkboxes("yes")}, user=ANALYST)
    assert (status, answer) == (200, {})
    await slack.workspace.wait_for("chat.postEphemeral", count=told + 1)
    assert "is closed" in ephemeral_texts(slack.workspace, ANALYST)[-1]
    await slack.settle()
    header = as_text(slack.root()["blocks"][0])
    assert "✅" in header and not has_buttons(slack.root())
    assert not outbox(slack)
