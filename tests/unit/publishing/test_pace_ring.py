"""The shared pace as a ring of rows (migration 0012): the times kept before the upgrade still
count, a lower limit keeps the newest times, and concurrent requests from two processes' stores
take no more than the limit, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, column, insert, select, table

from bot.ports import PublishError
from bot.publishing.pacing import Pacer, key_fingerprint
from bot.storage.models import PaceSlot
from bot.storage.schema import downgrade, upgrade
from bot.storage.store import Store, open_store
from tests.clock import FakeClock

KEY = key_fingerprint("smtp:relay.example.edu:587")


def pacer(store: Store, clock: FakeClock, *, limit: int, **kwargs: object) -> Pacer:
    return Pacer(
        store=store,
        key=KEY,
        limit=limit,
        window=timedelta(seconds=60),
        clock=clock,
        sleep=clock.sleep,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_the_times_kept_before_the_upgrade_still_count(store: Store) -> None:
    clock = FakeClock()
    first, second = clock.now() - timedelta(seconds=20), clock.now() - timedelta(seconds=10)
    old_pace = table("pace", column("key", String()), column("slots", JSON()))
    downgrade(store, "0011")
    try:
        with store.engine.begin() as connection:
            slots = [second.isoformat(), first.isoformat()]  # in any order, as they were kept
            connection.execute(insert(old_pace).values(key=KEY, slots=slots))
        upgrade(store, "0012")
        with pytest.raises(PublishError) as refused:  # two in the last minute already
            await pacer(store, clock, limit=2).wait()
        assert refused.value.retry_at == first + timedelta(seconds=60)
        await pacer(store, clock, limit=3).wait()  # a third fits: taken now

        downgrade(store, "0011")  # and back: the times taken, oldest first
        with store.engine.begin() as connection:
            [kept] = connection.execute(select(old_pace.c.slots)).scalars().all()
        assert kept == [first.isoformat(), second.isoformat(), clock.now().isoformat()]
    finally:
        upgrade(store)


async def test_a_lower_limit_counts_the_newest_times(store: Store) -> None:
    clock = FakeClock()
    start = clock.now()
    wide = pacer(store, clock, limit=3)
    for _ in range(3):
        await wide.wait()
        clock.advance(seconds=1)
    with pytest.raises(PublishError) as refused:  # the last two were at +1 s and +2 s
        await pacer(store, clock, limit=2).wait()
    assert refused.value.retry_at == start + timedelta(seconds=61)


async def test_two_processes_asking_at_once_take_the_limit_between_them(
    database_url: str, store: Store
) -> None:
    """Two stores (two engines, as two processes have) ask at the same moment, from threads:
    the row lock lets exactly the limit through, and refuses the rest."""
    clock = FakeClock()
    other = open_store(database_url)
    try:
        replicas = [pacer(s, clock, limit=3, max_wait=timedelta(0)) for s in (store, other)]
        results = await asyncio.gather(
            *(replicas[i % 2].wait() for i in range(10)), return_exceptions=True
        )
    finally:
        other.dispose()
    refused = [r for r in results if isinstance(r, PublishError)]
    assert len(results) - len(refused) == 3 and len(refused) == 7
    assert all(r.retry_at == clock.now() + timedelta(seconds=60) for r in refused)


async def test_the_ring_grows_with_the_requests_not_with_the_limit(store: Store) -> None:
    """A limit lifted to a billion (as the scale-out benchmark lifts Statuspage's) costs a row
    per request made, not a billion rows at the first one (it once filled 19 GB of memory)."""
    clock = FakeClock()
    lifted = pacer(store, clock, limit=1_000_000_000)
    for _ in range(3):
        await lifted.wait()
    with store.transaction() as session:
        rows = session.execute(select(PaceSlot).where(PaceSlot.key == KEY)).all()
    assert len(rows) == 3
    small = pacer(store, clock, limit=2)  # a lower limit later: the newest two are kept
    with pytest.raises(PublishError):
        await small.wait()  # two in the last minute already: the next is a minute away
    with store.transaction() as session:
        assert len(session.execute(select(PaceSlot).where(PaceSlot.key == KEY)).all()) == 2
