"""Every message about a post says what became of it: after a *Retry* that worked, the outcome
message says so too, not only the draft's card."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from bot.publishing.credentials import NetworkCredentials
from bot.storage.store import Store
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.networks.x import FakeX
from tests.teams.harness import ANALYST, APPROVER, TeamsHarness, start_teams, texts
from tests.teams.test_only_approvers_publish import x_config


@pytest.fixture
async def x_teams(
    store: Store, connector: FakeBotConnector
) -> AsyncIterator[tuple[TeamsHarness, FakeX]]:
    """The Teams harness with X posting to a fake X (the other channels to the outbox)."""
    async with FakeX() as x, aiohttp.ClientSession() as http:
        teams, runner = await start_teams(
            store=store,
            config=x_config(x),
            connector=connector,
            http=http,
            credentials=NetworkCredentials(x_bearer_token=SecretStr("x-user-token")),
        )
        try:
            yield teams, x
            await teams.settle()
            teams.cards_are_valid()
        finally:
            await runner.cleanup()


async def test_the_outcome_message_follows_a_retry(
    x_teams: tuple[TeamsHarness, FakeX], connector: FakeBotConnector
) -> None:
    teams, x = x_teams
    assert await teams.say("outage Blackboard: students cannot log in", user=ANALYST) == 202
    await connector.wait_for_posts(2)
    await teams.settle()
    (draft,) = teams.draft_ids()

    x.fail_next(403, {"detail": "You are not permitted to perform this action."})
    approved = await teams.click(draft, "Approve & publish", user=APPROVER)
    assert "Approved by" in texts(approved)
    (outcome,) = (await connector.wait_for_posts(3))[2:]
    await teams.settle()
    assert "Needs attention: X (failed)" in texts(connector.card(outcome.id))

    await teams.click(draft, "Retry X", user=APPROVER)
    await connector.wait_for(lambda: "Needs attention" not in texts(connector.card(outcome.id)))
    await teams.settle()
    assert "Post 1 is out on X, Facebook" in texts(connector.card(outcome.id))
    assert len(x.tweets) == 1 and "failed" not in texts(connector.card(draft))
    assert len(connector.posts()) == 3  # the same outcome message, replaced: no new one
