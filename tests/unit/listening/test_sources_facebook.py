"""Facebook's reading side against the fake Graph API: a Page post's comments and the replies to
them, across pages; Graph's throttling, errors and usage headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import HeardKind
from bot.listening.sources.facebook import FacebookSource
from bot.ports import PublishError
from bot.publishing.http import HttpClient
from tests.clock import FakeClock
from tests.fakes.networks.facebook import FakeGraph
from tests.unit.listening.conftest import seconds, watched


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeGraph]:
    server = FakeGraph(now=seconds(clock), page_max=2, read_limit=10)
    await server.start()
    yield server
    await server.stop()


def source(fake: FakeGraph, http: HttpClient, clock: FakeClock) -> FacebookSource:
    return FacebookSource(
        http=http,
        base_url=fake.base_url,
        api_version="v26.0",
        page_token=SecretStr(fake.page_token),
        page_id=fake.page_id,
        clock=clock,
    )


def page_post(fake: FakeGraph) -> str:
    post_id = f"{fake.page_id}_900"
    fake.page_posts.append({"id": post_id, "message": "Wi-Fi is down.", "photo": None})
    return post_id


async def test_comments_and_their_replies_are_read_across_pages_once(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    post_id = page_post(fake)
    first = fake.add_comment(post_id, "Down in Hall B too", at=clock.advance(minutes=1))
    fake.add_comment(
        post_id, "Same", author="Bob Lee", reply_to=first["id"], at=clock.advance(minutes=1)
    )
    fake.add_comment(
        post_id,
        "We're on it",
        author=fake.page_name,
        author_id=fake.page_id,
        at=clock.advance(minutes=1),
    )
    fake.add_comment(post_id, "Back now?", author="Cy", at=clock.advance(minutes=1))
    listening = source(fake, http, clock)
    post = watched(Network.FACEBOOK, post_id, clock.now())

    page = await listening.replies(post)

    assert [h.text for h in page.items] == ["Down in Hall B too", "Same", "Back now?"]
    assert [h.author for h in page.items] == ["Ann Smith", "Bob Lee", "Cy"]
    assert [h.in_reply_to for h in page.items] == [post_id, first["id"], post_id]
    assert page.items[0].url == first["permalink_url"]
    assert page.items[0].created_at == clock.now() - timedelta(minutes=3)
    assert {h.kind for h in page.items} == {HeardKind.REPLY}
    assert page.requests == 2  # four comments, two a page
    assert page.remaining == 80  # 2 of 10 reads used: 20 % of the allowance

    again = await listening.replies(post, since=page.cursor)
    assert again.items == () and again.requests == 1
    # Graph dates comments to the second: one in the same second as the newest is still new.
    tied = fake.add_comment(post_id, "Tied", author="Dee", at=clock.now())
    later = fake.add_comment(post_id, "Later", author="Eve", at=clock.advance(minutes=1))
    newer = await listening.replies(post, since=page.cursor)
    assert [h.external_id for h in newer.items] == [tied["id"], later["id"]]


async def test_mentions_and_search_are_empty_without_asking(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    listening = source(fake, http, clock)
    assert (await listening.mentions(since="x")).cursor == "x"
    assert (await listening.search("wifi")).requests == 0
    assert fake.received == []


async def test_throttling_waits_until_graph_says_access_returns(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    post = watched(Network.FACEBOOK, page_post(fake), clock.now())
    listening = source(fake, http, clock)
    fake.rate_limit_next(reset_in=600, code=32)
    with pytest.raises(PublishError) as limited:
        await listening.replies(post)
    assert limited.value.transient and limited.value.rate_limited
    assert limited.value.retry_at == clock.now() + timedelta(minutes=10)

    fake.reads.limit = 0  # the app's own limit (code 4), reset at the end of the hour
    with pytest.raises(PublishError) as spent:
        await listening.replies(post)
    assert spent.value.rate_limited and spent.value.retry_at is not None


async def test_a_server_error_is_transient_and_an_expired_token_permanent(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    post = watched(Network.FACEBOOK, page_post(fake), clock.now())
    listening = source(fake, http, clock)
    fake.fail_next(500, {"error": {"message": "An unknown error occurred", "code": 1}})
    with pytest.raises(PublishError) as broken:
        await listening.replies(post)
    assert broken.value.transient

    fake.expired.add(fake.page_token)
    with pytest.raises(PublishError) as refused:
        await listening.replies(post)
    assert not refused.value.transient and "expired" in refused.value.message
    assert fake.page_token not in refused.value.message


async def test_a_deleted_post_has_no_more_comments(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    gone = watched(Network.FACEBOOK, f"{fake.page_id}_404", clock.now())
    page = await source(fake, http, clock).replies(gone)
    assert page.items == () and page.requests == 1
