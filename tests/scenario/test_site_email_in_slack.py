"""An approval in Slack reaches an email subscriber of the status site exactly once: through the
real bolt app, the publishing loop, the site's delivery, the notify job and a real SMTP server
(aiosmtpd on 127.0.0.1). The email carries the approved words and a Message-ID that stays the
same however often the job runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.config import CrierConfig
from bot.storage.models import Post
from bot.storage.store import Store
from bot.subscriptions import subscribers
from bot.subscriptions.links import Consent
from handlers.sandbox.workspace import SlackWorkspace
from tests.clock import FakeClock
from tests.mailbox import Mailbox
from tests.scenario.harness import SlackHarness, start_harness
from tests.scenario.test_revise_and_resolve import approve, declare

SUMMARY = "students cannot log in"
ADA = "ada@example.edu"


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    async with Mailbox.running() as running:
        yield running


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
    more = {
        "CRIER_SITE_SECRET": SecretStr("a test key, not a real one"),
        "CRIER_SMTP_URL": SecretStr(mailbox.url),
        "CRIER_SMTP_PER_SECOND": 1000,
    }
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_harness(
            store=store,
            config=config,
            workspace=workspace,
            http=http,
            clock=clock,
            more_settings=more,
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
    with core.store.transaction() as session:  # Ada confirmed her address earlier
        ada = subscribers.confirm(session, Consent(address=ADA, services=()), now=clock.now())
        ada_id = ada.id

    draft = await declare(slack, f"Blackboard: {SUMMARY}")
    await core.subscriptions.scheduler.drain()
    assert mailbox.messages == []  # a draft waiting for approval is news to nobody

    await approve(slack, draft, messages_after=3)  # the "Post 1 is out" reply
    await slack.settle()
    await core.subscriptions.scheduler.drain()
    [told] = await mailbox.wait_for(1)

    with core.store.transaction() as session:
        [post] = session.exec(select(Post)).all()
    assert told["To"] == ADA and mailbox.recipients == [[ADA]]
    assert told["Message-ID"] == f"<post-{post.id}.sub-{ada_id}@crier.test>"
    body = told.get_body(("plain",))
    assert body is not None and SUMMARY in body.get_content()
    assert SUMMARY in str(told["Subject"])

    # Every other network's delivery told the loop too, and the loops keep running: still once.
    clock.advance(minutes=5)
    await slack.settle()
    await core.subscriptions.scheduler.drain()
    assert len(mailbox.messages) == 1
