"""X counts its mentions timeline apart from recent search (10 requests / 15 min per user on
Basic, search 60): the poll asks the mentions on a budget of their own (5 a quarter-hour) and
the searches on X's (30), and a 429 from one endpoint holds only that one's asks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import yaml
from pydantic import SecretStr

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.listening.poller import start_polling
from bot.ports import Actor
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.x import FakeX
from tests.unit.listening.conftest import seconds
from tests.unit.listening.test_listening import ListeningChat

SEARCH = "/2/tweets/search/recent"


@asynccontextmanager
async def listening_to_x(
    store: Store, clock: FakeClock, **limits: Any
) -> AsyncIterator[tuple[Core, FakeX]]:
    """A core that published one incident on a fake X (read limits as ``limits`` say) and
    listens there every minute: its mentions, the post's replies and one term."""
    async with FakeX(now=seconds(clock), **limits) as x:
        assert isinstance(x, FakeX)
        channels: dict[str, Any] = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
        channels["x"] = {
            **{"enabled": True, "base_url": x.base_url, "account": "northfieldit"},
            **{"monthly_budget": 1000, "monthly_read_budget": 10_000},
        }
        config = make_config(
            channels=channels,
            listening={"terms": ["Northfield"], "networks": ["x"], "every_minutes": 1},
        )
        core = build_core(
            settings=Settings(),
            config=config,
            store=store,
            clock=clock,
            presenters={"test": ListeningChat()},
            credentials=NetworkCredentials(X_BEARER_TOKEN=SecretStr(x.bearer_token)),
        )
        request = DeclareRequest(service="Wi-Fi", summary="eduroam is down", channels=(Network.X,))
        draft = await core.declare(Actor("slack", ANALYST), request)
        await core.approve(Actor("slack", APPROVER), draft.post.id)
        while await core.publishing.run_once():
            pass
        start_polling(store, config=core.config, networks=core.listening.networks, now=clock.now())
        try:
            yield core, x
        finally:
            await core.close()


async def polls(core: Core, x: FakeX, clock: FakeClock, minutes: int) -> list[tuple[int, int]]:
    """Run a poll a minute for ``minutes``; each poll's (mentions asked, searches asked)."""
    asked: list[tuple[int, int]] = []
    for _ in range(minutes):
        before = len(x.received)
        while await core.scheduler.run_once():
            pass
        await core.settle()
        paths = [r.path for r in x.received[before:]]
        asked.append((sum(p.endswith("/mentions") for p in paths), paths.count(SEARCH)))
        clock.advance(minutes=1)
    return asked


async def test_a_quarter_hour_of_polls_asks_the_mentions_at_most_five_times(
    store: Store, clock: FakeClock
) -> None:
    async with listening_to_x(store, clock, read_limit=60, read_window=900) as (core, x):
        asked = await polls(core, x, clock, minutes=15)

    # Every third minute at most; the first read also learnt the account (GET /2/users/me),
    # a request counted on the same budget, so the next waited six.
    assert [mentions for mentions, _ in asked] == [1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]
    assert all(searches == 2 for _, searches in asked)  # the term and the post's replies
    assert x.mention_reads.refused == 0 and x.reads.refused == 0


async def test_a_429_on_the_mentions_does_not_stop_the_searches(
    store: Store, clock: FakeClock
) -> None:
    # Every mentions read refused with 429 until the end of X's quarter-hour.
    limits = {"read_limit": 60, "read_window": 900, "mentions_limit": 0}
    async with listening_to_x(store, clock, **limits) as (core, x):
        asked = await polls(core, x, clock, minutes=10)

    assert [mentions for mentions, _ in asked] == [1] + [0] * 9  # held until X's reset
    assert all(searches == 2 for _, searches in asked)
    assert x.mention_reads.refused == 1 and x.reads.refused == 0


async def test_a_429_on_search_does_not_stop_the_mentions_that_have_room(
    store: Store, clock: FakeClock
) -> None:
    # Every search refused with 429 until the end of X's quarter-hour; mentions as on Basic.
    async with listening_to_x(store, clock, read_limit=0, read_window=900) as (core, x):
        asked = await polls(core, x, clock, minutes=10)

    assert sum(searches for _, searches in asked) == 1  # held until X's reset
    assert [mentions for mentions, _ in asked] == [1, 0, 0, 0, 0, 0, 1, 0, 0, 1]  # as above
    assert x.reads.refused == 1 and x.mention_reads.refused == 0
