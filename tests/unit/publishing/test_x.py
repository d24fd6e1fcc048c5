"""X: the publisher against a fake X API on 127.0.0.1, then through the core end to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import col, select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest, ResolveRequest, UpdateRequest
from bot.ports import Actor, Publisher, PublishError, PublishRequest, SystemClock
from bot.publishing import PublisherContext
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.outbox import OutboxPublisher
from bot.publishing.x import BearerAuth, OAuth1Auth, XPublisher, build
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import AuditEvent, Delivery, DeliveryState, IncidentStatus
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.x import DUPLICATE, FakeX

TEXT = "Blackboard: students cannot sign in. We are investigating. 2:45 PM EST"
OAUTH1 = {
    "x_api_key": SecretStr("x-api-key"),
    "x_api_secret": SecretStr("x-api-secret"),
    "x_access_token": SecretStr("x-access-token"),
    "x_access_token_secret": SecretStr("x-access-secret"),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def x_publisher(
    fake: FakeX, http: HttpClient, *, handle: str | None = "northfieldit", **kwargs: object
) -> XPublisher:
    auth = kwargs.pop("auth", BearerAuth(SecretStr("x-user-token")))
    return XPublisher(http=http, auth=auth, base_url=fake.base_url, handle=handle, **kwargs)  # type: ignore[arg-type]


def post(text: str = TEXT, *, reply_to: str | None = None) -> PublishRequest:
    return PublishRequest(
        network=Network.X,
        text=text,
        idempotency_key="key-1",
        incident_id=1,
        post_kind="initial",
        status="investigating",
        service="Blackboard",
        title="Blackboard: students cannot sign in",
        reply_to=reply_to,
    )


# ----- posting -----------------------------------------------------------------------------


async def test_posts_the_text_with_the_user_token_and_links_the_post(
    fake: FakeX, http: HttpClient
) -> None:
    published = await x_publisher(fake, http).publish(post())

    [sent] = [r for r in fake.received if r.path == "/2/tweets"]
    assert sent.method == "POST" and sent.headers["Authorization"] == "Bearer x-user-token"
    assert sent.body == {"text": TEXT}
    assert published.external_id in fake.tweets
    assert published.url == f"https://x.com/northfieldit/status/{published.external_id}"


async def test_without_a_handle_the_link_is_x_generic_one(fake: FakeX, http: HttpClient) -> None:
    published = await x_publisher(fake, http, handle=None).publish(post())
    assert published.url == f"https://x.com/i/web/status/{published.external_id}"
    assert x_publisher(fake, http, handle="@northfieldit").label == "X (@northfieldit)"


async def test_oauth1_user_context_is_signed_and_the_fake_verifies_the_signature(
    fake: FakeX, http: HttpClient
) -> None:
    auth = OAuth1Auth(
        api_key=OAUTH1["x_api_key"],
        api_secret=OAUTH1["x_api_secret"],
        access_token=OAUTH1["x_access_token"],
        access_token_secret=OAUTH1["x_access_token_secret"],
    )
    publisher = x_publisher(fake, http, auth=auth)
    first = await publisher.publish(post())
    second = await publisher.publish(
        post("Blackboard: still investigating.", reply_to=first.external_id)
    )
    assert len(fake.tweets) == 2
    header = fake.received[-1].headers["Authorization"]
    assert header.startswith("OAuth ") and 'oauth_signature_method="HMAC-SHA1"' in header
    assert "x-api-secret" not in header and "x-access-secret" not in header
    assert fake.tweets[second.external_id]["in_reply_to"] == first.external_id


async def test_a_wrong_oauth1_secret_is_refused_for_good(fake: FakeX, http: HttpClient) -> None:
    auth = OAuth1Auth(
        api_key=OAUTH1["x_api_key"],
        api_secret=SecretStr("not-the-secret"),
        access_token=OAUTH1["x_access_token"],
        access_token_secret=OAUTH1["x_access_token_secret"],
    )
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http, auth=auth).publish(post())
    assert not caught.value.transient and "401" in caught.value.message
    assert "not-the-secret" not in caught.value.message
    assert fake.tweets == {}


async def test_a_thread_of_three_updates_replies_to_each_previous_post(
    fake: FakeX, http: HttpClient
) -> None:
    publisher = x_publisher(fake, http)
    first = await publisher.publish(post("Blackboard is down. 2:45 PM EST"))
    second = await publisher.publish(post("Cause found. 3:15 PM EST", reply_to=first.external_id))
    third = await publisher.publish(post("Fixed. 3:40 PM EST", reply_to=second.external_id))

    replies = [r.body.get("reply") for r in fake.received if r.path == "/2/tweets"]
    assert replies == [
        None,
        {"in_reply_to_tweet_id": first.external_id},
        {"in_reply_to_tweet_id": second.external_id},
    ]
    assert fake.tweets[third.external_id]["in_reply_to"] == second.external_id


async def test_a_reply_to_a_deleted_post_is_posted_on_its_own(
    fake: FakeX, http: HttpClient
) -> None:
    published = await x_publisher(fake, http).publish(post(reply_to="1234567890"))
    assert fake.tweets[published.external_id]["in_reply_to"] is None
    assert len(fake.tweets) == 1


# ----- faults ------------------------------------------------------------------------------


async def test_a_server_error_is_transient(fake: FakeX, http: HttpClient) -> None:
    fake.fail_next(503, {"title": "Service Unavailable", "detail": "Service Unavailable"})
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http).publish(post())
    assert caught.value.transient and not caught.value.maybe_sent
    assert "503" in caught.value.message


async def test_429_retries_at_x_rate_limit_reset(fake: FakeX, http: HttpClient) -> None:
    fake.rate_limit_next(reset_in=40)
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http).publish(post())
    error = caught.value
    assert error.transient and error.retry_at is not None
    expected = datetime.now(UTC) + timedelta(seconds=40)
    assert abs((error.retry_at - expected).total_seconds()) <= 2
    assert "Too Many Requests" in error.message


async def test_429_for_the_daily_cap_waits_for_the_daily_reset(
    fake: FakeX, http: HttpClient
) -> None:
    now = int(time.time())
    fake.fail_next(
        429,
        {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
        headers={
            "x-rate-limit-reset": str(now + 60),
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(now + 5000),
        },
    )
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http).publish(post())
    assert caught.value.retry_at == datetime.fromtimestamp(now + 5000, UTC)


async def test_a_time_out_is_transient_and_maybe_sent(fake: FakeX, http: HttpClient) -> None:
    fake.timeout_next()
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http).publish(post())
    assert caught.value.transient and caught.value.maybe_sent


async def test_a_dropped_connection_is_transient_and_maybe_sent(
    fake: FakeX, http: HttpClient
) -> None:
    fake.drop_next()
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http).publish(post())
    assert caught.value.transient and caught.value.maybe_sent


async def test_an_expired_token_is_permanent_with_x_own_words_and_no_secret(
    fake: FakeX, http: HttpClient
) -> None:
    fake.expired = True
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http).publish(post())
    assert not caught.value.transient and not caught.value.maybe_sent
    assert "Unauthorized" in caught.value.message and "401" in caught.value.message
    assert "x-user-token" not in caught.value.message


async def test_an_over_long_text_is_refused_before_sending(fake: FakeX, http: HttpClient) -> None:
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http).publish(post("é" * 300))
    assert not caught.value.transient and "280" in caught.value.message
    assert fake.received == []


async def test_x_itself_refuses_an_over_long_text_as_validation(
    fake: FakeX, http: HttpClient
) -> None:
    # A channel configured for longer posts than the account has: X's own refusal is permanent.
    with pytest.raises(PublishError) as caught:
        await x_publisher(fake, http, max_characters=1000).publish(post("a" * 300))
    assert not caught.value.transient and "400" in caught.value.message
    assert "too long" in caught.value.message


async def test_duplicate_content_means_the_post_is_probably_up(
    fake: FakeX, http: HttpClient
) -> None:
    publisher = x_publisher(fake, http)
    await publisher.publish(post())
    with pytest.raises(PublishError) as caught:
        await publisher.publish(post())  # a retry of a post whose answer was lost
    assert caught.value.maybe_sent and not caught.value.transient
    assert "duplicate" in caught.value.message and DUPLICATE in caught.value.message
    assert len(fake.tweets) == 1


async def test_the_windowed_limit_answers_429_until_the_window_ends(
    http: HttpClient,
) -> None:
    async with FakeX(window_limit=3, window_seconds=2) as fake:
        publisher = x_publisher(fake, http)
        for n in range(3):
            await publisher.publish(post(f"Update {n}"))
        with pytest.raises(PublishError) as caught:
            await publisher.publish(post("Update 3"))
        limited = fake.received[-1]
        assert caught.value.transient and caught.value.retry_at is not None
        assert fake.rate_limited == 1 and len(fake.tweets) == 3
        reset = caught.value.retry_at.timestamp()
        assert reset == int(reset) and 0 < reset - time.time() <= 2
        await asyncio.sleep(reset - time.time() + 0.05)
        await publisher.publish(post("Update 3"))
        assert len(fake.tweets) == 4 and limited.path == "/2/tweets"


async def test_every_answer_carries_the_rate_limit_headers(fake: FakeX) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.base_url}/2/tweets",
            json={"text": "hello"},
            headers={"Authorization": "Bearer x-user-token"},
        ) as answer,
    ):
        assert answer.status == 201
        assert answer.headers["x-rate-limit-limit"] == "200"
        assert answer.headers["x-rate-limit-remaining"] == "199"
        assert int(answer.headers["x-rate-limit-reset"]) > time.time()


# ----- build and check ---------------------------------------------------------------------


def context(
    store: Store, http: HttpClient, credentials: NetworkCredentials, **channel: object
) -> PublisherContext:
    config = make_config(channels=channels_with("x", **channel))
    return PublisherContext(
        network=Network.X,
        channel=config.channels[Network.X],
        credentials=credentials,
        http=http,
        settings=Settings(),
        config=config,
        store=store,
    )


def channels_with(network: str, **channel: object) -> dict[str, object]:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels[network] = {"enabled": True, **channel}
    return channels


def test_build_needs_credentials(store: Store) -> None:
    http = HttpClient(redact=Redactor([]))
    assert build(context(store, http, NetworkCredentials())) is None
    partial = NetworkCredentials(x_api_key=SecretStr("k"), x_api_secret=SecretStr("s"))
    assert build(context(store, http, partial)) is None
    assert isinstance(build(context(store, http, NetworkCredentials(**OAUTH1)))._auth, OAuth1Auth)  # type: ignore[union-attr]
    bearer = NetworkCredentials(x_bearer_token=SecretStr("t"), **OAUTH1)
    built = build(context(store, http, bearer, account="northfieldit"))
    assert built is not None and isinstance(built._auth, BearerAuth)
    assert built.label == "X (@northfieldit)" and not built.idempotent


async def test_check_reports_ready_expired_and_unreachable(fake: FakeX, http: HttpClient) -> None:
    publisher = x_publisher(fake, http)
    ready = await publisher.check()
    assert ready.state == "ready" and "@northfieldit" in ready.detail
    fake.expired = True
    expired = await publisher.check()
    assert expired.state == "expired" and "x-user-token" not in expired.detail
    assert fake.tweets == {}
    await fake.stop()
    assert (await publisher.check()).state == "unreachable"


# ----- through the core --------------------------------------------------------------------


analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)


def core_for(
    fake: FakeX, store: Store, clock: FakeClock, http: HttpClient, **x_channel: object
) -> Core:
    config = make_config(
        channels=channels_with("x", base_url=fake.base_url, account="northfieldit", **x_channel)
    )
    credentials = NetworkCredentials(x_bearer_token=SecretStr("x-user-token"))
    publishers: dict[Network, Publisher] = {}
    for network in config.enabled_channels:
        built = None
        if network == Network.X:
            built = build(
                PublisherContext(
                    network=network,
                    channel=config.channels[network],
                    credentials=credentials,
                    http=http,
                    settings=Settings(),
                    config=config,
                    store=store,
                )
            )
        publishers[network] = built or OutboxPublisher(
            network=network, store=store, public_url="http://crier.test"
        )
    return build_core(
        settings=Settings(), config=config, store=store, clock=clock, publishers=publishers
    )


def x_deliveries(core: Core) -> list[Delivery]:
    with core.store.transaction() as session:
        query = select(Delivery).where(Delivery.channel == "x").order_by(col(Delivery.id))
        return list(session.exec(query).all())


async def test_an_approved_post_reaches_x_once_with_its_final_text(
    fake: FakeX, store: Store, http: HttpClient
) -> None:
    clock = FakeClock()
    core = core_for(fake, store, clock, http)
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    clock.advance(minutes=3)
    await core.approve(approver, draft.post.id)
    await core.publishing.run_once()
    await core.publishing.run_once()  # nothing left to do: nothing posted twice

    [delivery] = x_deliveries(core)
    assert delivery.state == DeliveryState.SENT
    [tweet] = fake.tweets.values()
    assert tweet["text"] == delivery.text and "2:48 PM EST" in tweet["text"]
    assert delivery.url == f"https://x.com/northfieldit/status/{delivery.external_id}"


async def test_an_incident_is_one_thread_on_x(fake: FakeX, store: Store, http: HttpClient) -> None:
    clock = FakeClock()
    core = core_for(fake, store, clock, http)
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.approve(approver, draft.post.id)
    await core.publishing.run_once()
    clock.advance(minutes=20)
    update = await core.draft_update(
        analyst,
        draft.incident.id,
        UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="Restarting the servers"),
    )
    await core.approve(approver, update.post.id)
    await core.publishing.run_once()
    clock.advance(minutes=20)
    resolution = await core.draft_resolution(analyst, draft.incident.id, ResolveRequest())
    await core.approve(approver, resolution.post.id)  # type: ignore[union-attr]
    await core.publishing.run_once()

    first, second, third = x_deliveries(core)
    assert {d.state for d in (first, second, third)} == {DeliveryState.SENT}
    assert fake.tweets[first.external_id]["in_reply_to"] is None  # type: ignore[index]
    assert fake.tweets[second.external_id]["in_reply_to"] == first.external_id  # type: ignore[index]
    assert fake.tweets[third.external_id]["in_reply_to"] == second.external_id  # type: ignore[index]


async def test_a_lost_answer_makes_the_delivery_unknown_and_it_is_not_reposted(
    fake: FakeX, store: Store, http: HttpClient
) -> None:
    clock = FakeClock()
    core = core_for(fake, store, clock, http)
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.approve(approver, draft.post.id)
    fake.timeout_next()
    await core.publishing.run_once()
    clock.advance(minutes=30)
    await core.publishing.run_once()

    [delivery] = x_deliveries(core)
    assert delivery.state == DeliveryState.UNKNOWN
    assert "check the account" in (delivery.last_error or "")
    assert fake.tweets == {}


async def test_a_queue_longer_than_the_rate_limit_is_all_sent_and_waits_for_each_reset(
    store: Store, http: HttpClient
) -> None:
    """Two posts a second allowed; sixteen approved: eight windows, more than the six attempts
    a failing post gets. Waiting for X's reset is not a failed attempt, so none is lost, and
    once X has said when its quota returns the worker stops sending only to be refused."""
    posts, per_window = 16, 2
    async with FakeX(window_limit=per_window, window_seconds=1.0) as fake:
        core = core_for(fake, store, SystemClock(), http)  # type: ignore[arg-type]
        for n in range(posts):
            draft = await core.declare(analyst, DeclareRequest(service="bb", summary=f"down {n}"))
            await core.approve(approver, draft.post.id)
        stop = asyncio.Event()
        running = asyncio.create_task(core.publishing.run_forever(stop))
        try:
            async with asyncio.timeout(30):
                while len(fake.tweets) < posts:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            await running
            await core.settle()

    deliveries = x_deliveries(core)
    assert {d.state for d in deliveries} == {DeliveryState.SENT}
    assert len(fake.tweets) == posts  # each once
    assert max(d.attempts for d in deliveries) == 1  # the 429s were waits, not failures
    windows = posts // per_window
    concurrency = 4  # X's default: at most this many are in flight when a window fills
    assert fake.rate_limited <= windows * (concurrency - per_window) + concurrency


# ----- X's price ---------------------------------------------------------------------------


async def test_the_draft_says_what_the_x_post_costs(
    fake: FakeX, store: Store, http: HttpClient
) -> None:
    core = core_for(fake, store, FakeClock(), http)
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    x = next(p for p in draft.post.previews if p.network is Network.X)
    assert "costs about $0.20 on X (it has a link)" in x.notes
    mastodon = next(p for p in draft.post.previews if p.network is Network.MASTODON)
    assert not any("costs" in note for note in mastodon.notes)


async def test_links_false_leaves_the_link_out_of_x_posts_only(
    fake: FakeX, store: Store, http: HttpClient
) -> None:
    core = core_for(fake, store, FakeClock(), http, links=False)
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    texts = {p.network: p for p in draft.post.previews}
    assert "https://" not in texts[Network.X].text
    assert "costs about $0.015 on X" in texts[Network.X].notes
    assert "https://" in texts[Network.FACEBOOK].text


async def test_a_post_that_would_pass_the_monthly_budget_is_held_and_says_so(
    fake: FakeX, store: Store, http: HttpClient
) -> None:
    clock = FakeClock()
    core = core_for(fake, store, clock, http, monthly_budget=0.30)
    draft = await core.declare(analyst, DeclareRequest(service="bb", summary="cannot log in"))
    await core.approve(approver, draft.post.id)
    await core.publishing.run_once()
    clock.advance(minutes=20)
    update = await core.draft_update(
        analyst, draft.incident.id, UpdateRequest(status=IncidentStatus.IDENTIFIED)
    )
    await core.approve(approver, update.post.id)
    await core.publishing.run_once()

    first, second = x_deliveries(core)
    assert first.state == DeliveryState.SENT and len(fake.tweets) == 1
    assert second.state == DeliveryState.FAILED
    assert "this month's budget of $0.30" in (second.last_error or "")
    shown = await core.post(update.post.id)
    assert any("budget" in (d.error or "") for d in shown.deliveries)  # the thread says so
    with core.store.transaction() as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert "publish_held_budget" in actions
