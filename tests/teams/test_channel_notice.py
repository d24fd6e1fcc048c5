"""A notice about the channels (``bot.scheduling.channel_health``) reaches Teams in the
conversation of the latest incident declared there: the only conversation Crier may write to
unasked."""

from __future__ import annotations

from bot.config import Network
from bot.views import Notice
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import ANALYST, THREAD, TeamsHarness, texts


async def test_a_channel_notice_goes_to_the_latest_incident_conversation(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    assert await teams.say("outage Blackboard: students cannot log in", user=ANALYST) == 202
    await connector.wait_for_posts(2)
    await teams.settle()
    before = len(connector.posts())
    await teams.crier.core.notice(
        Notice(
            kind="channel_down",
            title="Facebook stopped working",
            text="Facebook is not ready (expired): renew FACEBOOK_PAGE_TOKEN.",
            network=Network.FACEBOOK,
        )
    )
    (posted,) = (await connector.wait_for_posts(before + 1))[before:]
    assert posted.conversation_id == THREAD
    assert "Facebook stopped working" in texts(posted.cards[0])
    assert "FACEBOOK_PAGE_TOKEN" in texts(posted.cards[0])
    teams.cards_are_valid()
