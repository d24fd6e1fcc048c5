"""An approval in Slack reaches an email subscriber of the status site exactly once: through the
real bolt app, the publishing loop, the site's delivery, the notify job and a real SMTP server
(aiosmtpd on 127.0.0.1). The email carries the approved words and a Message-ID that stays the
same however often the job runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.clock import FakeClock
from tests.mailbox import Mailbox
from tests.scenario.harness import SlackHarness, start_harness
from tests.scenario.test_revise_and_resolve import approve, declare
from tests.subscriptions.site_email import (
    SUMMARY,
    confirm_ada,
    emailed_once,
    mailing_settings,
    running_mailbox,  # noqa: F401 (the mailbox fixture)
)


@pytest.fixture
async def mailing_slack(
    store: Store,
    config: CrierConfig,
    workspace: SlackWorkspace,
    clock: FakeClock,
    mailbox: Mailbox,
) -> AsyncIterator[SlackHarness]:
    """The Slack harness (its clock standing still) with email subscriptions on: links signed
    with a test key, emails sent to ``mailbox``."""
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_harness(
            store=store,
            config=config,
            workspace=workspace,
            http=http,
            clock=clock,
            more_settings=mailing_settings(mailbox),
        )
        try:
            yield harness
            harness.sent_blocks_are_valid()
        finally:
            await runner.cleanup()


async def test_an_approval_in_slack_emails_a_confirmed_subscriber_once(
    mailing_slack: SlackHarness, mailbox: Mailbox, clock: FakeClock
) -> None:
    slack = mailing_slack
    core = slack.crier.core
    assert core.subscriptions is not None and core.subscriptions.relay.startswith("127.0.0.1:")
    ada_id = confirm_ada(core, clock)

    draft = await declare(slack, f"Blackboard: {SUMMARY}")
    await core.subscriptions.scheduler.drain()
    assert mailbox.messages == []  # a draft waiting for approval is news to nobody

    await approve(slack, draft, messages_after=3)  # the "Post 1 is out" reply
    await slack.settle()
    await core.subscriptions.scheduler.drain()
    await emailed_once(core, mailbox, ada_id)

    # Every other network's delivery told the loop too, and the loops keep running: still once.
    clock.advance(minutes=5)
    await slack.settle()
    await core.subscriptions.scheduler.drain()
    assert len(mailbox.messages) == 1
