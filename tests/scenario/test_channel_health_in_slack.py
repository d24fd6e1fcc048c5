"""Story: Facebook is set up with a Graph version weeks from its end and a Page token that
expires in 20 days. The daily health check says so in the comms channel (not in any thread)
before either breaks a post, and again when Facebook stops working and when it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import yaml
from pydantic import SecretStr

from bot.config import STARTER_CONFIG
from bot.publishing.credentials import NetworkCredentials
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.clock import FakeClock
from tests.conftest import COMMS, make_config
from tests.fakes.networks.facebook import FakeGraph
from tests.scenario.conftest import tick
from tests.scenario.harness import SlackHarness, as_text, start_harness

PAGE = "1122334455"
TOKEN = "EAAG-page-token-that-must-not-reach-chat"
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tuesday 10:00 AM in New York
EXPIRES = START + timedelta(days=20)


@pytest.fixture
async def graph(clock: FakeClock) -> AsyncIterator[FakeGraph]:
    async with FakeGraph(
        page_id=PAGE, page_token=TOKEN, now=lambda: clock.now().timestamp()
    ) as server:
        server.token_expiry[TOKEN] = (int(EXPIRES.timestamp()), 0)
        yield server  # type: ignore[misc]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def slack(
    store: Store, workspace: SlackWorkspace, graph: FakeGraph, clock: FakeClock
) -> AsyncIterator[SlackHarness]:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels["facebook"] = {
        "enabled": True,
        "base_url": graph.base_url,
        "account": PAGE,
        "api_version": "v21.0",
    }
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_harness(
            store=store,
            config=make_config(channels=channels),
            workspace=workspace,
            http=http,
            clock=clock,
            credentials=NetworkCredentials(facebook_page_token=SecretStr(TOKEN)),
            background=False,  # the test runs the scheduler on its clock
        )
        try:
            yield harness
            harness.sent_blocks_are_valid()
        finally:
            await runner.cleanup()


def notices(slack: SlackHarness) -> list[str]:
    """The top-level messages in the comms channel, as text."""
    return [as_text(m) for m in slack.workspace.messages(COMMS)]


async def test_a_sunset_version_and_an_expiring_token_reach_the_comms_channel(
    slack: SlackHarness, clock: FakeClock, graph: FakeGraph
) -> None:
    await slack.crier.core.channel_health.start()  # as serve's work process does at start
    await tick(slack, clock, hours=21)  # Wednesday 7:00 AM in New York: the first check
    await slack.workspace.wait_for("chat.postMessage", count=1)
    [version] = notices(slack)
    assert "v21.0" in version and "2027-01-21" in version
    assert "channels.facebook.api_version" in version and "v26.0" in version
    [call] = slack.workspace.calls_to("chat.postMessage")
    assert call.args["channel"] == COMMS and "thread_ts" not in call.args

    await tick(slack, clock, days=1)  # nothing new: nothing said
    assert len(slack.workspace.calls_to("chat.postMessage")) == 1

    # 14 days before the token expires: what to do, in the comms channel.
    clock.advance(seconds=(EXPIRES - timedelta(days=14) - clock.now()).total_seconds())
    await tick(slack, clock)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    reminder = notices(slack)[-1]
    assert "FACEBOOK_PAGE_TOKEN" in reminder and "14 days" in reminder
    assert "developers.facebook.com" in reminder

    # The token stops working: said once, and again when a new one works.
    graph.expired.add(TOKEN)
    await tick(slack, clock, days=1)
    await slack.workspace.wait_for("chat.postMessage", count=3)
    assert "Facebook stopped working" in notices(slack)[-1]
    await tick(slack, clock, days=1)
    assert len(slack.workspace.calls_to("chat.postMessage")) == 3
    graph.expired.discard(TOKEN)
    await tick(slack, clock, days=1)
    await slack.workspace.wait_for("chat.postMessage", count=4)
    assert "Facebook is ready again" in notices(slack)[-1]

    assert all(TOKEN not in as_text(call.args) for call in slack.workspace.calls)
