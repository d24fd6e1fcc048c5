"""An approval in Teams reaches an email subscriber of the status site exactly once: through the
Bot Framework endpoint, the publishing loop, the site's delivery, the notify job and a real SMTP
server (aiosmtpd on 127.0.0.1), with a Message-ID that stays the same however often it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.fakes.bot_connector import FakeBotConnector
from tests.mailbox import Mailbox
from tests.subscriptions.site_email import (
    SUMMARY,
    confirm_ada,
    emailed_once,
    mailing_settings,
    running_mailbox,  # noqa: F401 (the mailbox fixture)
)
from tests.teams.harness import APPROVER, TeamsHarness, start_teams, teams_settings, texts
from tests.teams.test_declare_and_approve import declare


@pytest.fixture
async def mailing_teams(
    store: Store,
    config: CrierConfig,
    connector: FakeBotConnector,
    clock: FakeClock,
    mailbox: Mailbox,
) -> AsyncIterator[TeamsHarness]:
    """The Teams harness (its clock standing still) with email subscriptions on."""
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_teams(
            store=store,
            config=config,
            connector=connector,
            http=http,
            clock=clock,
            settings=teams_settings(**mailing_settings(mailbox)),
        )
        try:
            yield harness
            await harness.settle()
            harness.cards_are_valid()
        finally:
            await runner.cleanup()


async def test_an_approval_in_teams_emails_a_confirmed_subscriber_once(
    mailing_teams: TeamsHarness, connector: FakeBotConnector, mailbox: Mailbox, clock: FakeClock
) -> None:
    teams = mailing_teams
    core = teams.crier.core
    assert core.subscriptions is not None and core.subscriptions.relay.startswith("127.0.0.1:")
    ada_id = confirm_ada(core, clock)

    draft_id = await declare(teams, f"Blackboard: {SUMMARY}")
    await core.subscriptions.scheduler.drain()
    assert mailbox.messages == []  # a draft waiting for approval is news to nobody

    answer = await teams.click(draft_id, "Approve & publish", user=APPROVER)
    assert "Approved by" in texts(answer)
    await connector.wait_for_posts(len(connector.posts()) + 1)  # "Post 1 is out on …"
    await teams.settle()
    await core.subscriptions.scheduler.drain()
    await emailed_once(core, mailbox, ada_id)

    clock.advance(minutes=5)  # the loops go on: still once
    await teams.settle()
    await core.subscriptions.scheduler.drain()
    assert len(mailbox.messages) == 1
