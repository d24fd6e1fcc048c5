"""Facebook Page: the publisher against a fake Graph API on 127.0.0.1, then through the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import col, select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor, Publisher, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.facebook import FacebookPublisher, build
from bot.publishing.graph import DEFAULT_VERSION
from bot.publishing.http import HttpClient
from bot.publishing.outbox import OutboxPublisher
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.facebook import FakeGraph, graph_error
from tests.fakes.networks.instagram import CardServer

TEXT = "Blackboard: students cannot sign in. We are investigating. 2:45 PM EST"
PAGE = "1122334455"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(page_id=PAGE) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def facebook(
    fake: FakeGraph,
    http: HttpClient,
    *,
    token: str = "fb-page-token",
    settings: Settings | None = None,
    **kwargs: object,
) -> FacebookPublisher:
    return FacebookPublisher(
        http=http,
        token=SecretStr(token),
        account=PAGE,
        config=make_config(),
        settings=settings or Settings(),
        base_url=fake.base_url,
        **kwargs,  # type: ignore[arg-type]
    )


def post(text: str = TEXT) -> PublishRequest:
    return PublishRequest(
        network=Network.FACEBOOK,
        text=text,
        idempotency_key="key-1",
        incident_id=1,
        post_kind="initial",
        status="investigating",
        service="Blackboard",
        title="Blackboard: students cannot sign in",
    )


async def refused(
    publisher: FacebookPublisher, request: PublishRequest | None = None
) -> PublishError:
    with pytest.raises(PublishError) as caught:
        await publisher.publish(request or post())
    return caught.value


# ----- posting -----------------------------------------------------------------------------


async def test_posts_to_the_page_feed_with_the_page_token(
    fake: FakeGraph, http: HttpClient
) -> None:
    published = await facebook(fake, http).publish(post())

    [sent] = fake.received
    assert sent.method == "POST" and sent.path == f"/{DEFAULT_VERSION}/{PAGE}/feed"
    assert sent.headers["Authorization"] == "Bearer fb-page-token"
    assert sent.body == {"message": TEXT}
    assert published.external_id == fake.page_posts[0]["id"]
    assert published.external_id.startswith(f"{PAGE}_")
    assert published.url == f"https://www.facebook.com/{published.external_id}"


async def test_the_graph_version_is_configurable(fake: FakeGraph, http: HttpClient) -> None:
    await facebook(fake, http, version="v19.0").publish(post())
    assert fake.received[0].path == f"/v19.0/{PAGE}/feed"


async def test_updates_are_separate_posts_on_the_page(fake: FakeGraph, http: HttpClient) -> None:
    publisher = facebook(fake, http)
    for text in ("Down. 2:45 PM EST", "Cause found. 3:15 PM EST", "Fixed. 3:40 PM EST"):
        await publisher.publish(post(text))
    assert [p["message"] for p in fake.page_posts] == [
        "Down. 2:45 PM EST",
        "Cause found. 3:15 PM EST",
        "Fixed. 3:40 PM EST",
    ]


async def test_attach_card_posts_a_photo_with_the_status_card(
    fake: FakeGraph, http: HttpClient, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'crier.db'}"
    async with CardServer(Settings(database_url=database)) as cards:
        settings = Settings(database_url=database, public_url=cards.base_url)
        published = await facebook(fake, http, settings=settings, attach_card=True).publish(post())
    [sent] = fake.received
    assert sent.path == f"/{DEFAULT_VERSION}/{PAGE}/photos" and sent.body["message"] == TEXT
    assert sent.body["url"].startswith(f"{cards.base_url}/cards/")
    assert fake.fetched == [(sent.body["url"], "image/png")]
    assert published.external_id == fake.page_posts[0]["id"]


# ----- Graph's errors ----------------------------------------------------------------------


@pytest.mark.parametrize("code", [4, 17, 32, 613])
async def test_throttling_codes_retry_when_graph_says_access_returns(
    fake: FakeGraph, http: HttpClient, code: int
) -> None:
    fake.rate_limit_next(reset_in=15 * 60, code=code)
    error = await refused(facebook(fake, http))
    assert error.transient and not error.maybe_sent
    assert error.retry_at is not None
    expected = datetime.now(UTC) + timedelta(minutes=15)
    assert abs((error.retry_at - expected).total_seconds()) < 5
    assert f"code {code}" in error.message


async def test_throttling_without_an_estimate_waits_a_sensible_while(
    fake: FakeGraph, http: HttpClient
) -> None:
    fake.fail_next(400, graph_error("(#341) Application limit reached", 341))
    error = await refused(facebook(fake, http))
    assert error.transient and error.retry_at is not None
    wait = (error.retry_at - datetime.now(UTC)).total_seconds()
    assert 60 <= wait <= 180


async def test_an_expired_token_is_permanent_with_graph_words_and_no_secret(
    fake: FakeGraph, http: HttpClient
) -> None:
    fake.expired.add("fb-page-token")
    error = await refused(facebook(fake, http))
    assert not error.transient and not error.maybe_sent
    assert "expired" in error.message and "Session has expired" in error.message
    assert "code 190, subcode 463" in error.message
    assert "fb-page-token" not in error.message


async def test_an_invalid_token_is_permanent(fake: FakeGraph, http: HttpClient) -> None:
    error = await refused(facebook(fake, http, token="wrong"))
    assert not error.transient and "Invalid OAuth access token" in error.message
    assert "wrong" not in error.message.replace("Invalid OAuth", "")


async def test_a_token_graph_quotes_back_is_blanked(fake: FakeGraph, http: HttpClient) -> None:
    fake.fail_next(400, graph_error("Malformed access token fb-page-token", 190))
    error = await refused(facebook(fake, http))
    assert "Malformed access token [token]" in error.message
    assert "fb-page-token" not in error.message


async def test_a_blocked_post_is_permanent(fake: FakeGraph, http: HttpClient) -> None:
    message = "The action attempted has been deemed abusive or is otherwise disallowed"
    fake.fail_next(400, graph_error(message, 368, 1390008))
    error = await refused(facebook(fake, http))
    assert not error.transient and "blocked" in error.message and message in error.message


async def test_a_duplicate_means_an_earlier_attempt_probably_got_through(
    fake: FakeGraph, http: HttpClient
) -> None:
    publisher = facebook(fake, http)
    await publisher.publish(post())
    error = await refused(publisher)
    assert error.maybe_sent and not error.transient
    assert "Duplicate status message" in error.message and "code 506" in error.message
    assert len(fake.page_posts) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, graph_error("An unknown error has occurred.", 1, is_transient=True)),
        (503, graph_error("An unexpected error has occurred. Please retry.", 2)),
        (502, {"error": "Bad Gateway"}),
    ],
)
async def test_graph_temporary_errors_are_transient(
    fake: FakeGraph, http: HttpClient, status: int, body: object
) -> None:
    fake.fail_next(status, body)
    error = await refused(facebook(fake, http))
    assert error.transient and not error.maybe_sent


async def test_a_validation_error_is_permanent(fake: FakeGraph, http: HttpClient) -> None:
    error = await refused(facebook(fake, http), post(""))
    assert not error.transient and "Missing message" in error.message


async def test_a_time_out_is_transient_and_maybe_sent(fake: FakeGraph, http: HttpClient) -> None:
    fake.timeout_next()
    error = await refused(facebook(fake, http))
    assert error.transient and error.maybe_sent


async def test_a_dropped_connection_is_transient_and_maybe_sent(
    fake: FakeGraph, http: HttpClient
) -> None:
    fake.drop_next()
    error = await refused(facebook(fake, http))
    assert error.transient and error.maybe_sent


async def test_a_lost_answer_then_a_retry_is_reported_as_a_duplicate(
    fake: FakeGraph, http: HttpClient
) -> None:
    fake.lose_answer_next("/feed")
    publisher = facebook(fake, http)
    lost = await refused(publisher)
    assert lost.maybe_sent
    retried = await refused(publisher)
    assert retried.maybe_sent and "506" in retried.message
    assert len(fake.page_posts) == 1


# ----- build and check ---------------------------------------------------------------------


def channels_with(network: str, **channel: object) -> dict[str, object]:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels[network] = {"enabled": True, **channel}
    return channels


def context(
    store: Store, http: HttpClient, credentials: NetworkCredentials, **channel: object
) -> PublisherContext:
    config = make_config(channels=channels_with("facebook", **channel))
    return PublisherContext(
        network=Network.FACEBOOK,
        channel=config.channels[Network.FACEBOOK],
        credentials=credentials,
        http=http,
        settings=Settings(),
        config=config,
        store=store,
    )


def test_build_needs_the_page_token_and_the_page_id(store: Store) -> None:
    http = HttpClient(redact=Redactor([]))
    token = NetworkCredentials(facebook_page_token=SecretStr("t"))
    assert build(context(store, http, NetworkCredentials(), account=PAGE)) is None
    assert build(context(store, http, token)) is None  # no page id
    built = build(context(store, http, token, account=PAGE, api_version="20.0"))
    assert built is not None and built.label == f"Facebook (Page {PAGE})"
    assert built._root.endswith("/v20.0") and not built.idempotent


async def test_check_reports_ready_expired_and_unreachable(
    fake: FakeGraph, http: HttpClient
) -> None:
    publisher = facebook(fake, http)
    ready = await publisher.check()
    assert ready.state == "ready" and "Northfield IT" in ready.detail
    [first, *_] = fake.received
    assert first.method == "GET" and first.path == f"/{DEFAULT_VERSION}/{PAGE}"
    fake.expired.add("fb-page-token")
    expired = await publisher.check()
    assert expired.state == "expired" and "fb-page-token" not in expired.detail
    assert fake.page_posts == []
    await fake.stop()
    assert (await publisher.check()).state == "unreachable"


# ----- through the core --------------------------------------------------------------------


async def test_an_approved_post_reaches_the_page_once_with_its_final_text(
    fake: FakeGraph, store: Store, http: HttpClient
) -> None:
    clock = FakeClock()
    config = make_config(channels=channels_with("facebook", base_url=fake.base_url, account=PAGE))
    credentials = NetworkCredentials(facebook_page_token=SecretStr("fb-page-token"))
    publishers: dict[Network, Publisher] = {
        network: OutboxPublisher(network=network, store=store, public_url="http://crier.test")
        for network in config.enabled_channels
    }
    built = build(
        PublisherContext(
            network=Network.FACEBOOK,
            channel=config.channels[Network.FACEBOOK],
            credentials=credentials,
            http=http,
            settings=Settings(),
            config=config,
            store=store,
        )
    )
    assert built is not None
    publishers[Network.FACEBOOK] = built
    core: Core = build_core(
        settings=Settings(), config=config, store=store, clock=clock, publishers=publishers
    )
    draft = await core.declare(
        Actor("slack", ANALYST), DeclareRequest(service="bb", summary="cannot log in")
    )
    clock.advance(minutes=5)
    await core.approve(Actor("slack", APPROVER), draft.post.id)
    await core.publishing.run_once()
    await core.publishing.run_once()

    with core.store.transaction() as session:
        [delivery] = session.exec(
            select(Delivery).where(Delivery.channel == "facebook").order_by(col(Delivery.id))
        ).all()
    assert delivery.state == DeliveryState.SENT
    [page_post] = fake.page_posts
    assert page_post["message"] == delivery.text and "2:50 PM EST" in page_post["message"]
    assert delivery.url == f"https://www.facebook.com/{page_post['id']}"
