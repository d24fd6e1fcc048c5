"""Webhook subscribers: each post on the status site reaches a receiver once, signed with a key
derived from CRIER_SITE_SECRET (never stored), retried after a 5xx, given up on a 410."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlmodel import select

from bot.config import CrierConfig
from bot.core import Core, build_core
from bot.settings import Settings
from bot.storage.models import Job, Post
from bot.storage.store import Store
from bot.subscriptions import subscribers
from bot.subscriptions.notify import NOTIFY
from tests.clock import FakeClock
from tests.unit.site_rows import publish_to_site


@dataclass
class Receiver:
    """A campus system that takes Crier's signed calls: answers ``answers`` in turn, then 200."""

    answers: list[int] = field(default_factory=list)
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 200)


@dataclass
class Setup:
    core: Core
    clock: FakeClock
    receiver: Receiver
    url: str

    async def publish(self, text: str) -> int:
        at = self.clock.now()
        incident = publish_to_site(self.core.store, at=at, text=text, service="Blackboard")
        with self.core.store.transaction() as session:
            post = session.exec(select(Post).where(Post.incident_id == incident)).one()
            assert post.id is not None and self.core.subscriptions is not None
            self.core.subscriptions.post_changed(session, post.id)
            return post.id

    async def settle(self) -> None:
        assert self.core.subscriptions is not None
        await self.core.subscriptions.scheduler.drain()


@pytest.fixture
async def setup(store: Store, config: CrierConfig) -> AsyncIterator[Setup]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/crier", receiver.handle)
    async with TestServer(app, host="127.0.0.1", port=0) as server:
        clock = FakeClock()
        settings = Settings(
            CRIER_SITE_SECRET=SecretStr("a test key, not a real one"),
            CRIER_PUBLIC_URL="https://status.example.edu",
        )
        core = build_core(settings=settings, config=config, store=store, clock=clock)
        yield Setup(core=core, clock=clock, receiver=receiver, url=str(server.make_url("/crier")))
        await core.close()


def add_webhook(setup: Setup) -> tuple[int, bytes]:
    with setup.core.store.transaction() as session:
        added = subscribers.add_webhook(session, setup.url, (), now=setup.clock.now())
        assert added.id is not None
        added_id = added.id
    assert setup.core.subscriptions is not None and setup.core.subscriptions.links is not None
    return added_id, setup.core.subscriptions.links.webhook_key(added_id)


def verified(key: bytes, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    signed = headers["X-Crier-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(key, signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-Crier-Signature"])
    payload = json.loads(body)
    assert isinstance(payload, dict)
    return payload


async def test_a_post_reaches_the_webhook_signed_once(setup: Setup) -> None:
    sub_id, key = add_webhook(setup)
    post_id = await setup.publish("Blackboard is down <!channel>")
    await setup.settle()
    [(headers, body)] = setup.receiver.calls
    payload = verified(key, headers, body)
    assert payload["event"] == "crier.site.post" and payload["post_id"] == post_id
    assert payload["text"] == "Blackboard is down <!channel>"
    assert (
        payload["url"] == f"https://status.example.edu/status/incidents/{payload['incident_id']}/"
    )
    assert headers["Idempotency-Key"] == f"post-{post_id}.sub-{sub_id}"
    with setup.core.store.transaction() as session:  # the key is derived, never stored
        assert key.decode() not in json.dumps(subscribers.export(session))


async def test_a_5xx_is_tried_again_later_and_a_410_gives_up(setup: Setup) -> None:
    _, key = add_webhook(setup)
    setup.receiver.answers = [503]
    await setup.publish("Blackboard is down")
    await setup.settle()
    assert len(setup.receiver.calls) == 1
    setup.clock.advance(minutes=2)
    await setup.settle()
    assert len(setup.receiver.calls) == 2  # the same call, signed again
    verified(key, *setup.receiver.calls[1])

    setup.receiver.answers = [410]
    await setup.publish("Blackboard is back")
    await setup.settle()
    setup.clock.advance(hours=1)
    await setup.settle()
    assert len(setup.receiver.calls) == 3
    with setup.core.store.transaction() as session:
        outcomes = session.exec(select(Job.outcome).where(Job.kind == NOTIFY)).all()
        assert sorted(str(o) for o in outcomes) == ["refused: the receiver answered 410", "sent"]
