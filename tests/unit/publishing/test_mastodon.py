"""Mastodon: the publisher against a fake instance on 127.0.0.1, then through the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
from bot.ports import Actor, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.cards import alt_text, card_facts, render_card
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.mastodon import MastodonPublisher, build
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.mastodon import FakeMastodon

TOKEN = "mastodon-test-token"
TEXT = "Blackboard: students cannot sign in. We're investigating. 2:45 PM EST"


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    server = FakeMastodon(token=TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def publisher(fake: FakeMastodon, http: HttpClient, token: str = TOKEN) -> MastodonPublisher:
    return MastodonPublisher(
        http=http, base_url=fake.base_url, token=SecretStr(token), account="it"
    )


async def ready(fake: FakeMastodon, http: HttpClient) -> MastodonPublisher:
    """A publisher that has read the instance's limit (faults then hit the post itself)."""
    made = publisher(fake, http)
    assert await made.character_limit() == fake.max_characters
    return made


def post(text: str = TEXT, *, key: str = "key-1", reply_to: str | None = None) -> PublishRequest:
    return PublishRequest(
        network=Network.MASTODON,
        text=text,
        idempotency_key=key,
        incident_id=1,
        post_kind="initial",
        status="investigating",
        service="Blackboard",
        title="Blackboard: students cannot sign in",
        reply_to=reply_to,
    )


# ----- posting -----------------------------------------------------------------------------


async def test_posts_a_public_status_with_the_token_and_the_idempotency_key(
    fake: FakeMastodon, http: HttpClient
) -> None:
    published = await publisher(fake, http).publish(post())

    [sent] = [r for r in fake.received if r.path == "/api/v1/statuses"]
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Idempotency-Key"] == "key-1"
    assert sent.body == {"status": TEXT, "visibility": "public"}
    [status] = fake.posted
    assert published.external_id == status["id"]
    assert published.url == f"{fake.base_url}/@it/{status['id']}"


async def test_the_label_names_the_account_on_its_instance(http: HttpClient) -> None:
    made = MastodonPublisher(
        http=http, base_url="https://mastodon.example.edu/", token=SecretStr("t"), account="it"
    )
    assert made.label == "Mastodon (@it@mastodon.example.edu)"


async def test_the_instance_limit_is_read_once_and_enforced_before_sending(
    fake: FakeMastodon, http: HttpClient
) -> None:
    fake.max_characters = 100
    made = publisher(fake, http)
    await made.publish(post("short"))
    await made.publish(post("also short", key="key-2"))
    assert fake.instance_reads == 1

    with pytest.raises(PublishError) as refused:
        await made.publish(post("x" * 101, key="key-3"))
    assert not refused.value.transient
    assert "101/100" in refused.value.message
    assert len(fake.posted) == 2  # refused here, never sent


async def test_without_the_instance_limit_the_post_still_goes_and_the_limit_is_read_later(
    fake: FakeMastodon, http: HttpClient
) -> None:
    made = publisher(fake, http)
    fake.fail_next(503, {"error": "Service Unavailable"})  # the instance read fails
    await made.publish(post())  # Mastodon itself still checks the length
    assert await made.character_limit() == 500 and fake.instance_reads == 1
    assert len(fake.posted) == 1


async def test_a_link_counts_23_as_on_mastodon(fake: FakeMastodon, http: HttpClient) -> None:
    fake.max_characters = 60
    link = "https://it.example.edu/help/blackboard/sign-in-problems-and-what-to-do"
    await publisher(fake, http).publish(post(f"Help: {link}"))  # 6 + 23 characters
    assert len(fake.posted) == 1


async def test_a_thread_of_three_updates_replies_to_the_previous_status(
    fake: FakeMastodon, http: HttpClient
) -> None:
    made = publisher(fake, http)
    first = await made.publish(post("Investigating.", key="k1"))
    second = await made.publish(post("Identified.", key="k2", reply_to=first.external_id))
    third = await made.publish(post("Resolved.", key="k3", reply_to=second.external_id))

    statuses = fake.statuses
    assert statuses[first.external_id]["in_reply_to_id"] is None
    assert statuses[second.external_id]["in_reply_to_id"] == first.external_id
    assert statuses[third.external_id]["in_reply_to_id"] == second.external_id


