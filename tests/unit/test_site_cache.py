"""The status site is built once per public change, not once per request (issue 18)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import CrierConfig
from bot.site.cache import SiteCache
from bot.storage.schema import upgrade
from bot.storage.store import Store, open_store
from tests.clock import FakeClock
from tests.unit.site_rows import publish_to_site

SITE_URL = "https://status.example.edu/status/"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(store: Store, config: CrierConfig, clock: FakeClock) -> SiteCache:
    return SiteCache(store=store, config=config, clock=clock, site_url=SITE_URL)


async def test_requests_share_one_build_until_something_is_published(
    store: Store, cache: SiteCache, clock: FakeClock
) -> None:
    first = await cache.current()
    for _ in range(50):
        clock.advance(seconds=0.2)
        assert await cache.current() is first  # checked, nothing changed: the same build
    assert cache.builds == 1

    incident = publish_to_site(store, at=clock.now(), text="Blackboard: people cannot log in.")
    assert await cache.current() is first  # not checked again yet: within check_seconds
    clock.advance(seconds=0.5)
    second = await cache.current()
    assert second is not first and f"incidents/{incident}" in second.files
    for _ in range(10):
        clock.advance(seconds=0.5)
        assert await cache.current() is second
    assert cache.builds == 2


async def test_the_database_is_asked_at_most_every_check_seconds(
    cache: SiteCache, clock: FakeClock, statements: list[str]
) -> None:
    await cache.current()
    statements.clear()
    clock.advance(seconds=0.5)
    await cache.current()
    one_check = len(statements)
    assert one_check, "a due check asks the database"

    statements.clear()
    for _ in range(100):  # 10 seconds of requests, ten a second
        clock.advance(seconds=0.1)
        await cache.current()
    assert len(statements) == 20 * one_check


async def test_changed_makes_the_next_request_look_at_once(
    store: Store, cache: SiteCache, clock: FakeClock
) -> None:
    before = await cache.current()
    incident = publish_to_site(store, at=clock.now(), text="Wi-Fi is slow in the library.")
    cache.changed()  # the core sent a site delivery in this process
    after = await cache.current()  # the clock has not moved
    assert f"incidents/{incident}" in after.files and f"incidents/{incident}" not in before.files


async def test_concurrent_requests_during_a_rebuild_share_it(
    store: Store, cache: SiteCache, clock: FakeClock
) -> None:
    builds = await asyncio.gather(*(cache.current() for _ in range(20)))
    assert cache.builds == 1 and all(build is builds[0] for build in builds)

    publish_to_site(store, at=clock.now(), text="Email is down.")
    clock.advance(seconds=1)
    rebuilt = await asyncio.gather(*(cache.current() for _ in range(20)))
    assert cache.builds == 2
    # The request that rebuilt has the new site; the others answered meanwhile with a build
    # that was current a moment ago, never with a third one.
    assert {id(build) for build in rebuilt} <= {id(builds[0]), id(rebuilt[0])}
    assert await cache.current() is rebuilt[0]


async def test_a_new_day_rebuilds_so_old_incidents_leave_the_last_90_days(
    cache: SiteCache, clock: FakeClock
) -> None:
    await cache.current()
    clock.advance(days=1)
    await cache.current()
    assert cache.builds == 2


async def test_the_last_build_is_served_while_the_database_cannot_be_read(
    tmp_path: Path, config: CrierConfig, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'lost.db'}")
    upgrade(store)
    cache = SiteCache(store=store, config=config, clock=clock, site_url=SITE_URL)
    try:
        served = await cache.current()
        with store.engine.begin() as connection:
            connection.execute(text("DROP TABLE delivery"))
        clock.advance(seconds=1)
        with caplog.at_level(logging.ERROR, logger="bot.site.cache"):
            assert await cache.current() is served
        assert "still serving the last build" in caplog.text
    finally:
        store.dispose()
