"""manifest.yml creates an app that works as it is: its command, URLs and scopes match Crier."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import yaml

from handlers.slack.ids import COMMAND
from tests.conftest import ANALYST, APPROVER
from tests.scenario.harness import SlackHarness

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())

# The bot scope each Web API method Crier calls needs (api.slack.com/methods).
SCOPE_OF = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
}


def test_manifest_declares_the_command_interactivity_and_socket_mode_choice() -> None:
    commands = MANIFEST["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [COMMAND]
    assert urlparse(commands[0]["url"]).path == "/slack/events"
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert urlparse(MANIFEST["settings"]["interactivity"]["request_url"]).path == "/slack/events"
    assert isinstance(MANIFEST["settings"]["socket_mode_enabled"], bool)
    assert "commands" in MANIFEST["oauth_config"]["scopes"]["bot"]
    assert len(MANIFEST["display_information"]["name"]) <= 35


async def test_every_manifest_command_has_a_listener_and_every_call_a_scope(
    slack: SlackHarness,
) -> None:
    for command in MANIFEST["features"]["slash_commands"]:
        reply = await slack.command_reply("help", user=ANALYST)
        assert command["command"] in reply
    await slack.command("Blackboard: cannot log in", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.click(slack.thread()[0], "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    used = {call.method for call in slack.workspace.calls}
    assert used - set(SCOPE_OF) == set(), "a Web API method with no known scope"
    assert {SCOPE_OF[m] for m in used} - {None} <= granted


async def test_help_the_usage_hint_and_the_manifest_name_every_command(
    slack: SlackHarness,
) -> None:
    """What `/outage` understands is named wherever people learn it: the help, the answer to
    something it did not understand, and the hint Slack shows as they type."""
    said = await slack.command_reply("help", user=ANALYST)
    hint = await slack.command_reply("blackboard is down", user=ANALYST)
    [outage] = [c for c in MANIFEST["features"]["slash_commands"] if c["command"] == COMMAND]
    for verb in ("list", "calendar", "maintenance", "follow", "help"):
        assert f"/outage {verb}" in said and f"/outage {verb}" in hint, verb
        assert any(h.split()[0] == verb for h in outage["usage_hint"].split(" | ")), verb
