"""The poll reads many watched posts in one request where the network allows it: 25 posts on X
in three searches (12 conversations a query), 25 on Facebook in one multiple-id read; each
post's mark written from its own page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import col, select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.listening.poller import start_polling
from bot.ports import Actor
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.models import Delivery, ListenMark
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.facebook import FakeGraph
from tests.fakes.networks.x import FakeX
from tests.unit.listening.conftest import seconds
from tests.unit.listening.test_listening import ListeningChat

PAGE_ID = "1122334455"


@pytest.fixture
async def core(store: Store, clock: FakeClock) -> AsyncIterator[tuple[Core, FakeX, FakeGraph]]:
    async with FakeX(now=seconds(clock)) as x, FakeGraph(now=seconds(clock), page_id=PAGE_ID) as fb:
        assert isinstance(x, FakeX) and isinstance(fb, FakeGraph)
        channels: dict[str, Any] = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
        channels["x"] = {
            **{"enabled": True, "base_url": x.base_url, "account": "northfieldit"},
            **{"monthly_budget": 1000, "monthly_read_budget": 10_000},
        }
        channels["facebook"] = {"enabled": True, "base_url": fb.base_url, "account": PAGE_ID}
        config = make_config(
            channels=channels,
            listening={"terms": [], "networks": ["x", "facebook"], "every_minutes": 1},
        )
        made = build_core(
            settings=Settings(declarations_per_minute=1000),
            config=config,
            store=store,
            clock=clock,
            presenters={"test": ListeningChat()},
            credentials=NetworkCredentials(
                X_BEARER_TOKEN=SecretStr(x.bearer_token),
                FACEBOOK_PAGE_TOKEN=SecretStr(fb.page_token),
            ),
        )
        for n in range(25):
            request = DeclareRequest(
                service="Wi-Fi",
                summary=f"eduroam is down ({n})",
                channels=(Network.X, Network.FACEBOOK),
            )
            draft = await made.declare(Actor("slack", ANALYST), request)
            await made.approve(Actor("slack", APPROVER), draft.post.id)
        while await made.publishing.run_once():
            pass
        yield made, x, fb
        await made.close()


async def poll(core: Core, clock: FakeClock) -> None:
    clock.advance(minutes=1)
    while await core.scheduler.run_once():
        pass
    await core.settle()


def deliveries(core: Core, network: Network) -> dict[str, int]:
    with core.store.transaction() as session:
        rows = session.exec(select(Delivery).where(Delivery.channel == network.value)).all()
        return {row.external_id or "": row.id or 0 for row in rows if row.external_id}


def marks(core: Core, network: Network) -> dict[str, ListenMark]:
    prefix = f"{network.value}:replies:"
    with core.store.transaction() as session:
        rows = session.exec(select(ListenMark).where(col(ListenMark.key).startswith(prefix)))
        return {row.key: row for row in rows}


async def test_a_sweep_of_25_posts_takes_three_searches_on_x_and_one_read_on_facebook(
    core: tuple[Core, FakeX, FakeGraph], clock: FakeClock
) -> None:
    crier, x, fb = core
    x_posts, fb_posts = deliveries(crier, Network.X), deliveries(crier, Network.FACEBOOK)
    assert len(x_posts) == len(fb_posts) == 25
    answered_x, answered_fb = sorted(x_posts)[3], sorted(fb_posts)[7]
    reply = x.add_reply(answered_x, "still down", username="ann")
    comment = fb.add_comment(answered_fb, "Hall B too")
    start_polling(
        crier.store, config=crier.config, networks=crier.listening.networks, now=clock.now()
    )

    for _ in range(3):  # X's share is 2 searches a poll (its mentions have a budget of their own)
        await poll(crier, clock)

    searches = [r for r in x.received if r.path == "/2/tweets/search/recent"]
    first_sweep = sum(r.query["query"].count("conversation_id:") for r in searches[:3])
    assert first_sweep == 25 and len(marks(crier, Network.X)) == 25

    assert [r.path for r in fb.received if r.method == "GET"] == ["/v26.0/"] * 3
    assert len(marks(crier, Network.FACEBOOK)) == 25
    x_marks, fb_marks = marks(crier, Network.X), marks(crier, Network.FACEBOOK)
    assert x_marks[f"x:replies:{x_posts[answered_x]}"].cursor == reply
    assert comment["id"] in (fb_marks[f"facebook:replies:{fb_posts[answered_fb]}"].cursor or "")
    quiet = fb_marks[f"facebook:replies:{fb_posts[sorted(fb_posts)[0]]}"]
    assert quiet.cursor is None
    with crier.store.transaction() as session:
        month = session.exec(select(ListenMark).where(col(ListenMark.key).startswith("x:reads:")))
        assert int(month.one().cursor or 0) == x.posts_read


async def test_a_post_deleted_on_facebook_is_not_asked_for_again(
    core: tuple[Core, FakeX, FakeGraph], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    crier, _, fb = core
    fb_posts = deliveries(crier, Network.FACEBOOK)
    deleted = sorted(fb_posts)[5]
    fb.page_posts = [p for p in fb.page_posts if p["id"] != deleted]
    start_polling(
        crier.store, config=crier.config, networks=crier.listening.networks, now=clock.now()
    )
    caplog.set_level("INFO", logger="bot.listening.poller")

    await poll(crier, clock)  # refused for the deleted post, naming it; the rest read again
    await poll(crier, clock)
    await poll(crier, clock)

    reads = [r for r in fb.received if r.method == "GET" and r.path == "/v26.0/"]
    assert len(reads) == 4 and deleted in reads[0].query["ids"]
    assert all(deleted not in r.query["ids"] for r in reads[1:])
    assert all(len(r.query["ids"].split(",")) == 24 for r in reads[1:])
    assert marks(crier, Network.FACEBOOK)[f"facebook:replies:{fb_posts[deleted]}"].cursor == "gone"
    said = [r.getMessage() for r in caplog.records if "was deleted there" in r.getMessage()]
    assert len(said) == 1 and deleted in said[0]
