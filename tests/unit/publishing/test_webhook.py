"""The webhook: a signed JSON POST, deduplicated by the receiver on Idempotency-Key."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.config import ChannelConfig, Network
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.webhook import WebhookPublisher, build
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.webhook import FakeWebhook

SECRET = "whsec-test-secret"


@pytest.fixture
async def receiver() -> AsyncIterator[FakeWebhook]:
    fake = FakeWebhook(secret=SECRET)
    async with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def publisher_for(url: str, http: HttpClient, *, secret: str = SECRET) -> WebhookPublisher:
    return WebhookPublisher(http=http, url=url, secret=secret.encode())


def request(**overrides: Any) -> PublishRequest:
    fields: dict[str, Any] = {
        "network": Network.WEBHOOK,
        "text": "Blackboard: sign-in fails for some students. We're investigating. 2:45 PM EST",
        "idempotency_key": "delivery-1",
        "incident_id": 7,
        "post_kind": "initial",
        "status": "investigating",
        "service": "Blackboard",
        "title": "Blackboard: sign-in fails",
    }
    fields.update(overrides)
    return PublishRequest(**fields)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_post_is_signed_json_with_its_key(receiver: FakeWebhook, http: HttpClient) -> None:
    published = await publisher_for(receiver.url, http).publish(request())

    assert published.external_id == "evt_1"
    assert published.url == f"{receiver.base_url}/events/1"
    [payload] = receiver.deliveries
    assert payload["event"] == "crier.post"
    assert payload["text"] == request().text and payload["reply_to"] is None
    assert payload["incident_id"] == 7 and payload["status"] == "investigating"
    sent_at = datetime.fromisoformat(payload["sent_at"].replace("Z", "+00:00"))
    assert abs(sent_at - datetime.now(UTC)) < timedelta(minutes=1)
    [received] = receiver.received
    assert received.headers["Idempotency-Key"] == "delivery-1"
    assert received.headers["Content-Type"] == "application/json"
    # The receiver's recipe from the module docstring, by hand.
    timestamp = received.headers["X-Crier-Timestamp"]
    raw = json.dumps(received.body, ensure_ascii=False, separators=(",", ":")).encode()
    mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert received.headers["X-Crier-Signature"] == f"sha256={mac}"
    assert abs(time.time() - int(timestamp)) < 60


async def test_a_thread_of_three_carries_the_receivers_ids(
    receiver: FakeWebhook, http: HttpClient
) -> None:
    publisher = publisher_for(receiver.url, http)
    first = await publisher.publish(request())
    second = await publisher.publish(
        request(idempotency_key="delivery-2", status="identified", reply_to=first.external_id)
    )
    await publisher.publish(
        request(idempotency_key="delivery-3", status="resolved", reply_to=second.external_id)
    )
    assert [d["reply_to"] for d in receiver.deliveries] == [None, "evt_1", "evt_2"]


async def test_a_dry_run_posts_id_is_not_passed_on(receiver: FakeWebhook, http: HttpClient) -> None:
    await publisher_for(receiver.url, http).publish(request(reply_to="outbox-3"))
    assert receiver.deliveries[0]["reply_to"] is None


async def test_without_an_id_in_the_answer_the_key_is_the_id(http: HttpClient) -> None:
    receiver = FakeWebhook(secret=SECRET, answer_with_id=False)
    async with receiver:
        published = await publisher_for(receiver.url, http).publish(request())
    assert published.external_id == "delivery-1" and published.url is None


async def test_a_retry_with_the_same_key_is_received_once(
    receiver: FakeWebhook, http: HttpClient
) -> None:
    publisher = publisher_for(receiver.url, http)
    first = await publisher.publish(request())
    again = await publisher.publish(request())
    assert first == again
    assert len(receiver.deliveries) == 1 and len(receiver.received) == 2


async def test_a_wrong_secret_is_refused_for_good_without_the_secret_in_the_message(
    receiver: FakeWebhook, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as caught:
        await publisher_for(receiver.url, http, secret="an-old-secret").publish(request())
    assert not caught.value.transient
    assert "signature does not match" in caught.value.message
    assert "WEBHOOK_SECRET" in caught.value.message
    assert "an-old-secret" not in caught.value.message and SECRET not in caught.value.message
    assert receiver.deliveries == []


async def test_gone_is_permanent(receiver: FakeWebhook, http: HttpClient) -> None:
    receiver.gone = True
    with pytest.raises(PublishError, match=r"gone \(410\)") as caught:
        await publisher_for(receiver.url, http).publish(request())
    assert not caught.value.transient


async def test_a_server_error_is_transient(receiver: FakeWebhook, http: HttpClient) -> None:
    receiver.fail_next(502, {"error": "bad gateway"})
    with pytest.raises(PublishError) as caught:
        await publisher_for(receiver.url, http).publish(request())
    assert caught.value.transient and "502" in caught.value.message


async def test_rate_limiting_is_transient_until_retry_after(
    receiver: FakeWebhook, http: HttpClient
) -> None:
    receiver.rate_limit_next(reset_in=20)
    before = datetime.now(UTC)
    with pytest.raises(PublishError) as caught:
        await publisher_for(receiver.url, http).publish(request())
    assert caught.value.transient and caught.value.retry_at is not None
    assert before + timedelta(seconds=19) <= caught.value.retry_at <= before + timedelta(seconds=22)


async def test_a_time_out_is_transient_and_maybe_sent(
    receiver: FakeWebhook, http: HttpClient
) -> None:
    receiver.timeout_next()
    with pytest.raises(PublishError) as caught:
        await publisher_for(receiver.url, http).publish(request())
    assert caught.value.transient and caught.value.maybe_sent


async def test_a_dropped_connection_is_transient(receiver: FakeWebhook, http: HttpClient) -> None:
    receiver.drop_next()
    with pytest.raises(PublishError) as caught:
        await publisher_for(receiver.url, http).publish(request())
    assert caught.value.transient


async def test_a_bad_request_is_permanent_with_the_receivers_words(
    receiver: FakeWebhook, http: HttpClient
) -> None:
    receiver.fail_next(422, {"error": "unknown service"})
    with pytest.raises(PublishError, match="unknown service") as caught:
        await publisher_for(receiver.url, http).publish(request())
    assert not caught.value.transient


async def test_a_redirect_is_not_followed(http: HttpClient) -> None:
    receiver = FakeWebhook(secret=SECRET)
    async with receiver:
        receiver.fail_next(308, {}, headers={"Location": "https://hooks.example.edu/new"})
        with pytest.raises(PublishError, match=r"redirects \(308\) to hooks\.example\.edu"):
            await publisher_for(receiver.url, http).publish(request())
        assert len(receiver.received) == 0  # the fault answered; nothing followed it


# --- build and check ---------------------------------------------------------------------------


def context(channel: ChannelConfig, credentials: NetworkCredentials, store: Store) -> Any:
    return PublisherContext(
        network=Network.WEBHOOK,
        channel=channel,
        credentials=credentials,
        http=HttpClient(redact=Redactor([])),
        settings=Settings(),
        config=make_config(),
        store=store,
    )


def test_build_needs_the_url_and_the_secret(store: Store) -> None:
    url = "https://status.example.edu/hooks/crier?token=abc123"
    with_secret = NetworkCredentials(webhook_secret=SecretStr(SECRET))
    assert build(context(ChannelConfig(url=url), NetworkCredentials(), store)) is None
    assert build(context(ChannelConfig(), with_secret, store)) is None
    built = build(context(ChannelConfig(url=url), with_secret, store))
    assert built is not None and built.idempotent
    assert built.label == "Webhook (status.example.edu)"  # not the path, which may hold a token


async def test_check_is_an_options_request_and_posts_nothing(
    receiver: FakeWebhook, http: HttpClient
) -> None:
    ready = await publisher_for(receiver.url, http).check()
    assert ready.state == "ready" and "204" in ready.detail
    assert [r.method for r in receiver.received] == ["OPTIONS"]
    wrong = await publisher_for(receiver.base_url + "/nowhere", http).check()
    assert wrong.state == "error" and "404" in wrong.detail
    dead = await publisher_for(f"http://127.0.0.1:{free_port()}/hook", http).check()
    assert dead.state == "unreachable"
    assert receiver.deliveries == []


# --- through the core --------------------------------------------------------------------------


async def test_declare_and_approve_posts_once_even_when_resent(
    receiver: FakeWebhook, store: Store
) -> None:
    channels = {
        "x": {"enabled": True},
        "facebook": {"enabled": True},
        "mastodon": {"enabled": True},
        "bluesky": {"enabled": True},
        "statuspage": {"enabled": True},
        "webhook": {"enabled": True, "url": receiver.url},
    }
    core = build_core(
        settings=Settings(),
        config=make_config(channels=channels),
        store=store,
        clock=FakeClock(),
        credentials=NetworkCredentials(webhook_secret=SecretStr(SECRET)),
    )
    try:
        draft = await core.declare(
            Actor("slack", ANALYST),
            DeclareRequest(service="VPN", summary="cannot connect", channels=(Network.WEBHOOK,)),
        )
        await core.approve(Actor("slack", APPROVER), draft.post.id)
        assert await core.publishing.run_once() == 1
        with store.transaction() as session:
            [delivery] = session.exec(select(Delivery)).all()
        [payload] = receiver.deliveries
        assert delivery.state == DeliveryState.SENT and delivery.external_id == "evt_1"
        assert payload["text"] == delivery.text and payload["service"] == "VPN"
        assert payload["idempotency_key"] == delivery.idempotency_key

        # The process died after sending: the worker sends it again with the same key.
        with store.transaction() as session:
            stuck = session.get(Delivery, delivery.id)
            assert stuck is not None
            stuck.state = DeliveryState.SENDING
            stuck.claimed_until = datetime(2000, 1, 1, tzinfo=UTC)
        assert await core.publishing.run_once() == 1
        assert len(receiver.received) == 2 and len(receiver.deliveries) == 1
        with store.transaction() as session:
            assert session.get(Delivery, delivery.id).state == DeliveryState.SENT  # type: ignore[union-attr]
    finally:
        await core.close()
