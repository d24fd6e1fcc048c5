"""Bluesky: the publisher against a fake PDS on 127.0.0.1, then through the core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.bluesky import BlueskyPublisher, build, record_key
from bot.publishing.cards import alt_text, card_facts, render_card
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.bluesky import TID, FakeBluesky

PASSWORD = "abcd-efgh-ijkl-mnop"
TEXT = "Blackboard: students cannot sign in. We're investigating. 2:45 PM EST"


@pytest.fixture
async def pds() -> AsyncIterator[FakeBluesky]:
    server = FakeBluesky(password=PASSWORD)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def publisher(
    pds: FakeBluesky, http: HttpClient, password: str = PASSWORD, clock: FakeClock | None = None
) -> BlueskyPublisher:
    return BlueskyPublisher(
        http=http,
        handle=pds.handle,
        password=SecretStr(password),
        base_url=pds.base_url,
        clock=clock,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed_pds(clock: FakeClock) -> AsyncIterator[FakeBluesky]:
    """A PDS on the test's clock: its access tokens expire when the clock passes two hours."""
    server = FakeBluesky(password=PASSWORD, now=lambda: clock.now().timestamp())
    await server.start()
    yield server
    await server.stop()


async def signed_in(pds: FakeBluesky, http: HttpClient) -> BlueskyPublisher:
    """A publisher with a session (faults then hit the post itself)."""
    made = publisher(pds, http)
    assert (await made.check()).ready
    return made


def post(text: str = TEXT, *, key: str = "key-1", reply_to: str | None = None) -> PublishRequest:
    return PublishRequest(
        network=Network.BLUESKY,
        text=text,
        idempotency_key=key,
        incident_id=1,
        post_kind="initial",
        status="investigating",
        service="Blackboard",
        title="Blackboard: students cannot sign in",
        reply_to=reply_to,
    )


def creates(pds: FakeBluesky) -> int:
    return sum(r.path.endswith("createRecord") for r in pds.received)


# ----- posting -----------------------------------------------------------------------------


