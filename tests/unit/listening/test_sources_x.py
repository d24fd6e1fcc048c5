"""X's reading side against the fake X API: conversations by recent search, mentions and search,
each page counting the posts read (X bills them) and the requests made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import HeardKind, Watched
from bot.listening.sources.x import QUERY_MAX, XSource, conversations_query
from bot.ports import PublishError
from bot.publishing.http import HttpClient
from bot.publishing.x import BearerAuth, OAuth1Auth
from tests.clock import FakeClock
from tests.fakes.networks.x import FakeX
from tests.unit.listening.conftest import seconds, watched


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeX]:
    server = FakeX(now=seconds(clock), page_max=2)
    await server.start()
    yield server
    await server.stop()


def source(fake: FakeX, http: HttpClient, clock: FakeClock, max_pages: int = 5) -> XSource:
    auth = BearerAuth(SecretStr(fake.bearer_token))
    return XSource(http=http, auth=auth, base_url=fake.base_url, clock=clock, max_pages=max_pages)


def crier_post(fake: FakeX, clock: FakeClock) -> str:
    post_id = str(fake._next_id)
    fake._next_id += 1
    fake.tweets[post_id] = {
        "text": "Wi-Fi is down.",
        "in_reply_to": None,
        "at": clock.now().timestamp(),
    }
    return post_id


async def test_a_conversation_is_read_whole_across_pages_and_then_only_what_is_new(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    root = crier_post(fake, clock)
    first = fake.add_reply(
        root, "down in B & C <again>", username="ann", name="Ann", at=clock.advance(minutes=1)
    )
    nested = fake.add_reply(first, "same", username="bob", at=clock.advance(minutes=1))
    fake.add_reply(nested, "here too", username="cy", at=clock.advance(minutes=1))
    fake.add_post("unrelated", username="dee")
    listening = source(fake, http, clock)
    post = watched(Network.X, root, clock.now())

    page = await listening.replies(post)

    assert [h.text for h in page.items] == ["down in B & C <again>", "same", "here too"]
    assert [h.author for h in page.items] == ["@ann", "@bob", "@cy"]
    assert page.items[0].author_name == "Ann" and page.items[1].in_reply_to == first
    assert page.items[0].url == f"https://x.com/ann/status/{first}"
    assert page.items[2].created_at == clock.now()
    assert {h.kind for h in page.items} == {HeardKind.REPLY}
    # One look-up of the account, then two pages: three posts read and billed, no more.
    assert page.requests == 3 and len(page.items) == fake.posts_read == 3

    again = await listening.replies(post, since=page.cursor)
    assert again.items == () and again.requests == 1 and fake.posts_read == 3
    late = fake.add_reply(root, "back now", username="ann", at=clock.advance(minutes=1))
    newer = await listening.replies(post, since=page.cursor)
    assert [h.external_id for h in newer.items] == [late]


async def test_crier_s_own_posts_in_the_thread_are_not_read(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    root = crier_post(fake, clock)
    fake.tweets[str(fake._next_id)] = {
        "text": "Update",
        "in_reply_to": root,
        "at": clock.now().timestamp(),
    }
    fake._next_id += 1
    fake.add_reply(root, "thanks", username="ann")

    page = await source(fake, http, clock).replies(watched(Network.X, root, clock.now()))

    assert [h.text for h in page.items] == ["thanks"] and fake.posts_read == 1


async def test_mentions_and_search_with_oauth1(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    auth = OAuth1Auth(
        api_key=SecretStr("x-api-key"),
        api_secret=SecretStr("x-api-secret"),
        access_token=SecretStr("x-access-token"),
        access_token_secret=SecretStr("x-access-secret"),
    )
    listening = XSource(
        http=http,
        auth=auth,
        base_url=fake.base_url,
        user_id="1500000000000000001",
        handle="northfieldit",
        clock=clock,
    )
    for n in range(3):
        fake.mention(f"is the VPN down? ({n})", username="ann", at=clock.advance(minutes=1))

    page = await listening.mentions()
    assert [h.text for h in page.items] == [
        f"@northfieldit is the VPN down? ({n})" for n in range(3)
    ]
    assert {h.kind for h in page.items} == {HeardKind.MENTION} and page.requests == 2

    fake.add_post("vpn & wifi down", username="bob", at=clock.advance(minutes=1))
    found = await listening.search("wifi", since=page.cursor)
    assert [h.text for h in found.items] == ["vpn & wifi down"]


async def test_a_429_is_rate_limited_until_x_says_and_remaining_is_read(
    http: HttpClient, clock: FakeClock
) -> None:
    async with FakeX(now=seconds(clock), read_limit=2, read_window=900) as fake:
        assert isinstance(fake, FakeX)
        post = watched(Network.X, crier_post(fake, clock), clock.now())
        listening = source(fake, http, clock)
        reset = clock.now().replace(microsecond=0) + timedelta(seconds=900)

        page = await listening.replies(post)  # /2/users/me is not a read of the window here
        assert page.remaining == 1 and page.reset_at == reset
        await listening.replies(post)
        with pytest.raises(PublishError) as limited:
            await listening.replies(post)
        assert limited.value.transient and limited.value.rate_limited
        assert limited.value.retry_at == reset


async def test_a_server_error_is_transient_and_a_revoked_token_permanent(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    listening = source(fake, http, clock)
    await listening.mentions()
    fake.fail_next(503)
    with pytest.raises(PublishError) as broken:
        await listening.mentions()
    assert broken.value.transient and not broken.value.rate_limited

    fake.expired = True
    with pytest.raises(PublishError) as refused:
        await listening.mentions()
    assert not refused.value.transient and fake.bearer_token not in refused.value.message


# ----- many conversations in one search (replies_many) -------------------------------------


def posts_of(fake: FakeX, clock: FakeClock, count: int) -> list[Watched]:
    return [
        replace(watched(Network.X, crier_post(fake, clock), clock.now()), delivery_id=n + 1)
        for n in range(count)
    ]


def searched(fake: FakeX) -> list[str]:
    return [r.path for r in fake.received if r.path == "/2/tweets/search/recent"]


async def test_as_many_conversations_as_always_fit_share_one_query(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    longest = conversations_query(["9" * 19] * XSource.replies_per_call, "h" * 15)
    assert XSource.replies_per_call == 12 and len(longest) <= QUERY_MAX
    assert len(conversations_query(["9" * 19] * 13, "h" * 15)) > QUERY_MAX
    posts = posts_of(fake, clock, 25)
    assert {len(post.external_id) for post in posts} == {19}
    fake.add_reply(posts[24].external_id, "still down", username="ann")

    sweep = await source(fake, http, clock).replies_many([(post, None) for post in posts])

    # One look-up of the account, then 12 + 12 + 1 conversations: each query under 512.
    assert sweep.requests == 4 and len(searched(fake)) == 3
    assert [h.text for h in sweep.pages[25].items] == ["still down"]
    assert all(sweep.pages[n].items == () for n in range(1, 25))


async def test_the_x_fake_refuses_a_query_over_512_characters(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    listening = source(fake, http, clock)
    with pytest.raises(PublishError) as refused:
        await listening.search(" OR ".join(["outage"] * 80))
    assert not refused.value.transient and "512" in refused.value.message


async def test_a_sweep_splits_by_conversation_and_keeps_each_post_s_cursor(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    first, second = posts_of(fake, clock, 2)
    early = fake.add_reply(first.external_id, "down", username="ann", at=clock.advance(minutes=1))
    later = fake.add_reply(second.external_id, "me too", username="bob")
    listening = source(fake, http, clock)
    alone = await listening.replies_many([(second, None)])
    assert [h.external_id for h in alone.pages[2].items] == [later]
    assert alone.pages[2].cursor == later and fake.posts_read == 1

    # Together, since_id is the older cursor: the second post's reply is read again (X bills
    # it), dropped from its page and counted; each post goes on from the newest id read.
    both = await listening.replies_many([(first, None), (second, alone.pages[2].cursor)])
    assert [h.external_id for h in both.pages[1].items] == [early]
    assert both.pages[2].items == () and both.dropped == 1
    assert both.pages[1].cursor == both.pages[2].cursor == later
    assert fake.posts_read == 1 + 2 == 1 + sum(len(p.items) for p in both.pages.values()) + 1

    deep = fake.add_reply(early, "and again", username="cy")
    cursors = [(post, both.pages[n + 1].cursor) for n, post in enumerate((first, second))]
    latest = await listening.replies_many(cursors)
    assert [h.external_id for h in latest.pages[1].items] == [deep]
    assert latest.pages[1].items[0].in_reply_to == early and latest.pages[2].items == ()
    assert latest.dropped == 0 and fake.posts_read == 4


async def test_a_sweep_follows_pages_within_max_pages(
    fake: FakeX, http: HttpClient, clock: FakeClock
) -> None:
    first, second = posts_of(fake, clock, 2)
    for n in range(3):  # two a page (page_max=2)
        fake.add_reply(first.external_id, f"a{n}", username="ann", at=clock.advance(minutes=1))
    fake.add_reply(second.external_id, "b", username="bob", at=clock.advance(minutes=1))

    sweep = await source(fake, http, clock).replies_many([(first, None), (second, None)])
    assert [h.text for h in sweep.pages[1].items] == ["a0", "a1", "a2"]
    assert [h.text for h in sweep.pages[2].items] == ["b"]
    assert sweep.requests == 1 + 2  # the account, then two pages

    capped = await source(fake, http, clock, max_pages=1).replies_many([(first, None)])
    assert [h.text for h in capped.pages[1].items] == ["a1", "a2"]  # the oldest left unread


async def test_a_429_during_a_sweep_is_rate_limited_until_x_says(
    http: HttpClient, clock: FakeClock
) -> None:
    async with FakeX(now=seconds(clock), read_limit=1, read_window=900) as fake:
        assert isinstance(fake, FakeX)
        posts = posts_of(fake, clock, 3)
        listening = source(fake, http, clock)
        reset = clock.now().replace(microsecond=0) + timedelta(seconds=900)
        sweep = await listening.replies_many([(post, None) for post in posts])
        assert sweep.remaining == 0 and sweep.reset_at == reset
        with pytest.raises(PublishError) as limited:
            await listening.replies_many([(post, None) for post in posts])
        assert limited.value.rate_limited and limited.value.retry_at == reset
