"""The scenario tests' fixtures: the real app, signed requests, the simulated workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.scenario.conftest import clock, slack, timed_slack, workspace
from tests.scenario.harness import SlackHarness, start_harness

__all__ = ["clock", "slack", "slack_alone", "timed_slack", "workspace"]


@pytest.fixture
async def slack_alone(
    store: Store, config: CrierConfig, workspace: SlackWorkspace
) -> AsyncIterator[SlackHarness]:
    """The real app without its background loops (publishing, reminders, the channels' health
    check), for tests that count rows: every row they find, a request wrote. ``quiesce`` still
    publishes what is due, itself."""
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_harness(
            store=store, config=config, workspace=workspace, http=http, background=False
        )
        try:
            yield harness
            harness.sent_blocks_are_valid()
        finally:
            await runner.cleanup()
