from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS, OUTSIDER
from tests.scenario.harness import TOKEN, SlackHarness, start_harness

GROUP = "S0APPROVERS"


@pytest.fixture
async def workspace() -> AsyncIterator[SlackWorkspace]:
    users = {
        ANALYST: "ana.lyst",
        APPROVER: "appro.ver",
        APPROVER_2: "second.approver",
        OUTSIDER: "out.sider",
    }
    async with SlackWorkspace(
        bot_token=TOKEN,
        users=users,
        usergroups={GROUP: [APPROVER_2]},
        channels={COMMS: "it-outages", "C0HELPDESK": "helpdesk"},
    ) as ws:
        yield ws


@pytest.fixture
async def slack(
    store: Store, config: CrierConfig, workspace: SlackWorkspace
) -> AsyncIterator[SlackHarness]:
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_harness(
            store=store, config=config, workspace=workspace, http=http
        )
        try:
            yield harness
            harness.sent_blocks_are_valid()  # every Block Kit payload Crier sent, in every test
        finally:
            await runner.cleanup()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed_slack(
    store: Store, config: CrierConfig, workspace: SlackWorkspace, clock: FakeClock
) -> AsyncIterator[SlackHarness]:
    """The Slack harness on a clock the test moves (for reminders and the calendar)."""
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_harness(
            store=store, config=config, workspace=workspace, http=http, clock=clock
        )
        try:
            yield harness
            harness.sent_blocks_are_valid()
        finally:
            await runner.cleanup()


async def tick(slack: SlackHarness, clock: FakeClock, **delta: float) -> None:
    """Move the clock, then run what came due and let the chat updates finish."""
    clock.advance(**delta)
    while await slack.crier.core.scheduler.run_once():
        pass
    await slack.settle()
