"""Issue 16: a network that hangs holds up only its own posts.

X's fake holds every post on an event the test controls (as X did for 20 s in the incident);
meanwhile another incident's approved Mastodon post goes out. Released, X's post is sent too,
and each network gets each post once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import yaml
from aiohttp import web
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.loop import PublishingLoop
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.mastodon import FakeMastodon
from tests.fakes.networks.x import FakeX

MASTODON_TOKEN = "mastodon-test-token"
GUARD_SECONDS = 10  # a failing run ends here instead of hanging; a passing one takes far less


class HungX(FakeX):
    """X that takes each post and answers it only when the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.hanging = asyncio.Event()  # a post has arrived and is being held
        self.release = asyncio.Event()

    async def before(self, request: web.Request) -> web.StreamResponse | None:
        if request.path == "/2/tweets":
            self.hanging.set()
            await self.release.wait()
        return await super().before(request)


@dataclass
class World:
    core: Core
    publishing: PublishingLoop
    x: HungX
    mastodon: FakeMastodon
    changed: asyncio.Event  # the publishing loop told chat that a post's deliveries changed


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    x, mastodon = HungX(), FakeMastodon(token=MASTODON_TOKEN)
    async with x, mastodon:
        channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
        channels["x"] = {"enabled": True, "base_url": x.base_url, "account": "northfieldit"}
        channels["mastodon"] = {"enabled": True, "base_url": mastodon.base_url, "account": "it"}
        clock = FakeClock()
        core = build_core(
            settings=Settings(),
            config=make_config(channels=channels),
            store=store,
            clock=clock,
            credentials=NetworkCredentials(
                x_bearer_token=SecretStr("x-user-token"),
                mastodon_access_token=SecretStr(MASTODON_TOKEN),
            ),
        )
        changed = asyncio.Event()
        publishing = PublishingLoop(
            store=store,
            config=core.config,
            publishers=core.publishers,
            clock=clock,
            after_change=changed.set,
        )
        try:
            yield World(core, publishing, x, mastodon, changed)
        finally:
            x.release.set()
            await core.close()


async def approve(world: World, service: str, network: Network) -> int:
    """Declare an outage of ``service`` published to ``network`` only, approve it, wake the
    publishing loop; returns the post's id."""
    draft = await world.core.declare(
        Actor("slack", ANALYST),
        DeclareRequest(service=service, summary="cannot log in", channels=(network,)),
    )
    await world.core.approve(Actor("slack", APPROVER), draft.post.id)
    world.publishing.wake()
    return draft.post.id


def delivery_of(world: World, post_id: int) -> Delivery:
    with world.core.store.transaction() as session:
        return session.exec(select(Delivery).where(Delivery.post_id == post_id)).one()


async def until_sent(world: World, post_id: int) -> Delivery:
    """Wait, on the publishing loop's own word that the post changed, until its delivery is sent."""
    while True:
        world.changed.clear()
        delivery = delivery_of(world, post_id)
        if delivery.state == DeliveryState.SENT:
            return delivery
        await world.changed.wait()


async def test_a_post_to_another_network_goes_out_while_x_hangs(world: World) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(world.publishing.run_forever(stop))
    try:
        async with asyncio.timeout(GUARD_SECONDS):
            on_x = await approve(world, "Blackboard", Network.X)
            await world.x.hanging.wait()
            on_mastodon = await approve(world, "Email", Network.MASTODON)

            await until_sent(world, on_mastodon)
            assert delivery_of(world, on_x).state == DeliveryState.SENDING  # still hanging
            assert world.x.tweets == {}

            world.x.release.set()
            await until_sent(world, on_x)
    finally:
        world.x.release.set()
        stop.set()
        await running

    assert await world.publishing.run_once() == 0  # nothing left to send, nothing sent twice
    assert len(world.x.tweets) == 1 and len(world.mastodon.statuses) == 1
    assert delivery_of(world, on_x).attempts == delivery_of(world, on_mastodon).attempts == 1


async def test_stop_finishes_the_post_in_flight_before_returning(world: World) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(world.publishing.run_forever(stop))
    async with asyncio.timeout(GUARD_SECONDS):
        on_x = await approve(world, "Blackboard", Network.X)
        await world.x.hanging.wait()
        stop.set()
        world.x.release.set()
        await running

    sent = delivery_of(world, on_x)  # finished, not abandoned to a lapsing lease
    assert sent.state == DeliveryState.SENT and len(world.x.tweets) == 1
