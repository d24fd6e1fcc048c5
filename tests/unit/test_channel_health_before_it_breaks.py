"""Issue 15's 'done when': a sunset API version or an expiring token reaches the comms channel
before it breaks a post. LinkedIn, through the scheduler on the test's clock, against a fake that
switches a version off a year after its month and refuses a token past its expiry, as LinkedIn
does: the comms channel hears first, posts still go out meanwhile, and only later does one fail,
naming what to change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.linkedin import FakeLinkedIn
from tests.unit.test_channel_health import NoticeBoard, tick

TOKEN = "linkedin-token-not-for-chat"
CLIENT_ID, CLIENT_SECRET = "li-client", "li-client-secret-value"
ORG = "2414183"
START = datetime(2027, 5, 3, 15, 0, tzinfo=UTC)  # Monday 11:00 AM in New York
FIRST_CHECK = datetime(2027, 5, 4, 11, 0, tzinfo=UTC)  # Tuesday 7:00 AM in New York
SUNSET = datetime(2027, 7, 1, tzinfo=UTC)  # 202607 is served until 12 months from its month


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def linkedin(clock: FakeClock) -> AsyncIterator[FakeLinkedIn]:
    server = FakeLinkedIn(
        token=TOKEN,
        organization=ORG,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        min_version="202401",
        now=lambda: clock.now().timestamp(),
    )
    await server.start()
    yield server
    await server.stop()


def linkedin_core(
    store: Store, clock: FakeClock, board: NoticeBoard, linkedin: FakeLinkedIn, version: str
) -> Core:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels["linkedin"] = {
        "enabled": True,
        "base_url": linkedin.base_url,
        "oauth_url": linkedin.base_url,
        "account": ORG,
        "api_version": version,
    }
    return build_core(
        settings=Settings(),
        config=make_config(channels=channels),
        store=store,
        clock=clock,
        credentials=NetworkCredentials(
            linkedin_access_token=SecretStr(TOKEN),
            linkedin_client_id=SecretStr(CLIENT_ID),
            linkedin_client_secret=SecretStr(CLIENT_SECRET),
        ),
        presenters={board.platform: board},
    )


async def post_to_linkedin(core: Core, summary: str) -> Delivery:
    """Declare, approve and publish an incident on LinkedIn alone; its delivery afterwards."""
    draft = await core.declare(
        Actor("slack", ANALYST),
        DeclareRequest(service="VPN", summary=summary, channels=(Network.LINKEDIN,)),
    )
    await core.approve(Actor("slack", APPROVER), draft.post.id)
    await core.publishing.run_once()
    with core.store.transaction() as session:
        return session.exec(select(Delivery).where(Delivery.post_id == draft.post.id)).one()


async def test_a_version_switched_off_is_said_in_the_comms_channel_weeks_before_a_post_fails(
    store: Store, clock: FakeClock, linkedin: FakeLinkedIn
) -> None:
    board = NoticeBoard()
    core = linkedin_core(store, clock, board, linkedin, version="202607")
    try:
        await core.channel_health.start()
        await tick(core, clock, to=FIRST_CHECK)
        [warning] = board.notices
        assert warning.kind == "version_ending" and warning.network is Network.LINKEDIN
        assert "202607" in warning.text and "2027-07-01" in warning.text
        # The key to change, and a version LinkedIn still serves then: last month's.
        assert "channels.linkedin.api_version" in warning.text and "202704" in warning.text

        sent = await post_to_linkedin(core, "cannot connect")
        assert sent.state == DeliveryState.SENT  # warned while posts still go out

        await tick(core, clock, to=SUNSET + timedelta(hours=12))  # that morning's check ran
        assert board.kinds() == ["version_ending", "channel_down", "version_ended"]
        failed = await post_to_linkedin(core, "still cannot connect")
    finally:
        await core.close()
    assert failed.state == DeliveryState.FAILED
    said = failed.last_error or ""
    assert "no longer serves API version 202607" in said
    # What to set, chosen on the day it failed (the core's clock), not some other day's.
    assert "Set channels.linkedin.api_version in crier.yml to 202706" in said
    assert len(linkedin.posts) == 1


async def test_an_expiring_token_is_said_14_and_3_days_before_a_post_fails(
    store: Store, clock: FakeClock, linkedin: FakeLinkedIn
) -> None:
    expires = START + timedelta(days=20)
    linkedin.token_expires_at = int(expires.timestamp())
    board = NoticeBoard()
    core = linkedin_core(store, clock, board, linkedin, version="202704")
    try:
        await core.channel_health.start()
        await tick(core, clock, to=FIRST_CHECK)
        assert board.notices == []  # 19 days to go: nothing yet
        await tick(core, clock, to=expires - timedelta(days=14))
        await tick(core, clock, to=expires - timedelta(days=3))
        assert board.kinds() == ["token_expiring", "token_expiring"]
        fourteen, three = board.notices
        assert "14 days" in fourteen.text and "3 days" in three.text
        for reminder in board.notices:  # what to do, and where
            assert "LINKEDIN_ACCESS_TOKEN" in reminder.text and "token-generator" in reminder.text
            assert TOKEN not in reminder.text

        await tick(core, clock, to=expires - timedelta(hours=1))
        assert (await post_to_linkedin(core, "cannot connect")).state == DeliveryState.SENT

        await tick(core, clock, to=expires + timedelta(hours=1))
        failed = await post_to_linkedin(core, "still cannot connect")
        await tick(core, clock, days=1)  # the next morning's check
    finally:
        await core.close()
    assert failed.state == DeliveryState.FAILED
    assert "renew LINKEDIN_ACCESS_TOKEN" in (failed.last_error or "")
    assert board.kinds() == ["token_expiring", "token_expiring", "channel_down"]
    assert all(TOKEN not in notice.text for notice in board.notices)
