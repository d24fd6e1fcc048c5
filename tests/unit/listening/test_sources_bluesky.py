"""Bluesky's reading side against the fake PDS (which also plays the AppView): threads at every
depth, notifications with the publisher's session, search, limits and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import HeardKind
from bot.listening.sources.bluesky import BlueskySource
from bot.ports import PublishError
from bot.publishing.bluesky_session import BlueskySession
from bot.publishing.http import HttpClient
from tests.clock import FakeClock
from tests.fakes.networks.bluesky import FakeBluesky
from tests.unit.listening.conftest import seconds, watched


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeBluesky]:
    server = FakeBluesky(now=seconds(clock), page_max=2)
    await server.start()
    yield server
    await server.stop()


def session(fake: FakeBluesky, http: HttpClient, clock: FakeClock) -> BlueskySession:
    password = SecretStr(fake.password)
    return BlueskySession(
        http=http, handle=fake.handle, password=password, base_url=fake.base_url, clock=clock
    )


def source(
    fake: FakeBluesky,
    http: HttpClient,
    clock: FakeClock,
    *,
    signed: bool = True,
    max_pages: int = 5,
) -> BlueskySource:
    return BlueskySource(
        http=http,
        appview_url=fake.base_url,
        session=session(fake, http, clock) if signed else None,
        clock=clock,
        max_pages=max_pages,
    )


def crier_post(fake: FakeBluesky, clock: FakeClock) -> str:
    """A post of Crier's own account, as the publisher leaves it in the PDS."""
    rkey = "3mcgbnyj22224"
    uri = f"at://{fake.did}/app.bsky.feed.post/{rkey}"
    stamp = clock.now().isoformat().replace("+00:00", "Z")
    record = {"$type": "app.bsky.feed.post", "text": "Wi-Fi is down.", "createdAt": stamp}
    fake.records[rkey] = {"uri": uri, "cid": "bafyreicrier", "value": record}
    return uri


async def test_a_thread_is_read_whole_without_signing_in_and_then_only_what_is_new(
    fake: FakeBluesky, http: HttpClient, clock: FakeClock
) -> None:
    root = crier_post(fake, clock)
    first = fake.add_reply(
        root, "Still down in Hall B", author="ann.bsky.social", at=clock.advance(minutes=1)
    )
    nested = fake.add_reply(
        first, "Same", author="bob.example.org", name="Bob", at=clock.advance(minutes=1)
    )
    deeper = fake.add_reply(
        nested, "Here too", author="cy.bsky.social", at=clock.advance(minutes=1)
    )
    fake.add_post("Thanks, we're on it", author=fake.handle, reply_to=first)  # Crier's own
    listening = source(fake, http, clock, signed=False)
    post = watched(Network.BLUESKY, root, clock.now())

    page = await listening.replies(post)

    assert [h.text for h in page.items] == ["Still down in Hall B", "Same", "Here too"]
    assert [h.author for h in page.items] == [
        "ann.bsky.social",
        "bob.example.org",
        "cy.bsky.social",
    ]
    assert page.items[1].author_name == "Bob" and page.items[1].in_reply_to == first
    assert {h.kind for h in page.items} == {HeardKind.REPLY}
    deepest = page.items[2]
    rkey = deeper.rsplit("/", 1)[-1]
    assert deepest.url == f"https://bsky.app/profile/cy.bsky.social/post/{rkey}"
    assert deepest.reply_ref == {
        "uri": deeper,
        "cid": fake.others[deeper]["cid"],
        "root_uri": root,
        "root_cid": "bafyreicrier",
    }
    assert deepest.created_at == clock.now().replace(microsecond=0) - timedelta(seconds=0)
    assert not any(r.method == "POST" for r in fake.received)  # no sign-in for a thread

    assert (await listening.replies(post, since=page.cursor)).items == ()
    # A reply indexed in the same millisecond as the newest one read is still new.
    tied = fake.add_reply(root, "Tied", author="dee.bsky.social", at=clock.now())
    later = await listening.replies(post, since=page.cursor)
    assert [h.external_id for h in later.items] == [tied]


