"""Mastodon's reading side against a fake instance on 127.0.0.1: threads, mentions, search,
and the instance's limits and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import HeardKind
from bot.listening.sources.mastodon import MastodonSource, plain_text
from bot.ports import PublishError
from bot.publishing.http import HttpClient
from tests.clock import FakeClock
from tests.fakes.networks.mastodon import FakeMastodon
from tests.unit.listening.conftest import seconds, watched

TOKEN = "mastodon-test-token"


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeMastodon]:
    server = FakeMastodon(token=TOKEN, now=seconds(clock), page_max=2)
    await server.start()
    yield server
    await server.stop()


def source(
    fake: FakeMastodon,
    http: HttpClient,
    clock: FakeClock,
    *,
    token: str = TOKEN,
    max_pages: int = 5,
    page_size: int = 40,
) -> MastodonSource:
    return MastodonSource(
        http=http,
        base_url=fake.base_url,
        token=SecretStr(token),
        account="it",
        clock=clock,
        max_pages=max_pages,
        page_size=page_size,
    )


def crier_post(fake: FakeMastodon, clock: FakeClock) -> str:
    return str(fake.add_status("Wi-Fi is down in the library.", author="it", at=clock.now())["id"])


async def test_a_thread_is_read_whole_at_every_depth_and_then_only_what_is_new(
    fake: FakeMastodon, http: HttpClient, clock: FakeClock
) -> None:
    root = crier_post(fake, clock)
    first = fake.add_reply(root, "Still down in room 2", author="ann", at=clock.advance(minutes=1))
    nested = fake.add_reply(
        first["id"],
        "Same here",
        author="bob@mastodon.social",
        name="Bob",
        at=clock.advance(minutes=1),
    )
    deeper = fake.add_reply(
        nested["id"], "And here", author="cy@fosstodon.org", at=clock.advance(minutes=1)
    )
    fake.add_reply(root, "We're on it.", author="it", at=clock.advance(minutes=1))  # Crier's own
    listening = source(fake, http, clock)
    post = watched(Network.MASTODON, root, clock.now())

    page = await listening.replies(post)

    assert [h.text for h in page.items] == ["Still down in room 2", "Same here", "And here"]
    assert [h.author for h in page.items] == [
        f"@ann@{fake.base_url.removeprefix('http://')}",
        "@bob@mastodon.social",
        "@cy@fosstodon.org",
    ]
    assert page.items[1].author_name == "Bob"
    assert page.items[1].in_reply_to == first["id"]
    assert page.items[2].url == deeper["url"]
    assert {h.kind for h in page.items} == {HeardKind.REPLY}
    assert page.items[0].created_at == clock.now() - timedelta(minutes=3)
    assert page.requests == 1

    again = await listening.replies(post, since=page.cursor)
    assert again.items == () and again.cursor == page.cursor

    late = fake.add_reply(deeper["id"], "Back now", author="ann", at=clock.advance(minutes=5))
    newer = await listening.replies(post, since=page.cursor)
    assert [h.external_id for h in newer.items] == [late["id"]]


async def test_status_html_becomes_plain_text(
    fake: FakeMastodon, http: HttpClient, clock: FakeClock
) -> None:
    root = crier_post(fake, clock)
    content = (
        '<p><span class="h-card"><a href="https://x.example/@it" class="u-url mention">'
        "@<span>it</span></a></span> still down?<br />Since 2 &amp; counting &lt;sigh&gt;</p>"
        '<p>See <a href="https://status.example.edu/i/42"><span class="invisible">https://'
        '</span><span class="ellipsis">status.example.edu/i/</span><span class="invisible">42'
        "</span></a><script>alert(1)</script></p>"
    )
    fake.add_reply(root, "", content=content, author="ann", at=clock.advance(minutes=1))

    page = await source(fake, http, clock).replies(watched(Network.MASTODON, root, clock.now()))

    assert page.items[0].text == (
        "@it still down?\nSince 2 & counting <sigh>\n\nSee https://status.example.edu/i/42"
    )
    assert plain_text("<b>bold</b> &#128512; <img src=x onerror=y>") == "bold 😀"


async def test_mentions_are_read_across_pages_once_and_in_order(
    fake: FakeMastodon, http: HttpClient, clock: FakeClock
) -> None:
    listening = source(fake, http, clock)
    start = await listening.mentions()
    assert start.items == () and start.cursor == "0"

    texts = [f"is the VPN down? ({n})" for n in range(5)]
    for text in texts:
        fake.mention(text, author="ann", at=clock.advance(minutes=1))
    fake.notify("favourite", fake.add_status("liked", author="bob"))  # not a mention

    page = await listening.mentions(since=start.cursor)

    assert [h.text for h in page.items] == [f"@it {t}" for t in texts]
    assert {h.kind for h in page.items} == {HeardKind.MENTION}
    assert page.requests == 4  # three pages of at most 2, then the empty one that ends it
    repeat = await listening.mentions(since=page.cursor)
    assert repeat.items == () and repeat.requests == 1


async def test_a_burst_beyond_the_page_cap_is_read_by_the_next_polls(
    fake: FakeMastodon, http: HttpClient, clock: FakeClock
) -> None:
    for n in range(5):
        fake.mention(f"down ({n})", author="ann", at=clock.advance(minutes=1))
    listening = source(fake, http, clock, max_pages=2)

    first = await listening.mentions(since="0")
    second = await listening.mentions(since=first.cursor)

    assert [h.text for h in first.items] == [
        "@it down (0)",
        "@it down (1)",
        "@it down (2)",
        "@it down (3)",
    ]
    assert [h.text for h in second.items] == ["@it down (4)"]


async def test_search_finds_only_newer_statuses_and_an_instance_without_it_gives_nothing(
    fake: FakeMastodon, http: HttpClient, clock: FakeClock
) -> None:
    old = fake.add_status("wifi down again", author="ann", at=clock.advance(minutes=1))
    listening = source(fake, http, clock, page_size=2)
    first = await listening.search("WiFi")
    assert [h.external_id for h in first.items] == [old["id"]]

    for n in range(3):
        fake.add_status(f"wifi is out ({n})", author="bob", at=clock.advance(minutes=1))
    fake.add_status("lunch", author="bob")
    page = await listening.search("wifi", since=first.cursor)
    assert [h.text for h in page.items] == [f"wifi is out ({n})" for n in range(3)]
    assert page.requests == 2  # a full page of 2, then the older one reaches the cursor

    fake.search_enabled = False
    assert (await listening.search("wifi", since=page.cursor)).items == ()
    refused = await source(fake, http, clock, token="wrong").search("wifi")
    assert refused.items == () and refused.cursor is None


async def test_every_page_tells_the_instance_limit_and_a_429_waits_for_its_reset(
    http: HttpClient, clock: FakeClock
) -> None:
    async with FakeMastodon(token=TOKEN, now=seconds(clock), read_limit=2, read_window=300) as fake:
        assert isinstance(fake, FakeMastodon)
        root = crier_post(fake, clock)
        listening = source(fake, http, clock)
        post = watched(Network.MASTODON, root, clock.now())
        reset = clock.now().replace(microsecond=0) + timedelta(seconds=300)

        page = await listening.replies(post)
        assert page.remaining == 1 and page.reset_at == reset
        await listening.replies(post)

        with pytest.raises(PublishError) as limited:
            await listening.replies(post)
        assert limited.value.transient and limited.value.rate_limited
        assert limited.value.retry_at == reset

        clock.advance(seconds=301)
        assert (await listening.replies(post)).remaining == 1


async def test_a_server_error_is_transient_and_a_refused_token_permanent(
    fake: FakeMastodon, http: HttpClient, clock: FakeClock
) -> None:
    listening = source(fake, http, clock)
    fake.fail_next(503)
    with pytest.raises(PublishError) as broken:
        await listening.mentions(since="0")
    assert broken.value.transient and not broken.value.rate_limited

    fake.revoke_token("The access token was revoked")
    with pytest.raises(PublishError) as refused:
        await listening.mentions(since="0")
    assert not refused.value.transient
    assert "credentials" in refused.value.message and TOKEN not in refused.value.message


async def test_a_deleted_post_has_no_more_replies(
    fake: FakeMastodon, http: HttpClient, clock: FakeClock
) -> None:
    page = await source(fake, http, clock).replies(
        watched(Network.MASTODON, "999", clock.now()), since="5"
    )
    assert page.items == () and page.cursor == "5"
