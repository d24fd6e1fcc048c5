"""Instagram: container then publish, with Crier's status card fetched from Crier's own server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, Network
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor, Publisher, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.cards import alt_text, card_facts
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.instagram import InstagramPublisher, build, caption_problem
from bot.publishing.outbox import OutboxPublisher
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.facebook import graph_error
from tests.fakes.networks.instagram import CardServer, FakeInstagram

TEXT = "Blackboard: students cannot sign in. We are investigating. 2:45 PM EST #ITStatus"
IG_USER = "17841400000000001"
AT = datetime(2026, 1, 15, 19, 45, tzinfo=UTC)
VERSION = re.compile(r"^/v\d+\.\d+/")


@dataclass
class Rig:
    fake: FakeInstagram
    cards: CardServer
    settings: Settings
    http: HttpClient
    clock: FakeClock = field(default_factory=FakeClock)  # starts at AT

    def publisher(self, *, token: str = "ig-token", **kwargs: object) -> InstagramPublisher:
        return InstagramPublisher(
            http=self.http,
            token=SecretStr(token),
            account=IG_USER,
            config=make_config(),
            settings=self.settings,
            base_url=self.fake.base_url,
            poll_seconds=0.01,
            now=self.clock.now,
            **kwargs,  # type: ignore[arg-type]
        )

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, VERSION.sub("", r.path)) for r in self.fake.received]

    def tick(self, **delta: float) -> None:
        self.clock.advance(**delta)

    def faults_on_containers(self) -> None:
        """Queued faults wait for the container's creation (not the publishing limit's read)."""
        self.fake.fault_when = lambda r: r.method == "POST" and r.path.endswith("/media")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    database = f"sqlite:///{tmp_path / 'crier.db'}"
    http = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    clock = FakeClock()
    async with (
        FakeInstagram(ig_user_id=IG_USER, now=lambda: clock.now().timestamp()) as fake,
        CardServer(Settings(database_url=database)) as cards,
    ):
        settings = Settings(database_url=database, public_url=cards.base_url)
        yield Rig(fake, cards, settings, http, clock)  # type: ignore[arg-type]
    await http.close()


def post(text: str = TEXT) -> PublishRequest:
    return PublishRequest(
        network=Network.INSTAGRAM,
        text=text,
        idempotency_key="key-1",
        incident_id=1,
        post_kind="initial",
        status="investigating",
        service="Blackboard",
        title="Blackboard: students cannot sign in",
    )


async def refused(
    publisher: InstagramPublisher, request: PublishRequest | None = None
) -> PublishError:
    with pytest.raises(PublishError) as caught:
        await publisher.publish(request or post())
    return caught.value


# ----- posting -----------------------------------------------------------------------------


async def test_creates_a_container_with_the_card_then_publishes_it(rig: Rig) -> None:
    published = await rig.publisher().publish(post())

    assert rig.calls() == [
        ("GET", f"{IG_USER}/content_publishing_limit"),
        ("POST", f"{IG_USER}/media"),
        ("GET", next(iter(rig.fake.containers))),
        ("POST", f"{IG_USER}/media_publish"),
        ("GET", published.external_id),
    ]
    limit, create = rig.fake.received[:2]
    assert limit.headers["Authorization"] == "Bearer ig-token"
    assert create.headers["Authorization"] == "Bearer ig-token"
    assert create.body["caption"] == TEXT
    assert create.body["alt_text"] == alt_text(card_facts(post(), config=make_config(), at=AT))
    assert create.body["alt_text"].startswith(
        "Northfield IT status card: Blackboard, Investigating."
    )
    image_url = create.body["image_url"]
    assert image_url.startswith(f"{rig.cards.base_url}/cards/") and image_url.endswith(".jpg")
    assert rig.fake.fetched == [(image_url, "image/jpeg")]
    [media] = rig.fake.media
    assert published.external_id == media["id"] and published.url == media["permalink"]
    assert rig.fake.received[3].body == {"creation_id": next(iter(rig.fake.containers))}
    assert media["alt_text"] == create.body["alt_text"]


async def test_waits_while_instagram_processes_the_image(rig: Rig) -> None:
    rig.fake.processing_polls = 2
    await rig.publisher().publish(post())
    statuses = [c for c in rig.calls() if c[0] == "GET" and "publishing_limit" not in c[1]]
    assert len(statuses) == 3 + 1  # two IN_PROGRESS, one FINISHED, then the permalink
    assert len(rig.fake.media) == 1


async def test_still_processing_after_the_polls_is_transient(rig: Rig) -> None:
    rig.fake.processing_polls = 50
    error = await refused(rig.publisher(polls=3))
    assert error.transient and not error.maybe_sent and rig.fake.media == []


def test_caption_rules() -> None:
    assert caption_problem(TEXT) is None
    assert "2201 characters" in (caption_problem("a" * 2201) or "")
    assert "31 hashtags" in (caption_problem(" ".join(f"#tag{n}" for n in range(31))) or "")
    assert caption_problem("Q&A #1 " + " ".join(f"#t{n}" for n in range(30))) is not None
    assert caption_problem("see https://it.example.edu/#section") is None


async def test_an_over_long_caption_is_refused_before_sending(rig: Rig) -> None:
    error = await refused(rig.publisher(), post("a" * 2300))
    assert not error.transient and "2200" in error.message
    assert rig.fake.received == []


async def test_instagram_refuses_a_card_it_cannot_fetch(rig: Rig) -> None:
    await rig.cards.__aexit__()  # Crier's server is not reachable from Instagram
    error = await refused(rig.publisher())
    assert "2207052" in error.message and "Only photo or video" in error.message
    assert rig.fake.containers == {}


# ----- the ambiguous step: publishing ------------------------------------------------------


async def test_a_lost_publish_answer_is_resolved_by_the_container_status(rig: Rig) -> None:
    rig.fake.lose_answer_next("/media_publish")
    published = await rig.publisher().publish(post())
    [media] = rig.fake.media
    assert published.external_id == media["id"] and published.url == media["permalink"]
    publishes = [c for c in rig.calls() if c == ("POST", f"{IG_USER}/media_publish")]
    assert len(publishes) == 1  # it was up: never published twice


async def test_a_publish_that_timed_out_before_it_happened_is_published_once(rig: Rig) -> None:
    rig.fake.fault_when = lambda request: request.path.endswith("/media_publish")
    rig.fake.timeout_next()
    published = await rig.publisher().publish(post())
    assert [m["id"] for m in rig.fake.media] == [published.external_id]


async def test_when_the_status_cannot_be_read_the_post_is_unknown(rig: Rig) -> None:
    rig.fake.lose_answer_next("/media_publish")
    # Once the post is up, reading the container's status fails.
    rig.fake.fault_when = lambda request: request.method == "GET" and bool(rig.fake.media)
    rig.fake.fail_next(500, graph_error("An unknown error has occurred.", 1))
    error = await refused(rig.publisher())
    assert error.maybe_sent and error.transient
    assert len(rig.fake.media) == 1  # it was in fact up: a person checks, nothing re-posted


# ----- Graph's errors ----------------------------------------------------------------------


async def test_a_server_error_creating_the_container_is_transient(rig: Rig) -> None:
    rig.faults_on_containers()
    rig.fake.fail_next(500, graph_error("An unknown error has occurred.", 1, is_transient=True))
    error = await refused(rig.publisher())
    assert error.transient and not error.maybe_sent


async def test_throttling_is_transient_with_graph_estimate(rig: Rig) -> None:
    rig.faults_on_containers()
    rig.fake.rate_limit_next(reset_in=600, code=4)
    error = await refused(rig.publisher())
    assert error.transient and error.retry_at is not None
    assert abs((error.retry_at - datetime.now(UTC) - timedelta(minutes=10)).total_seconds()) < 5


async def test_the_publishing_limit_is_read_first_and_a_full_quota_waits_for_the_window(
    rig: Rig,
) -> None:
    rig.fake.publish_limit = 2
    publisher = rig.publisher()
    await publisher.publish(post())  # 2:45 PM EST
    rig.tick(hours=3)
    await publisher.publish(post("Blackboard: an update. 5:45 PM EST"))
    rig.tick(hours=1)
    containers = len(rig.fake.containers)

    error = await refused(publisher, post("Blackboard: another update. 6:45 PM EST"))
    assert error.transient and error.rate_limited and not error.maybe_sent
    # The window frees when the first post is 24 hours old: 2:45 PM EST the next day.
    assert error.retry_at == AT + timedelta(hours=24)
    assert error.message == (
        "Instagram's limit of 2 posts in 24 hours is reached; "
        "Crier tries again at 2:45 PM EST on Fri 16 Jan"
    )
    assert len(rig.fake.containers) == containers and len(rig.fake.media) == 2

    rig.tick(hours=20, seconds=1)  # the first post has left the window
    await publisher.publish(post("Blackboard: another update. 2:45 PM EST"))
    assert len(rig.fake.media) == 3


async def test_a_limit_met_between_the_check_and_publishing_waits_for_the_window_too(
    rig: Rig,
) -> None:
    await rig.publisher().publish(post())
    rig.tick(hours=1)
    rig.fake.fault_when = lambda request: request.path.endswith("/media_publish")
    message = "Application request limit reached"
    rig.fake.fail_next(400, graph_error(message, 9, 2207042, is_transient=False))
    error = await refused(rig.publisher(), post("Blackboard: an update. 3:45 PM EST"))
    assert error.transient and error.rate_limited and "2207042" in error.message
    assert error.retry_at == AT + timedelta(hours=24)
    assert "Crier tries again at 2:45 PM EST on Fri 16 Jan" in error.message


async def test_the_post_still_goes_when_the_limit_cannot_be_read(rig: Rig) -> None:
    rig.fake.fault_when = lambda request: request.path.endswith("/content_publishing_limit")
    rig.fake.fail_next(500, graph_error("An unknown error has occurred.", 1, is_transient=True))
    await rig.publisher().publish(post())
    assert len(rig.fake.media) == 1


async def test_an_expired_token_is_permanent_and_secret_free(rig: Rig) -> None:
    rig.fake.expired.add("ig-token")
    error = await refused(rig.publisher())
    assert not error.transient and "190" in error.message and "expired" in error.message
    assert "ig-token" not in error.message


async def test_a_time_out_creating_the_container_is_transient(rig: Rig) -> None:
    rig.faults_on_containers()
    rig.fake.timeout_next()
    error = await refused(rig.publisher())
    # Not "maybe sent": a container alone is never shown, so a plain retry is safe.
    assert error.transient and not error.maybe_sent


async def test_a_dropped_connection_is_transient(rig: Rig) -> None:
    rig.faults_on_containers()
    rig.fake.drop_next()
    error = await refused(rig.publisher())
    assert error.transient


# ----- build and check ---------------------------------------------------------------------


def channels_with(network: str, **channel: object) -> dict[str, object]:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels[network] = {"enabled": True, **channel}
    return channels


def context(
    store: Store,
    http: HttpClient,
    credentials: NetworkCredentials,
    settings: Settings,
    **channel: object,
) -> PublisherContext:
    config = make_config(channels=channels_with("instagram", **channel))
    return PublisherContext(
        network=Network.INSTAGRAM,
        channel=config.channels[Network.INSTAGRAM],
        credentials=credentials,
        http=http,
        settings=settings,
        config=config,
        store=store,
    )


def test_build_needs_the_token_and_the_account(store: Store) -> None:
    http, settings = HttpClient(redact=Redactor([])), Settings()
    token = NetworkCredentials(instagram_access_token=SecretStr("t"))
    assert build(context(store, http, NetworkCredentials(), settings, account=IG_USER)) is None
    assert build(context(store, http, token, settings)) is None
    built = build(context(store, http, token, settings, account=IG_USER))
    assert built is not None and built.label == f"Instagram ({IG_USER})"
    assert not built.idempotent


async def test_check_reports_ready_expired_and_a_local_public_url(rig: Rig) -> None:
    ready = await rig.publisher().check()
    assert ready.state == "ready" and "@northfieldit" in ready.detail
    assert "local" in ready.detail  # the card server here is 127.0.0.1
    rig.fake.expired.add("ig-token")
    expired = await rig.publisher().check()
    assert expired.state == "expired" and "ig-token" not in expired.detail
    assert rig.fake.containers == {}


# ----- through the core --------------------------------------------------------------------


async def test_an_approved_post_reaches_instagram_once_with_its_card(
    rig: Rig, store: Store
) -> None:
    clock = FakeClock()
    config = make_config(
        channels=channels_with("instagram", base_url=rig.fake.base_url, account=IG_USER)
    )
    publishers: dict[Network, Publisher] = {
        network: OutboxPublisher(network=network, store=store, public_url="http://crier.test")
        for network in config.enabled_channels
    }
    built = build(
        context(
            store,
            rig.http,
            NetworkCredentials(instagram_access_token=SecretStr("ig-token")),
            rig.settings,
            base_url=rig.fake.base_url,
            account=IG_USER,
        )
    )
    assert built is not None
    publishers[Network.INSTAGRAM] = built
    core = build_core(
        settings=rig.settings, config=config, store=store, clock=clock, publishers=publishers
    )
    draft = await core.declare(
        Actor("slack", ANALYST),
        DeclareRequest(
            service="bb", summary="cannot log in", channels=(Network.X, Network.INSTAGRAM)
        ),
    )
    await core.approve(Actor("slack", APPROVER), draft.post.id)
    await core.publishing.run_once()
    await core.publishing.run_once()

    with core.store.transaction() as session:
        [delivery] = session.exec(select(Delivery).where(Delivery.channel == "instagram")).all()
    assert delivery.state == DeliveryState.SENT
    [media] = rig.fake.media
    assert media["caption"] == delivery.text and "Blackboard" in media["caption"]
    assert delivery.url == media["permalink"] and delivery.external_id == media["id"]
    assert rig.fake.fetched[0][1] == "image/jpeg"


async def test_a_lost_container_answer_is_retried_by_the_worker_and_posted_once(
    rig: Rig, store: Store
) -> None:
    clock = FakeClock()
    config = make_config(
        channels=channels_with("instagram", base_url=rig.fake.base_url, account=IG_USER)
    )
    publishers: dict[Network, Publisher] = {
        network: OutboxPublisher(network=network, store=store, public_url="http://crier.test")
        for network in config.enabled_channels
    }
    publishers[Network.INSTAGRAM] = rig.publisher()
    core = build_core(
        settings=rig.settings, config=config, store=store, clock=clock, publishers=publishers
    )
    draft = await core.declare(
        Actor("slack", ANALYST),
        DeclareRequest(service="bb", summary="cannot log in", channels=(Network.INSTAGRAM,)),
    )
    await core.approve(Actor("slack", APPROVER), draft.post.id)
    rig.fake.lose_answer_next("/media")  # the container is made, its id never arrives
    await core.publishing.run_once()
    with core.store.transaction() as session:
        [delivery] = session.exec(select(Delivery)).all()
    assert delivery.state == DeliveryState.RETRYING
    clock.advance(minutes=1)
    await core.publishing.run_once()

    with core.store.transaction() as session:
        [delivery] = session.exec(select(Delivery)).all()
    assert delivery.state == DeliveryState.SENT
    assert len(rig.fake.containers) == 2 and len(rig.fake.media) == 1


async def test_a_spent_publishing_limit_shows_in_the_delivery_and_waits_for_the_window(
    rig: Rig, store: Store
) -> None:
    rig.fake.publish_limit = 1
    await rig.publisher().publish(post())  # another post used the window's only slot
    rig.tick(hours=2)
    config = make_config(
        channels=channels_with("instagram", base_url=rig.fake.base_url, account=IG_USER)
    )
    publishers: dict[Network, Publisher] = {
        network: OutboxPublisher(network=network, store=store, public_url="http://crier.test")
        for network in config.enabled_channels
    }
    publishers[Network.INSTAGRAM] = rig.publisher()
    core = build_core(
        settings=rig.settings, config=config, store=store, clock=rig.clock, publishers=publishers
    )
    draft = await core.declare(
        Actor("slack", ANALYST),
        DeclareRequest(service="bb", summary="cannot log in", channels=(Network.INSTAGRAM,)),
    )
    await core.approve(Actor("slack", APPROVER), draft.post.id)
    await core.publishing.run_once()

    with core.store.transaction() as session:
        [delivery] = session.exec(select(Delivery)).all()
    assert delivery.state == DeliveryState.RETRYING
    assert delivery.last_error == (
        "Instagram's limit of 1 post in 24 hours is reached; "
        "Crier tries again at 2:45 PM EST on Fri 16 Jan"
    )
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at.replace(tzinfo=UTC) == AT + timedelta(hours=24)
    assert len(rig.fake.media) == 1