async def test_notifications_are_read_across_pages_with_the_shared_session(
    fake: FakeBluesky, http: HttpClient, clock: FakeClock
) -> None:
    root = crier_post(fake, clock)
    listening = source(fake, http, clock)
    start = await listening.mentions()
    assert start.items == () and start.cursor is not None

    fake.mention("is eduroam down?", author="ann.bsky.social", at=clock.advance(minutes=1))
    fake.add_reply(root, "yes, in Hall B", author="bob.bsky.social", at=clock.advance(minutes=1))
    fake.notify("like", fake.add_post("liked it", author="cy.bsky.social"))
    fake.notify(
        "quote",
        fake.add_post("look: down again", author="dee.bsky.social", at=clock.advance(minutes=1)),
    )
    fake.mention("still down", author="ann.bsky.social", at=clock.advance(minutes=1))

    page = await listening.mentions(since=start.cursor)

    assert [h.text for h in page.items] == [
        f"@{fake.handle} is eduroam down?",
        "yes, in Hall B",
        "look: down again",
        f"@{fake.handle} still down",
    ]
    assert [h.kind for h in page.items] == [
        HeardKind.MENTION,
        HeardKind.REPLY,
        HeardKind.MENTION,
        HeardKind.MENTION,
    ]
    assert page.requests == 2  # pages of 2, newest first, down to the last page
    assert fake.sessions_created == 1
    again = await listening.mentions(since=page.cursor)
    assert again.items == () and again.requests == 1
    assert fake.sessions_created == 1  # the session is kept

    assert (await source(fake, http, clock, signed=False).mentions()).requests == 0


async def test_search_is_newest_first_back_to_the_cursor_and_refused_search_is_empty(
    fake: FakeBluesky, http: HttpClient, clock: FakeClock
) -> None:
    fake.add_post("wifi down", author="ann.bsky.social", at=clock.advance(minutes=1))
    listening = source(fake, http, clock, signed=False)
    first = await listening.search("WiFi")
    assert [h.text for h in first.items] == ["wifi down"]

    for n in range(3):
        fake.add_post(f"wifi out ({n})", author="bob.bsky.social", at=clock.advance(minutes=1))
    page = await listening.search("wifi", since=first.cursor)
    assert [h.text for h in page.items] == [f"wifi out ({n})" for n in range(3)]

    fake.search_public = False
    refused = await listening.search("wifi", since=page.cursor)
    assert refused.items == () and refused.cursor == page.cursor
    signed = await source(fake, http, clock).search("wifi", since=first.cursor)
    assert len(signed.items) == 3


async def test_the_appview_limit_is_read_and_a_429_waits_for_its_reset(
    http: HttpClient, clock: FakeClock
) -> None:
    async with FakeBluesky(now=seconds(clock), read_limit=1, read_window=300) as fake:
        assert isinstance(fake, FakeBluesky)
        post = watched(Network.BLUESKY, crier_post(fake, clock), clock.now())
        listening = source(fake, http, clock, signed=False)
        reset = clock.now().replace(microsecond=0) + timedelta(seconds=300)

        page = await listening.replies(post)
        assert page.remaining == 0 and page.reset_at == reset
        with pytest.raises(PublishError) as limited:
            await listening.replies(post)
        assert limited.value.rate_limited and limited.value.retry_at == reset


async def test_a_server_error_is_transient_and_a_refused_password_permanent(
    fake: FakeBluesky, http: HttpClient, clock: FakeClock
) -> None:
    post = watched(Network.BLUESKY, crier_post(fake, clock), clock.now())
    fake.fail_next(502)
    with pytest.raises(PublishError) as broken:
        await source(fake, http, clock, signed=False).replies(post)
    assert broken.value.transient

    listening = source(fake, http, clock)
    fake.password = "changed-password"
    with pytest.raises(PublishError) as refused:
        await listening.mentions()
    assert not refused.value.transient and "credentials" in refused.value.message


async def test_an_expired_access_token_is_refreshed_once(
    fake: FakeBluesky, http: HttpClient, clock: FakeClock
) -> None:
    listening = source(fake, http, clock)
    await listening.mentions()
    fake.expire_access_tokens()
    await listening.mentions()
    assert (fake.sessions_created, fake.sessions_refreshed) == (1, 1)


async def test_a_deleted_post_has_no_more_replies(
    fake: FakeBluesky, http: HttpClient, clock: FakeClock
) -> None:
    gone = watched(Network.BLUESKY, f"at://{fake.did}/app.bsky.feed.post/3zzz", datetime.now(UTC))
    assert (await source(fake, http, clock, signed=False).replies(gone)).items == ()