async def test_an_update_to_a_deleted_status_goes_out_as_a_new_thread(
    fake: FakeMastodon, http: HttpClient
) -> None:
    published = await publisher(fake, http).publish(post(reply_to="110000000000000000"))
    assert fake.statuses[published.external_id]["in_reply_to_id"] is None


# ----- idempotency -------------------------------------------------------------------------


async def test_the_same_key_within_the_hour_returns_the_first_status(
    fake: FakeMastodon, http: HttpClient
) -> None:
    made = publisher(fake, http)
    first = await made.publish(post())
    again = await made.publish(post())
    assert again == first
    assert len(fake.posted) == 1


async def test_a_lost_answer_then_a_retry_posts_once(fake: FakeMastodon, http: HttpClient) -> None:
    made = await ready(fake, http)
    fake.lose_answer_next()
    with pytest.raises(PublishError) as lost:
        await made.publish(post())
    assert lost.value.transient and lost.value.maybe_sent
    assert made.idempotent  # so the worker retries it

    published = await made.publish(post())
    [status] = fake.posted
    assert published.external_id == status["id"]


# ----- faults ------------------------------------------------------------------------------


async def test_a_server_error_is_transient(fake: FakeMastodon, http: HttpClient) -> None:
    made = await ready(fake, http)
    fake.fail_next(503, {"error": "Service Unavailable"})
    with pytest.raises(PublishError) as failed:
        await made.publish(post())
    assert failed.value.transient
    assert "503" in failed.value.message


async def test_throttling_retries_at_mastodons_reset_time(
    fake: FakeMastodon, http: HttpClient
) -> None:
    made = await ready(fake, http)
    fake.rate_limit_next(reset_in=120)
    with pytest.raises(PublishError) as throttled:
        await made.publish(post())
    assert throttled.value.transient
    assert "Too many requests" in throttled.value.message
    assert throttled.value.retry_at is not None
    expected = datetime.now(UTC) + timedelta(seconds=120)
    assert abs((throttled.value.retry_at - expected).total_seconds()) < 5


async def test_a_time_out_is_transient_and_may_have_posted(
    fake: FakeMastodon, http: HttpClient
) -> None:
    made = await ready(fake, http)
    fake.timeout_next()
    with pytest.raises(PublishError) as slow:
        await made.publish(post())
    assert slow.value.transient and slow.value.maybe_sent


async def test_a_dropped_connection_is_transient(fake: FakeMastodon, http: HttpClient) -> None:
    made = await ready(fake, http)
    fake.drop_next()
    with pytest.raises(PublishError) as dropped:
        await made.publish(post())
    assert dropped.value.transient and dropped.value.maybe_sent


async def test_a_refused_token_is_permanent_with_mastodons_words_and_no_secret(
    fake: FakeMastodon, http: HttpClient
) -> None:
    made = MastodonPublisher(
        http=http, base_url=fake.base_url, token=SecretStr("wrong-secret-token"), account="it"
    )
    with pytest.raises(PublishError) as refused:
        await made.publish(post())
    assert not refused.value.transient
    assert "401" in refused.value.message
    assert "The access token is invalid" in refused.value.message
    assert "wrong-secret-token" not in refused.value.message


async def test_mastodons_validation_is_permanent_with_its_message(
    fake: FakeMastodon, http: HttpClient
) -> None:
    made = await ready(fake, http)  # read 500; the instance's limit then drops
    fake.max_characters = 50
    with pytest.raises(PublishError) as invalid:
        await made.publish(post("y" * 80))
    assert not invalid.value.transient
    assert "Validation failed: Text character limit of 50 exceeded" in invalid.value.message


# ----- the status card ---------------------------------------------------------------------


def with_card(fake: FakeMastodon, http: HttpClient, tmp_path: Path) -> MastodonPublisher:
    return MastodonPublisher(
        http=http,
        base_url=fake.base_url,
        token=SecretStr(TOKEN),
        account="it",
        attach_card=True,
        config=make_config(),
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'crier.db'}"),
        clock=FakeClock(),
        poll_seconds=0,
    )


async def test_attach_card_uploads_the_card_with_its_alt_text_as_the_description(
    fake: FakeMastodon, http: HttpClient, tmp_path: Path
) -> None:
    published = await with_card(fake, http, tmp_path).publish(post())

    facts = card_facts(post(), config=make_config(), at=FakeClock().now())
    [media] = fake.media.values()
    assert media["data"] == render_card(facts)
    assert media["description"] == alt_text(facts)
    assert "Blackboard, Investigating" in media["description"]
    [status] = fake.posted
    assert status["id"] == published.external_id and status["text"] == TEXT
    assert [a["id"] for a in status["media_attachments"]] == [media["id"]]


