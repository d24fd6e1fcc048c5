"""What the chat tests of listening set up alike, in Slack and in Teams: Crier's Mastodon account
on a fake Mastodon instance over HTTP (so Crier's real publisher and reading side run), crier.yml
pointed at it, and the people who make a surge there. Each chat's test keeps its own clicks and
checks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.config import CrierConfig
from bot.core import Core
from bot.listening.poller import start_polling
from bot.publishing.credentials import NetworkCredentials
from handlers.server import Crier
from tests.clock import FakeClock
from tests.fakes.networks.mastodon import FakeMastodon

MASTODON_TOKEN = "mastodon-listening-token"
# Crier holds the fake's token, so it publishes there (not to the outbox) and reads from it.
MASTODON_CREDENTIALS = NetworkCredentials(mastodon_access_token=SecretStr(MASTODON_TOKEN))
STORY_START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # where the stories' clock starts
LISTENING = {"networks": ["mastodon"], "terms": ["Northfield"], "every_minutes": 3}


class Harness(Protocol):
    """What a chat's harness (Slack's or Teams') has that the set-up here needs."""

    crier: Crier


H = TypeVar("H", bound=Harness)
# A chat's ``start_harness`` or ``start_teams`` given its own arguments (``functools.partial``):
# the config, the HTTP session, the credentials and the clock are given here.
Starter = Callable[..., Awaitable[tuple[H, web.AppRunner]]]


@asynccontextmanager
async def on_mastodon(
    start: Starter[H], config: CrierConfig, *, clock: FakeClock | None = None
) -> AsyncIterator[tuple[H, FakeMastodon]]:
    """A fake Mastodon instance, and the chat's harness with Crier's account there (``config``
    otherwise as the chat's tests have it) and the fake's token: Crier publishes there, not to
    the outbox. With ``clock`` (a story), Crier also listens there, on that clock, and runs no
    loops of its own: the test runs the polls and the publishing as it moves the clock, so none
    may finish after it looks."""
    async with fake_mastodon(clock) as mastodon:
        config = mastodon_config(config, mastodon, listening=clock is not None)
        on_clock = {"clock": clock, "background": False} if clock else {}
        async with aiohttp.ClientSession() as http:
            harness, runner = await start(
                config=config, http=http, credentials=MASTODON_CREDENTIALS, **on_clock
            )
            try:
                if clock:
                    start_listening(harness.crier.core, clock)
                yield harness, mastodon
            finally:
                await runner.cleanup()


@asynccontextmanager
async def listening_story(
    start: Starter[H], config: CrierConfig
) -> AsyncIterator[tuple[H, FakeMastodon, FakeClock]]:
    """As ``on_mastodon`` with a clock, which the test moves from ``STORY_START``."""
    clock = FakeClock(STORY_START)
    async with on_mastodon(start, config, clock=clock) as (harness, mastodon):
        yield harness, mastodon, clock


@asynccontextmanager
async def fake_mastodon(clock: FakeClock | None) -> AsyncIterator[FakeMastodon]:
    """The instance serving on 127.0.0.1, its statuses dated by ``clock`` when the test moves
    one (a poll then finds what was said since the last, as the test's clock tells it)."""
    now = (lambda: clock.now().timestamp()) if clock else time.time
    server = FakeMastodon(token=MASTODON_TOKEN, now=now)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def mastodon_config(config: CrierConfig, mastodon: FakeMastodon, *, listening: bool) -> CrierConfig:
    """``config`` with Crier's Mastodon account (``it``) on the fake; ``listening``: Crier reads
    Mastodon every 3 minutes too."""
    raw = config.model_dump(mode="json")
    raw["channels"]["mastodon"] = {"base_url": mastodon.base_url, "account": "it"}
    if listening:
        raw["listening"] = LISTENING
    return CrierConfig.model_validate(raw)


def start_listening(core: Core, clock: FakeClock) -> None:
    """Crier polls Mastodon from the clock's now on, when the test runs the polls."""
    assert core.listening.networks == [core.config.listening.networks[0]]
    start_polling(core.store, config=core.config, networks=core.listening.networks, now=clock.now())


def surge_of_mentions(mastodon: FakeMastodon, clock: FakeClock, count: int = 14) -> None:
    """``count`` people, 30 seconds apart from 8 minutes ago, mention Crier's account angrily
    about eduroam (Wi-Fi in the catalog): more than a poll's usual, a surge."""
    for n in range(count):
        at = clock.now() - timedelta(minutes=8) + timedelta(seconds=30 * n)
        mastodon.mention(f"eduroam is down AGAIN, this is awful ({n})", author=f"s{n}", at=at)
