from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.ports import Clock
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import APPROVER as SLACK_APPROVER
from tests.conftest import APPROVER_2 as SLACK_APPROVER_2
from tests.conftest import make_config
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import ANALYST, APPROVER, APPROVER_2, TeamsHarness, start_teams


def teams_config() -> CrierConfig:
    """The starter config with Teams approvers (Entra object ids) beside the Slack ones."""
    return make_config(
        approvals={
            "slack_users": [SLACK_APPROVER, SLACK_APPROVER_2],
            "teams_users": [APPROVER[2], APPROVER_2[2]],
            "allow_self_approval": False,
        }
    )


@pytest.fixture
def config() -> CrierConfig:
    return teams_config()


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with FakeBotConnector() as fake:
        yield fake


@asynccontextmanager
async def running_teams(
    store: Store, config: CrierConfig, connector: FakeBotConnector, clock: Clock | None = None
) -> AsyncIterator[TeamsHarness]:
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_teams(
            store=store, config=config, connector=connector, http=http, clock=clock
        )
        try:
            yield harness
            await harness.settle()
            harness.cards_are_valid()  # every card Crier sent or answered with, in every test
        finally:
            await runner.cleanup()


@pytest.fixture
async def teams(
    store: Store, config: CrierConfig, connector: FakeBotConnector
) -> AsyncIterator[TeamsHarness]:
    async with running_teams(store, config, connector) as harness:
        yield harness


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed_teams(
    store: Store, config: CrierConfig, connector: FakeBotConnector, clock: FakeClock
) -> AsyncIterator[TeamsHarness]:
    """The Teams harness on a clock that stands still unless the test moves it."""
    async with running_teams(store, config, connector, clock) as harness:
        yield harness


__all__ = ["ANALYST"]