async def test_a_card_still_processing_is_waited_for_before_posting(
    fake: FakeMastodon, http: HttpClient, tmp_path: Path
) -> None:
    fake.processing_polls = 2
    await with_card(fake, http, tmp_path).publish(post())
    [media] = fake.media.values()
    [status] = fake.posted
    assert [a["id"] for a in status["media_attachments"]] == [media["id"]]
    assert sum(r.path.startswith("/api/v1/media/") for r in fake.received) == 3


async def test_without_attach_card_no_image_is_uploaded(
    fake: FakeMastodon, http: HttpClient
) -> None:
    await publisher(fake, http).publish(post())
    assert fake.media == {} and fake.posted[0]["media_attachments"] == []


# ----- build and check ---------------------------------------------------------------------


def context(store: Store, credentials: NetworkCredentials, **channel: object) -> PublisherContext:
    config = make_config(channels=channels_with("mastodon", **channel))
    return PublisherContext(
        network=Network.MASTODON,
        channel=config.channels[Network.MASTODON],
        credentials=credentials,
        http=HttpClient(redact=Redactor([])),
        settings=Settings(),
        config=config,
        store=store,
    )


def channels_with(network: str, **settings: object) -> dict[str, object]:
    channels: dict[str, object] = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    return {**channels, network: {"enabled": True, **settings}}


async def test_build_needs_the_token_and_the_instance(store: Store) -> None:
    with_token = NetworkCredentials(mastodon_access_token=SecretStr(TOKEN))
    without = NetworkCredentials(mastodon_access_token=None)
    instance = "https://mastodon.example.edu"
    assert build(context(store, without, base_url=instance)) is None
    assert build(context(store, with_token)) is None  # which instance? the outbox, not a guess
    built = build(context(store, with_token, base_url=instance, account="@it"))
    assert built is not None and built.label == "Mastodon (@it@mastodon.example.edu)"
    assert not built.attaches_card
    carded = build(context(store, with_token, base_url=instance, attach_card=True))
    assert carded is not None and carded.attaches_card


async def test_check_reports_ready_with_the_account_and_limit(
    fake: FakeMastodon, http: HttpClient
) -> None:
    checked = await publisher(fake, http).check()
    assert checked.ready
    assert "@it@" in checked.detail and "500 characters" in checked.detail
    assert fake.posted == []


async def test_check_reports_a_revoked_token_as_expired(
    fake: FakeMastodon, http: HttpClient
) -> None:
    fake.revoke_token("The access token was revoked")
    checked = await publisher(fake, http).check()
    assert checked.state == "expired"
    assert "The access token was revoked" in checked.detail and TOKEN not in checked.detail


async def test_check_reports_an_unreachable_instance(http: HttpClient) -> None:
    made = MastodonPublisher(http=http, base_url="http://127.0.0.1:9", token=SecretStr("t"))
    assert (await made.check()).state == "unreachable"


# ----- through the core --------------------------------------------------------------------


async def test_declare_approve_publish_then_a_retried_delivery_does_not_post_twice(
    store: Store, fake: FakeMastodon
) -> None:
    config = make_config(channels=channels_with("mastodon", base_url=fake.base_url, account="it"))
    clock = FakeClock()
    core = build_core(
        settings=Settings(),
        config=config,
        store=store,
        clock=clock,
        credentials=NetworkCredentials(mastodon_access_token=SecretStr(TOKEN)),
    )
    try:
        mastodon = core.publishers[Network.MASTODON]
        assert isinstance(mastodon, MastodonPublisher)
        draft = await core.declare(
            Actor("slack", ANALYST),
            DeclareRequest(
                service="Blackboard", summary="cannot log in", channels=(Network.MASTODON,)
            ),
        )
        await core.approve(Actor("slack", APPROVER), draft.post.id)
        await mastodon.character_limit()
        fake.lose_answer_next()  # Mastodon posts it; Crier never hears back

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

    [status] = fake.posted
    assert [r.path for r in fake.received].count("/api/v1/statuses") == 2
    assert status["text"] == delivery.text and "cannot log in" in status["text"]
    assert delivery.state == DeliveryState.SENT
    assert delivery.external_id == status["id"] and delivery.url == status["url"]
