"""X's monthly budget counts the posts being sent as well as those sent: two approved at once
may not both go out when the month has room for one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import col, select

from bot.config import STARTER_CONFIG, Network
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.x import FakeX


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX() as server:
        yield server  # type: ignore[misc]


async def test_two_posts_approved_together_stay_within_the_budget(
    fake: FakeX, store: Store
) -> None:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    # Room for one post with a link ($0.20) this month, not two.
    channels["x"] = {"enabled": True, "base_url": fake.base_url, "monthly_budget": 0.30}
    core = build_core(
        settings=Settings(),
        config=make_config(channels=channels),
        store=store,
        clock=FakeClock(),
        credentials=NetworkCredentials(x_bearer_token=SecretStr("x-user-token")),
    )
    try:
        for service in ("Blackboard", "Email"):
            draft = await core.declare(
                Actor("slack", ANALYST),
                DeclareRequest(service=service, summary="cannot log in", channels=(Network.X,)),
            )
            await core.approve(Actor("slack", APPROVER), draft.post.id)
        await core.publishing.run_once()
    finally:
        await core.close()

    with store.transaction() as session:
        first, second = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
    assert (first.state, second.state) == (DeliveryState.SENT, DeliveryState.FAILED)
    assert "this month's budget of $0.30" in (second.last_error or "")
    assert len(fake.tweets) == 1
