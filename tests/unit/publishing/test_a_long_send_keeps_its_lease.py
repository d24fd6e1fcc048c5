"""A send that outlasts its lease keeps its claim while it is renewed: no other worker takes the
delivery (and marks it *unknown*) in the meantime. A lease that has been taken over is not
renewed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.publishing.claims import Claimed, claim_due
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.outcomes import renew_lease
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.x import FakeX

LEASE = timedelta(minutes=2)


@pytest.fixture
async def core(store: Store) -> AsyncIterator[Core]:
    fake = FakeX()
    async with fake:
        channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
        channels["x"] = {"enabled": True, "base_url": fake.base_url}
        built = build_core(
            settings=Settings(),
            config=make_config(channels=channels),
            store=store,
            clock=FakeClock(),
            credentials=NetworkCredentials(x_bearer_token=SecretStr("x-user-token")),
        )
        try:
            draft = await built.declare(
                Actor("slack", ANALYST),
                DeclareRequest(
                    service="Blackboard", summary="cannot log in", channels=(Network.X,)
                ),
            )
            await built.approve(Actor("slack", APPROVER), draft.post.id)
            yield built
        finally:
            await built.close()


def claim(core: Core) -> list[Claimed]:
    with core.store.transaction() as session:
        claimed, _ = claim_due(
            session,
            config=core.config,
            publishers=core.publishers,
            room={Network.X: 1},
            total=1,
            lease=LEASE,
            now=core.clock.now(),
            lock_rows=core.store.is_postgres,
        )
        return claimed


def renew(core: Core, claimed: Claimed, *, held_until: datetime) -> bool:
    with core.store.transaction() as session:
        return renew_lease(
            session, claimed=claimed, held_until=held_until, until=core.clock.now() + LEASE
        )


def advance(core: Core, *, minutes: float) -> None:
    assert isinstance(core.clock, FakeClock)
    core.clock.advance(minutes=minutes)


def x_delivery(core: Core) -> Delivery:
    with core.store.transaction() as session:
        return session.exec(select(Delivery)).one()


async def test_a_renewed_lease_keeps_other_workers_off(core: Core) -> None:
    [sending] = claim(core)
    advance(core, minutes=1)
    assert renew(core, sending, held_until=sending.lease_until)

    advance(core, minutes=2)  # past the first lease, within the renewed one
    assert claim(core) == []
    assert x_delivery(core).state == DeliveryState.SENDING


async def test_a_lease_taken_over_is_not_renewed(core: Core) -> None:
    [sending] = claim(core)
    advance(core, minutes=3)  # it lapsed: the next claim settles it
    assert claim(core) == []
    assert x_delivery(core).state == DeliveryState.UNKNOWN  # X has no idempotency key

    assert not renew(core, sending, held_until=sending.lease_until)
    assert x_delivery(core).state == DeliveryState.UNKNOWN
