"""One Crier, two chat platforms: an incident declared in Teams and one declared in Slack share
the core, and neither platform shows the other's incident."""

from __future__ import annotations

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.conftest import ANALYST as SLACK_ANALYST
from tests.conftest import APPROVER as SLACK_APPROVER
from tests.conftest import COMMS
from tests.fakes.bot_connector import FakeBotConnector
from tests.scenario.harness import TOKEN, as_text, start_harness
from tests.teams.harness import ANALYST, APPROVER, TeamsHarness, texts


async def test_teams_and_slack_incidents_stay_on_their_own_platform(
    store: Store, config: CrierConfig, connector: FakeBotConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Slack harness reads the rest of its settings from the environment: Teams without a
    # MicrosoftAppId runs only when told to.
    monkeypatch.setenv("CRIER_TEAMS_UNAUTHENTICATED", "true")
    users = {SLACK_ANALYST: "ana.lyst", SLACK_APPROVER: "appro.ver"}
    async with (
        SlackWorkspace(bot_token=TOKEN, users=users, channels={COMMS: "it-outages"}) as workspace,
        aiohttp.ClientSession() as http,
    ):
        slack, runner = await start_harness(
            store=store, config=config, workspace=workspace, http=http
        )
        base = slack.url.removesuffix("/slack/events")
        teams = TeamsHarness(
            crier=slack.crier, connector=connector, http=http, url=f"{base}/api/messages"
        )
        try:
            assert await teams.say("outage Blackboard: students cannot log in", user=ANALYST) == 202
            await connector.wait_for_posts(2)
            status, _ = await slack.command("Email: messages are delayed", user=SLACK_ANALYST)
            assert status == 200
            await workspace.wait_for("chat.postMessage", count=2)
            await slack.settle()

            # Each platform shows its own incident, and only that one.
            assert "Blackboard" in texts(connector.card(teams.root_id()))
            assert all("Email" not in texts(c.cards) for c in connector.calls)
            slack_text = as_text(workspace.messages(COMMS))
            assert "Email" in slack_text and "Blackboard" not in slack_text

            # Approving on one platform publishes there and tells only that platform.
            await teams.click(teams.draft_ids()[0], "Approve & publish", user=APPROVER)
            await slack.click(slack.thread()[0], "draft_approve", user=SLACK_APPROVER)
            await connector.wait_for_posts(3)
            await workspace.wait_for("chat.postMessage", count=3)
            await slack.settle()
            assert all("Email" not in texts(c.cards) for c in connector.calls)
            assert "Blackboard" not in as_text(workspace.messages(COMMS))
            assert "Blackboard" not in as_text([c.args for c in workspace.calls])
            incidents = {i.service for i in await slack.crier.core.open_incidents()}
            assert incidents == {"Blackboard", "Email"}
            teams.cards_are_valid()
            slack.sent_blocks_are_valid()
        finally:
            await runner.cleanup()
