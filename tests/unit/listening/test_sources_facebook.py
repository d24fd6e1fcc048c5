"""Facebook's reading side against the fake Graph API: a Page post's comments and the replies to
them, across pages; Graph's throttling, errors and usage headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import HeardKind, Watched
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
    assert page.items == () and page.requests == 1 and page.gone


# ----- many posts in one read (replies_many) ------------------------------------------------


def page_posts(fake: FakeGraph, clock: FakeClock, count: int) -> list[Watched]:
    made = []
    for n in range(count):
        post_id = f"{fake.page_id}_{900 + n}"
        fake.page_posts.append({"id": post_id, "message": f"Post {n}", "photo": None})
        made.append(replace(watched(Network.FACEBOOK, post_id, clock.now()), delivery_id=n + 1))
    return made


async def test_one_request_reads_many_posts_each_from_its_own_cursor(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    first, second, quiet = page_posts(fake, clock, 3)
    fake.add_comment(first.external_id, "Hall B?", at=clock.advance(minutes=1))
    own = fake.add_comment(
        first.external_id, "On it", author=fake.page_name, author_id=fake.page_id
    )
    fake.add_comment(second.external_id, "Library too", author="Bob", at=clock.advance(minutes=1))
    listening = source(fake, http, clock)

    sweep = await listening.replies_many([(post, None) for post in (first, second, quiet)])

    assert [r.path for r in fake.received] == ["/v26.0/"] and fake.reads.used == 1
    assert sweep.requests == 1 and sweep.remaining == 90  # 1 of 10 reads
    assert [h.text for h in sweep.pages[1].items] == ["Hall B?"]  # the Page's own left out
    assert [h.text for h in sweep.pages[2].items] == ["Library too"]
    assert sweep.pages[3].items == () and sweep.pages[3].cursor is None
    assert own["id"] in (sweep.pages[1].cursor or "")

    later = fake.add_comment(second.external_id, "Back?", author="Cy", at=clock.advance(minutes=1))
    cursors = [(post, sweep.pages[n + 1].cursor) for n, post in enumerate((first, second, quiet))]
    again = await listening.replies_many(cursors)
    assert again.pages[1].items == () and again.pages[3].items == ()
    assert [h.external_id for h in again.pages[2].items] == [later["id"]]
    assert again.requests == 1 and fake.reads.used == 2


async def test_a_post_with_more_comments_follows_its_own_pages(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    busy, calm = page_posts(fake, clock, 2)
    for n in range(5):  # two a page (page_max=2): the read's page, then two more
        fake.add_comment(busy.external_id, f"c{n}", author=f"P{n}", at=clock.advance(minutes=1))
    fake.add_comment(calm.external_id, "ok", at=clock.advance(minutes=1))
    listening = source(fake, http, clock)

    sweep = await listening.replies_many([(busy, None), (calm, None)])
    assert [h.text for h in sweep.pages[1].items] == [f"c{n}" for n in range(5)]
    assert [h.text for h in sweep.pages[2].items] == ["ok"]
    assert sweep.requests == 3 and fake.reads.used == 3
    assert [r.path for r in fake.received][1:] == [f"/v26.0/{busy.external_id}/comments"] * 2

    # Read up to its cursor: the newest page says so, no page is followed.
    fake.add_comment(busy.external_id, "c5", at=clock.advance(minutes=1))
    cursors = [(busy, sweep.pages[1].cursor), (calm, sweep.pages[2].cursor)]
    again = await listening.replies_many(cursors)
    assert [h.text for h in again.pages[1].items] == ["c5"] and again.requests == 1


async def test_a_deleted_post_in_a_sweep_has_no_more_comments(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    [alive] = page_posts(fake, clock, 1)
    gone = replace(watched(Network.FACEBOOK, f"{fake.page_id}_404", clock.now()), delivery_id=9)
    fake.add_comment(alive.external_id, "still down", at=clock.advance(minutes=1))
    sweep = await source(fake, http, clock).replies_many([(gone, "x"), (alive, None)])
    # Graph refuses the whole read (#803), naming the gone post: the rest is read again.
    assert sweep.pages[9].items == () and sweep.pages[9].gone
    assert [h.text for h in sweep.pages[1].items] == ["still down"] and not sweep.pages[1].gone
    assert sweep.requests == 2 and fake.reads.used == 2
    assert [r.path for r in fake.received] == ["/v26.0/"] * 2


async def test_a_refusal_naming_no_post_of_ours_reads_each_alone(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    alive, other = page_posts(fake, clock, 2)
    gone = replace(watched(Network.FACEBOOK, f"{fake.page_id}_404", clock.now()), delivery_id=9)
    fake.add_comment(alive.external_id, "still down", at=clock.advance(minutes=1))
    fake.missing_alias_message = "(#803) Some of the aliases you requested do not exist"
    sweep = await source(fake, http, clock).replies_many(
        [(gone, None), (alive, None), (other, None)]
    )
    assert sweep.pages[9].gone and not sweep.pages[1].gone and not sweep.pages[2].gone
    assert [h.text for h in sweep.pages[1].items] == ["still down"]
    assert sweep.requests == 4  # the refused read, then each post alone


async def test_throttling_during_a_sweep_waits_until_graph_says(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    posts = page_posts(fake, clock, 2)
    fake.reads.limit = 0
    with pytest.raises(PublishError) as spent:
        await source(fake, http, clock).replies_many([(post, None) for post in posts])
    assert spent.value.rate_limited and spent.value.retry_at is not None
    assert spent.value.retry_at > clock.now()


async def test_a_refusal_naming_a_post_is_not_read_as_naming_a_post_its_id_begins(
    fake: FakeGraph, http: HttpClient, clock: FakeClock
) -> None:
    alive = replace(watched(Network.FACEBOOK, f"{fake.page_id}_40", clock.now()), delivery_id=1)
    fake.page_posts.append({"id": alive.external_id, "message": "Post", "photo": None})
    gone = replace(watched(Network.FACEBOOK, f"{fake.page_id}_404", clock.now()), delivery_id=9)
    sweep = await source(fake, http, clock).replies_many([(gone, None), (alive, None)])
    assert sweep.pages[9].gone and not sweep.pages[1].gone  # "…_40" is in "…_404", not named
    assert sweep.requests == 2
