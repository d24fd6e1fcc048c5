"""The pacer: a rolling window of requests, on the injectable clock (no real sleeping)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.ports import PublishError
from bot.publishing.pacing import Pacer, key_fingerprint
from bot.storage.models import Pace
from bot.storage.store import Store
from tests.clock import FakeClock


def pacer(clock: FakeClock, **kwargs: object) -> Pacer:
    return Pacer(
        limit=2,
        window=timedelta(seconds=1),
        clock=clock,
        sleep=clock.sleep,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_concurrent_requests_take_the_next_free_slots_in_turn() -> None:
    clock = FakeClock()
    start = clock.now()
    paced = pacer(clock)
    await asyncio.gather(*(paced.wait() for _ in range(5)))
    # Two at once, two a second later, the fifth a second after that.
    assert clock.slept == [1.0, 1.0, 2.0]
    assert clock.now() == start + timedelta(seconds=2)
    assert paced.next_slot() == start + timedelta(seconds=2)  # the last two were at +1 s, +2 s


async def test_a_slot_too_far_away_is_refused_with_its_time_and_not_taken() -> None:
    clock = FakeClock()
    paced = pacer(clock, max_wait=timedelta(seconds=5))
    await paced.hold_until(clock.now() + timedelta(seconds=60))
    for _ in range(3):
        with pytest.raises(PublishError) as refused:
            await paced.wait()
        assert refused.value.transient and refused.value.rate_limited
        assert refused.value.retry_at == clock.now() + timedelta(seconds=60)
    assert clock.slept == []
    clock.advance(seconds=58)
    await paced.wait()
    assert clock.slept == [2.0]


async def test_processes_on_one_database_share_one_pace(store: Store) -> None:
    """Two replicas (two pacers on one database, as two processes would be) send the key's
    limit between them, not each; a 429 one of them met holds the other too. The row is keyed
    by a fingerprint of the key, never the key."""
    clock = FakeClock()
    key = "statuspage-api-key-1"

    def replica() -> Pacer:
        return Pacer(
            store=store,
            key=key_fingerprint(key),
            limit=2,
            window=timedelta(seconds=60),
            clock=clock,
            sleep=clock.sleep,
        )

    first, second = replica(), replica()
    await first.wait()
    await second.wait()
    with pytest.raises(PublishError) as refused:  # the third in the minute, whichever asks
        await first.wait()
    assert refused.value.retry_at == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=60)
    await second.wait()  # the window has passed
    await first.hold_until(clock.now() + timedelta(seconds=30))
    with pytest.raises(PublishError) as held:
        await second.wait()
    assert held.value.retry_at == clock.now() + timedelta(seconds=30)
    with store.transaction() as session:
        [row] = session.exec(select(Pace)).all()
    assert row.key == key_fingerprint(key) and key not in row.key