async def test_signs_in_then_creates_a_post_under_its_own_record_key(
    pds: FakeBluesky, http: HttpClient
) -> None:
    published = await publisher(pds, http).publish(post())

    session, create = pds.received
    assert session.body == {"identifier": "it.example.edu", "password": PASSWORD}
    assert create.headers["Authorization"].startswith("Bearer access-")
    rkey = record_key("key-1")
    assert create.body["repo"] == pds.did
    assert create.body["collection"] == "app.bsky.feed.post"
    assert create.body["rkey"] == rkey and TID.match(rkey)
    record = create.body["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == TEXT
    assert datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
    assert published.external_id == f"at://{pds.did}/app.bsky.feed.post/{rkey}"
    assert published.url == f"https://bsky.app/profile/it.example.edu/post/{rkey}"


async def test_the_record_key_is_a_tid_from_the_delivery_and_never_changes() -> None:
    made = datetime(2026, 1, 15, 19, 45, tzinfo=UTC)
    key = record_key("crier:1:1:bluesky", made)
    assert TID.match(key) and key == record_key("crier:1:1:bluesky", made)
    assert key != record_key("crier:1:2:bluesky", made)
    assert key != record_key("crier:1:1:bluesky", made + timedelta(days=1))  # a new database
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = 0
    for char in key:
        value = value * 32 + alphabet.index(char)
    assert datetime.fromtimestamp((value >> 10) / 1e6, UTC) == made


async def test_a_link_after_non_ascii_text_gets_a_facet_in_utf8_bytes(
    pds: FakeBluesky, http: HttpClient
) -> None:
    link = "https://it.example.edu/help/wifi"
    text = f"Café Wi-Fi ☕ — «eduroam» est en panne. Aide : {link}. #ITStatus"
    await publisher(pds, http).publish(post(text))

    [record] = pds.posts
    link_facet, tag_facet = record["facets"]
    raw = text.encode()
    index = link_facet["index"]
    assert raw[index["byteStart"] : index["byteEnd"]].decode() == link
    assert index["byteStart"] == len(text[: text.index(link)].encode()) != text.index(link)
    assert link_facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": link}]
    index = tag_facet["index"]
    assert raw[index["byteStart"] : index["byteEnd"]].decode() == "#ITStatus"
    assert tag_facet["features"][0]["tag"] == "ITStatus"


async def test_a_thread_of_three_updates_has_one_root_and_chained_parents(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = publisher(pds, http)
    first = await made.publish(post("Investigating.", key="k1"))
    second = await made.publish(post("Identified.", key="k2", reply_to=first.external_id))
    third = await made.publish(post("Resolved.", key="k3", reply_to=second.external_id))

    records = {entry["uri"]: entry for entry in pds.records.values()}
    root = {"uri": first.external_id, "cid": records[first.external_id]["cid"]}
    assert "reply" not in records[first.external_id]["value"]
    assert records[second.external_id]["value"]["reply"] == {"root": root, "parent": root}
    parent = {"uri": second.external_id, "cid": records[second.external_id]["cid"]}
    assert records[third.external_id]["value"]["reply"] == {"root": root, "parent": parent}


async def test_a_reply_to_something_that_is_not_a_post_goes_out_on_its_own(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = publisher(pds, http)
    await made.publish(post(key="k1", reply_to="outbox-7"))  # posted while in dry run
    await made.publish(post("Gone.", key="k2", reply_to=f"at://{pds.did}/app.bsky.feed.post/x"))
    assert all("reply" not in record for record in pds.posts)


# ----- the session -------------------------------------------------------------------------


async def test_one_session_serves_many_posts_and_is_refreshed_when_it_expires(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = publisher(pds, http)
    await made.publish(post(key="k1"))
    await made.publish(post("Second.", key="k2"))
    assert pds.sessions_created == 1

    pds.expire_access_tokens()
    await made.publish(post("Third.", key="k3"))
    assert (pds.sessions_created, pds.sessions_refreshed) == (1, 1)

    pds.expire_access_tokens()
    pds.revoke_refresh_tokens()
    await made.publish(post("Fourth.", key="k4"))
    assert (pds.sessions_created, pds.sessions_refreshed) == (2, 1)
    assert len(pds.posts) == 4


async def test_posts_at_once_share_one_sign_in_and_one_refresh(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = publisher(pds, http)
    await asyncio.gather(*(made.publish(post(f"Post {n}.", key=f"a{n}")) for n in range(3)))
    pds.expire_access_tokens()
    await asyncio.gather(*(made.publish(post(f"Later {n}.", key=f"b{n}")) for n in range(3)))
    assert (pds.sessions_created, pds.sessions_refreshed) == (1, 1)
    assert len(pds.posts) == 6


async def test_fifty_posts_at_once_cost_one_login_and_an_expired_token_one_refresh(
    timed_pds: FakeBluesky, http: HttpClient, clock: FakeClock
) -> None:
    made = publisher(timed_pds, http, clock=clock)
    await asyncio.gather(*(made.publish(post(f"Post {n}.", key=f"p{n}")) for n in range(50)))
    assert len(timed_pds.posts) == 50
    assert len(timed_pds.session_attempts) == timed_pds.sessions_created == 1

    clock.advance(hours=2, seconds=1)  # the access token has expired on the PDS
    await asyncio.gather(*(made.publish(post(f"Later {n}.", key=f"q{n}")) for n in range(5)))
    assert (timed_pds.sessions_created, timed_pds.sessions_refreshed) == (1, 1)
    assert len(timed_pds.session_attempts) == 1 and len(timed_pds.posts) == 55


async def test_the_fake_limits_create_session_like_the_pds_with_ratelimit_headers(
    http: HttpClient, clock: FakeClock
) -> None:
    async with FakeBluesky(
        password=PASSWORD, session_limits=((2, 300.0),), now=lambda: clock.now().timestamp()
    ) as pds:
        url = f"{pds.base_url}/xrpc/com.atproto.server.createSession"
        login = {"identifier": pds.handle, "password": PASSWORD}
        answers = [await http.send("POST", url, network="t", json=login) for _ in range(3)]
    first, _, refused = answers
    assert first.status == 200 and first.headers["ratelimit-remaining"] == "1"
    assert refused.status == 429 and refused.body["error"] == "RateLimitExceeded"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-limit"] == "2"
    assert refused.headers["ratelimit-policy"] == "2;w=300"
    assert int(refused.headers["ratelimit-reset"]) == int(clock.now().timestamp()) + 300


async def test_the_login_limit_is_transient_until_ratelimit_reset_and_not_tried_meanwhile(
    http: HttpClient, clock: FakeClock
) -> None:
    async with FakeBluesky(
        password=PASSWORD, session_limits=((2, 300.0),), now=lambda: clock.now().timestamp()
    ) as pds:
        for _ in range(2):  # two earlier processes (restarts) each signed in
            assert (await publisher(pds, http, clock=clock).check()).ready
        clock.advance(seconds=40)
        made = publisher(pds, http, clock=clock)
        with pytest.raises(PublishError) as limited:
            await made.publish(post())
        error = limited.value
        assert error.transient and error.rate_limited and not error.maybe_sent
        assert "RateLimitExceeded" in error.message
        reset = datetime.fromtimestamp(pds.session_attempts[0] + 300, UTC)
        assert error.retry_at == reset

        # Until the reset, posts fail at once with the same time, without asking the PDS.
        results = await asyncio.gather(
            *(made.publish(post(f"Post {n}.", key=f"w{n}")) for n in range(5)),
            return_exceptions=True,
        )
        assert all(isinstance(r, PublishError) and r.retry_at == reset for r in results)
        assert len(pds.session_attempts) == 3

        clock.advance(seconds=300)
        await asyncio.gather(*(made.publish(post(f"Post {n}.", key=f"w{n}")) for n in range(5)))
        assert len(pds.session_attempts) == 4 and pds.sessions_created == 3
        assert len(pds.posts) == 5


async def test_the_core_built_publisher_waits_for_the_login_limit_on_the_cores_clock(
    store: Store, http: HttpClient, clock: FakeClock
) -> None:
    """``ratelimit-reset`` is read on the clock the worker waits on: a Bluesky built by the core
    does not sign in again before it (nor wait for it forever on another clock)."""
    async with FakeBluesky(
        password=PASSWORD, session_limits=((1, 300.0),), now=lambda: clock.now().timestamp()
    ) as pds:
        assert (await publisher(pds, http, clock=clock).check()).ready  # an earlier process
        core = core_on(store, pds, clock)
        try:
            bluesky = core.publishers[Network.BLUESKY]
            reset = datetime.fromtimestamp(pds.session_attempts[0] + 300, UTC)
            for _ in range(2):
                with pytest.raises(PublishError) as limited:
                    await bluesky.publish(post())
                assert limited.value.rate_limited and limited.value.retry_at == reset
            assert len(pds.session_attempts) == 2  # the second post did not ask again
            clock.advance(seconds=300)
            await bluesky.publish(post())
            assert len(pds.session_attempts) == 3 and len(pds.posts) == 1
        finally:
            await core.close()


async def test_a_wrong_app_password_is_permanent_with_blueskys_words_and_no_secret(
    pds: FakeBluesky, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as refused:
        await publisher(pds, http, password="wrong-app-password").publish(post())
    assert not refused.value.transient
    assert "AuthenticationRequired: Invalid identifier or password" in refused.value.message
    assert "wrong-app-password" not in refused.value.message
    assert pds.posts == []


# ----- the status card ---------------------------------------------------------------------


async def test_attach_card_embeds_the_card_with_its_alt_text(
    pds: FakeBluesky, http: HttpClient, tmp_path: Path, clock: FakeClock
) -> None:
    made = BlueskyPublisher(
        http=http,
        handle=pds.handle,
        password=SecretStr(PASSWORD),
        base_url=pds.base_url,
        clock=clock,
        attach_card=True,
        config=make_config(),
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'crier.db'}"),
    )
    await made.publish(post())

    facts = card_facts(post(), config=make_config(), at=clock.now())
    [blob] = pds.blobs.values()
    assert blob["data"] == render_card(facts) and blob["mimeType"] == "image/png"
    upload = next(r for r in pds.received if r.path.endswith("uploadBlob"))
    assert upload.headers["Content-Type"] == "image/png"
    assert upload.headers["Authorization"].startswith("Bearer access-")
    [record] = pds.posts
    [image] = record["embed"]["images"]
    assert record["embed"]["$type"] == "app.bsky.embed.images"
    assert image["alt"] == alt_text(facts) and "Blackboard, Investigating" in image["alt"]
    assert image["aspectRatio"] == {"width": 1080, "height": 1080}
    assert image["image"]["ref"]["$link"] in pds.blobs and record["text"] == TEXT
    assert pds.sessions_created == 1


async def test_without_attach_card_no_image_is_uploaded(pds: FakeBluesky, http: HttpClient) -> None:
    await publisher(pds, http).publish(post())
    assert pds.blobs == {} and "embed" not in pds.posts[0]


# ----- duplicates: one record key, one post ------------------------------------------------


async def test_a_lost_answer_then_a_retry_finds_the_record_instead_of_posting_again(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = await signed_in(pds, http)
    pds.lose_answer_next()
    with pytest.raises(PublishError) as lost:
        await made.publish(post())
    assert lost.value.transient and lost.value.maybe_sent and made.idempotent

    published = await made.publish(post())  # the PDS refuses the key: 500, as it does today
    assert creates(pds) == 2 and len(pds.records) == 1
    assert published.external_id == next(iter(pds.records.values()))["uri"]


async def test_a_named_already_exists_error_is_handled_the_same_way(
    pds: FakeBluesky, http: HttpClient
) -> None:
    pds.duplicate_answer = "named"
    made = publisher(pds, http)
    first = await made.publish(post())
    assert await made.publish(post()) == first
    assert len(pds.records) == 1


async def test_a_different_post_under_the_same_key_is_refused_not_claimed(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = publisher(pds, http)
    await made.publish(post("An older incident's post."))
    with pytest.raises(PublishError) as clash:
        await made.publish(post("This incident's post."))
    assert not clash.value.transient
    assert "different post under record key" in clash.value.message
    assert len(pds.records) == 1


# ----- faults ------------------------------------------------------------------------------


async def test_a_server_error_is_transient_when_nothing_was_made(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = await signed_in(pds, http)
    pds.fail_next(502, {"error": "UpstreamFailure", "message": "Upstream Failure"})
    with pytest.raises(PublishError) as failed:
        await made.publish(post())
    assert failed.value.transient
    assert "UpstreamFailure" in failed.value.message
    assert pds.records == {}


async def test_throttling_retries_at_the_ratelimit_reset(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = await signed_in(pds, http)
    pds.rate_limit_next(reset_in=300)
    with pytest.raises(PublishError) as throttled:
        await made.publish(post())
    assert throttled.value.transient
    assert "RateLimitExceeded" in throttled.value.message
    assert throttled.value.retry_at is not None
    expected = datetime.now(UTC) + timedelta(seconds=300)
    assert abs((throttled.value.retry_at - expected).total_seconds()) < 5


async def test_a_time_out_is_transient_and_may_have_posted(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = await signed_in(pds, http)
    pds.timeout_next()
    with pytest.raises(PublishError) as slow:
        await made.publish(post())
    assert slow.value.transient and slow.value.maybe_sent


async def test_a_dropped_connection_is_transient(pds: FakeBluesky, http: HttpClient) -> None:
    made = await signed_in(pds, http)
    pds.drop_next()
    with pytest.raises(PublishError) as dropped:
        await made.publish(post())
    assert dropped.value.transient and dropped.value.maybe_sent


async def test_more_than_300_graphemes_is_refused_before_sending(
    pds: FakeBluesky, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as refused:
        await publisher(pds, http).publish(post("a" * 301))
    assert not refused.value.transient and "301/300 graphemes" in refused.value.message
    assert creates(pds) == 0


async def test_more_than_3000_bytes_is_refused_before_sending(
    pds: FakeBluesky, http: HttpClient
) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 1 grapheme, 25 bytes
    text = "Blackboard is back for everyone, thanks" + family * 120  # 159 graphemes, 3039 bytes
    with pytest.raises(PublishError) as refused:
        await publisher(pds, http).publish(post(text))
    assert not refused.value.transient and "3039/3000 UTF-8 bytes" in refused.value.message
    assert creates(pds) == 0


async def test_the_pds_validation_is_permanent_with_its_message(
    pds: FakeBluesky, http: HttpClient
) -> None:
    made = await signed_in(pds, http)
    pds.fail_next(  # what a real PDS answered a text Crier once let through
        400,
        {
            "error": "InvalidRequest",
            "message": "Invalid app.bsky.feed.post record: string too big (maximum 3000, got 3039)",
        },
    )
    with pytest.raises(PublishError) as invalid:
        await made.publish(post())
    assert not invalid.value.transient
    assert "InvalidRequest: Invalid app.bsky.feed.post record" in invalid.value.message


# ----- build and check ---------------------------------------------------------------------


def channels_with(network: str, **settings: object) -> dict[str, object]:
    channels: dict[str, object] = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    return {**channels, network: {"enabled": True, **settings}}


def context(store: Store, credentials: NetworkCredentials, **channel: object) -> PublisherContext:
    config = make_config(channels=channels_with("bluesky", **channel))
    return PublisherContext(
        network=Network.BLUESKY,
        channel=config.channels[Network.BLUESKY],
        credentials=credentials,
        http=HttpClient(redact=Redactor([])),
        settings=Settings(),
        config=config,
        store=store,
    )


async def test_build_needs_the_app_password_and_the_handle(store: Store) -> None:
    password = NetworkCredentials(bluesky_app_password=SecretStr(PASSWORD))
    without = NetworkCredentials(bluesky_app_password=None)
    assert build(context(store, without, account="it.example.edu")) is None
    assert build(context(store, password)) is None
    built = build(context(store, password, account="@it.example.edu"))
    assert built is not None and built.label == "Bluesky (@it.example.edu)"
    assert not built.attaches_card
    carded = build(context(store, password, account="it.example.edu", attach_card=True))
    assert carded is not None and carded.attaches_card


async def test_check_signs_in_and_then_uses_the_session(pds: FakeBluesky, http: HttpClient) -> None:
    made = publisher(pds, http)
    assert (await made.check()).detail == "posting as @it.example.edu"
    assert (await made.check()).ready
    assert pds.sessions_created == 1 and pds.posts == []


async def test_check_reports_a_refused_password_as_expired(
    pds: FakeBluesky, http: HttpClient
) -> None:
    checked = await publisher(pds, http, password="revoked-password").check()
    assert checked.state == "expired"
    assert "Invalid identifier or password" in checked.detail
    assert "revoked-password" not in checked.detail


async def test_check_reports_an_unreachable_pds(http: HttpClient) -> None:
    made = BlueskyPublisher(
        http=http, handle="it.example.edu", password=SecretStr("x"), base_url="http://127.0.0.1:9"
    )
    assert (await made.check()).state == "unreachable"


# ----- through the core --------------------------------------------------------------------


async def test_declare_approve_publish_then_a_retried_delivery_does_not_post_twice(
    store: Store, pds: FakeBluesky
) -> None:
    clock = FakeClock()
    core = core_on(store, pds, clock)
    try:
        bluesky = core.publishers[Network.BLUESKY]
        assert isinstance(bluesky, BlueskyPublisher)
        draft = await core.declare(
            Actor("slack", ANALYST),
            DeclareRequest(
                service="Blackboard", summary="cannot log in", channels=(Network.BLUESKY,)
            ),
        )
        await core.approve(Actor("slack", APPROVER), draft.post.id)
        assert (await bluesky.check()).ready
        pds.lose_answer_next()  # the PDS keeps the record; Crier never hears back

        await core.publishing.run_once()
        with store.transaction() as session:
            delivery = session.exec(select(Delivery)).one()
        assert delivery.state == DeliveryState.RETRYING

        clock.advance(minutes=1)
        await core.publishing.run_once()
        with store.transaction() as session:
            delivery = session.exec(select(Delivery)).one()
    finally:
        await core.close()

    [(rkey, entry)] = pds.records.items()
    assert creates(pds) == 2
    assert entry["value"]["text"] == delivery.text and "cannot log in" in entry["value"]["text"]
    assert rkey == record_key(delivery.idempotency_key, delivery.created_at)
    assert delivery.state == DeliveryState.SENT
    assert delivery.external_id == entry["uri"]
    assert delivery.url == f"https://bsky.app/profile/it.example.edu/post/{rkey}"


def core_on(store: Store, pds: FakeBluesky, clock: FakeClock) -> Core:
    """A whole core whose Bluesky channel is ``pds``, on ``clock``."""
    config = make_config(
        channels=channels_with("bluesky", base_url=pds.base_url, account=pds.handle)
    )
    return build_core(
        settings=Settings(),
        config=config,
        store=store,
        clock=clock,
        credentials=NetworkCredentials(bluesky_app_password=SecretStr(PASSWORD)),
    )
