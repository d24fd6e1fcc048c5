"""Atlassian Statuspage: one Statuspage incident per Crier incident, opened once, updated after."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.config import ChannelConfig, ConfigError, Network
from bot.core import build_core
from bot.incidents.requests import DeclareRequest, UpdateRequest
from bot.ports import Actor, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.statuspage import StatuspagePublisher, build, component_statuses
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState, IncidentStatus
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.statuspage import FakeStatuspage

API_KEY = "sp-test-key"
PAGE = "kctbh9vrtdwd"
BODY = "We're aware of a problem with Blackboard: cannot log in. We're investigating. 2:45 PM EST"


@pytest.fixture
async def statuspage() -> AsyncIterator[FakeStatuspage]:
    fake = FakeStatuspage(api_key=API_KEY, page_id=PAGE)
    async with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def publisher_for(
    fake: FakeStatuspage, http: HttpClient, *, api_key: str = API_KEY, page_id: str = PAGE
) -> StatuspagePublisher:
    return StatuspagePublisher(
        http=http,
        api_key=api_key,
        page_id=page_id,
        base_url=fake.base_url,
        instance="https://crier.test",
    )


def request(**overrides: Any) -> PublishRequest:
    fields: dict[str, Any] = {
        "network": Network.STATUSPAGE,
        "text": BODY,
        "idempotency_key": "delivery-1",
        "incident_id": 7,
        "post_kind": "initial",
        "status": "investigating",
        "service": "Blackboard",
        "title": "Blackboard: cannot log in",
        "component": "Learning platform",
        "extra": {"severity": "sev1"},
    }
    fields.update(overrides)
    return PublishRequest(**fields)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- publishing --------------------------------------------------------------------------------


async def test_the_first_post_opens_an_incident_with_its_component(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    published = await publisher_for(statuspage, http).publish(request())

    incident = statuspage.incidents[published.external_id]
    assert published.url == incident["shortlink"]
    assert incident["name"] == "Blackboard: cannot log in"
    assert incident["status"] == "investigating"
    assert [u["body"] for u in incident["incident_updates"]] == [BODY]
    assert incident["metadata"] == {"crier": {"incident_id": "7", "instance": "https://crier.test"}}
    assert [c["name"] for c in incident["components"]] == ["Learning platform"]
    assert statuspage.components["lp0000000001"]["status"] == "major_outage"
    create = next(r for r in statuspage.received if r.method == "POST")
    assert create.path == f"/v1/pages/{PAGE}/incidents"
    assert create.headers["Authorization"] == f"OAuth {API_KEY}"
    assert create.body["incident"]["components"] == {"lp0000000001": "major_outage"}
    assert create.body["incident"]["component_ids"] == ["lp0000000001"]


async def test_a_thread_of_three_posts_is_one_incident_updated_twice(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    publisher = publisher_for(statuspage, http)
    first = await publisher.publish(request())
    second = await publisher.publish(
        request(
            idempotency_key="delivery-2",
            post_kind="update",
            status="identified",
            text="We found the cause. 3:10 PM EST",
            reply_to=first.external_id,
            extra={"severity": "sev2"},
        )
    )
    third = await publisher.publish(
        request(
            idempotency_key="delivery-3",
            post_kind="resolution",
            status="resolved",
            text="Blackboard is working again. 3:40 PM EST",
            reply_to=second.external_id,
        )
    )

    assert first.external_id == second.external_id == third.external_id
    assert len(statuspage.incidents) == 1
    incident = statuspage.incidents[first.external_id]
    assert incident["status"] == "resolved" and incident["resolved_at"]
    assert [u["status"] for u in incident["incident_updates"]] == [
        "resolved",
        "identified",
        "investigating",
    ]
    assert statuspage.writes == [
        "POST /incidents",
        f"PATCH /incidents/{first.external_id}",
        f"PATCH /incidents/{first.external_id}",
    ]
    patches = [r.body["incident"] for r in statuspage.received if r.method == "PATCH"]
    assert patches[0]["components"] == {"lp0000000001": "partial_outage"}  # sev2 now
    assert patches[1]["components"] == {"lp0000000001": "operational"}
    assert statuspage.components["lp0000000001"]["status"] == "operational"


async def test_component_status_per_severity_comes_from_crier_yml(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    statuses = component_statuses(ChannelConfig(component_status={"sev3": "partial_outage"}))
    assert statuses == {
        "sev1": "major_outage",
        "sev2": "partial_outage",
        "sev3": "partial_outage",
    }
    publisher = StatuspagePublisher(
        http=http,
        api_key=API_KEY,
        page_id=PAGE,
        base_url=statuspage.base_url + "/v1",  # tolerated
        component_status=statuses,
    )
    await publisher.publish(request(extra={"severity": "sev3"}))
    assert statuspage.components["lp0000000001"]["status"] == "partial_outage"
    with pytest.raises(ConfigError, match=r"component_status\.sev1: 'down'"):
        component_statuses(ChannelConfig(component_status={"sev1": "down"}))


async def test_an_unknown_component_is_left_out_and_said_so(
    statuspage: FakeStatuspage, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.publishing.statuspage"):
        published = await publisher_for(statuspage, http).publish(request(component="Library"))
    assert statuspage.incidents[published.external_id]["components"] == []
    assert "no component named 'Library'" in caplog.text


async def test_components_are_read_page_by_page_once(http: HttpClient) -> None:
    many = {f"Component {n}": f"c{n:011d}" for n in range(150)}
    fake = FakeStatuspage(api_key=API_KEY, page_id=PAGE, components=many)
    async with fake:
        publisher = publisher_for(fake, http)
        await publisher.publish(request(component="component 120"))
        await publisher.publish(request(incident_id=8, component="Component 3", text="other"))
        reads = [r for r in fake.received if r.path.endswith("/components")]
    assert len(reads) == 2  # pages 1 and 2, then cached
    assert fake.components["c00000000120"]["status"] == "major_outage"
    assert fake.components["c00000000003"]["status"] == "major_outage"


async def test_a_long_title_is_shortened_to_statuspages_limit(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    published = await publisher_for(statuspage, http).publish(request(title="Blackboard " * 40))
    name = statuspage.incidents[published.external_id]["name"]
    assert len(name) == 255 and name.endswith("…")


async def test_a_dry_run_post_before_the_key_was_set_is_not_updated(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    await publisher_for(statuspage, http).publish(request(reply_to="outbox-3"))
    assert statuspage.writes == ["POST /incidents"]


# --- faults ------------------------------------------------------------------------------------


async def test_a_server_error_is_transient(statuspage: FakeStatuspage, http: HttpClient) -> None:
    statuspage.fail_next(503, {"error": "Service Unavailable"})
    with pytest.raises(PublishError) as caught:
        await publisher_for(statuspage, http).publish(request())
    assert caught.value.transient and not caught.value.maybe_sent
    assert "503" in caught.value.message and "Service Unavailable" in caught.value.message
    assert statuspage.incidents == {}


@pytest.mark.parametrize("status", [420, 429])
async def test_rate_limiting_is_transient_until_retry_after(
    statuspage: FakeStatuspage, http: HttpClient, status: int
) -> None:
    statuspage.fail_next(status, {"error": "Rate limit exceeded"}, headers={"Retry-After": "30"})
    before = datetime.now(UTC)
    with pytest.raises(PublishError) as caught:
        await publisher_for(statuspage, http).publish(request())
    assert caught.value.transient
    assert caught.value.retry_at is not None
    assert before + timedelta(seconds=29) <= caught.value.retry_at <= before + timedelta(seconds=32)


# --- Statuspage's rate limit: 60 requests in any 60 s per key ---------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed(clock: FakeClock) -> AsyncIterator[FakeStatuspage]:
    """A Statuspage counting each key's requests on the test's clock."""
    async with FakeStatuspage(
        api_key=API_KEY, page_id=PAGE, now=lambda: clock.now().timestamp()
    ) as fake:
        yield fake


def paced(fake: FakeStatuspage, http: HttpClient, clock: FakeClock) -> StatuspagePublisher:
    return StatuspagePublisher(
        http=http,
        api_key=API_KEY,
        page_id=PAGE,
        base_url=fake.base_url,
        instance="https://crier.test",
        clock=clock,
        sleep=clock.sleep,
    )


async def test_the_fake_refuses_a_61st_request_within_the_minute(
    timed: FakeStatuspage, http: HttpClient
) -> None:
    url = f"{timed.base_url}/v1/pages/{PAGE}"
    headers = {"Authorization": f"OAuth {API_KEY}"}
    answers = [await http.send("GET", url, network="t", headers=headers) for _ in range(61)]
    assert [a.status for a in answers[:60]] == [200] * 60
    assert answers[60].status == 420 and "Retry-After" not in answers[60].headers


async def test_requests_are_paced_to_the_window_without_meeting_the_limit(
    timed: FakeStatuspage, http: HttpClient, clock: FakeClock
) -> None:
    made = paced(timed, http, clock)
    start = clock.now()
    assert all(c.ready for c in await asyncio.gather(*(made.check() for _ in range(60))))
    assert clock.slept == []
    clock.advance(seconds=57)
    # Three more: each waits the 3 s until the first requests are a minute old.
    assert all(c.ready for c in await asyncio.gather(*(made.check() for _ in range(3))))
    assert clock.slept == [3.0, 3.0, 3.0]
    assert clock.now() == start + timedelta(seconds=60)
    assert timed.throttled == 0


async def test_a_burst_of_posts_waits_for_the_window_instead_of_being_refused(
    timed: FakeStatuspage, http: HttpClient, clock: FakeClock
) -> None:
    made = paced(timed, http, clock)
    start = clock.now()
    posts = [request(incident_id=n, text=f"{BODY} ({n})") for n in range(1, 31)]
    first = await asyncio.gather(*(made.publish(p) for p in posts), return_exceptions=True)
    waiting = [p for p, r in zip(posts, first, strict=True) if isinstance(r, PublishError)]
    assert waiting and len(waiting) < len(posts)
    for refused in (r for r in first if isinstance(r, PublishError)):
        assert refused.transient and refused.rate_limited
        assert refused.retry_at == start + timedelta(seconds=60)
        assert "pacing" in refused.message
    assert len(timed.received) == 60 and timed.throttled == 0

    clock.advance(seconds=60)  # what the delivery worker does: hold Statuspage until retry_at
    await asyncio.gather(*(made.publish(p) for p in waiting))
    assert len(timed.incidents) == len(posts) and timed.throttled == 0


@pytest.mark.parametrize("status", [420, 429])
async def test_a_refusal_without_retry_after_waits_out_the_window_and_sends_nothing_meanwhile(
    timed: FakeStatuspage, http: HttpClient, clock: FakeClock, status: int
) -> None:
    made = paced(timed, http, clock)
    timed.fail_next(status, {"error": "Rate limit exceeded"})
    with pytest.raises(PublishError) as caught:
        await made.publish(request())
    assert caught.value.transient and caught.value.rate_limited
    assert caught.value.retry_at == clock.now() + timedelta(seconds=60)
    sent = len(timed.received)

    clock.advance(seconds=30)
    with pytest.raises(PublishError) as again:
        await made.publish(request())
    assert again.value.retry_at == caught.value.retry_at and len(timed.received) == sent

    clock.advance(seconds=30)
    published = await made.publish(request())
    assert published.external_id in timed.incidents


async def test_a_time_out_is_transient_and_maybe_sent(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    statuspage.faults_on_reads = False
    statuspage.timeout_next()
    with pytest.raises(PublishError) as caught:
        await publisher_for(statuspage, http).publish(request())
    assert caught.value.transient and caught.value.maybe_sent


async def test_a_dropped_connection_is_transient(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    statuspage.faults_on_reads = False
    statuspage.drop_next()
    with pytest.raises(PublishError) as caught:
        await publisher_for(statuspage, http).publish(request())
    assert caught.value.transient and caught.value.maybe_sent


async def test_a_refused_key_is_permanent_with_statuspages_words_and_no_key(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    wrong = "sp-revoked-key-0123456789"
    with pytest.raises(PublishError) as caught:
        await publisher_for(statuspage, http, api_key=wrong).publish(request())
    assert not caught.value.transient
    assert "Could not authenticate" in caught.value.message
    assert "STATUSPAGE_API_KEY" in caught.value.message
    assert wrong not in caught.value.message and API_KEY not in caught.value.message


async def test_a_wrong_page_is_permanent(statuspage: FakeStatuspage, http: HttpClient) -> None:
    with pytest.raises(PublishError, match=r"channels\.statuspage\.account") as caught:
        await publisher_for(statuspage, http, page_id="nosuchpage").publish(request())
    assert not caught.value.transient


async def test_an_over_long_body_is_refused_for_good(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as caught:
        await publisher_for(statuspage, http).publish(request(text="x" * 25_001))
    assert not caught.value.transient
    assert "422" in caught.value.message and "Body is too long" in caught.value.message


async def test_an_unknown_status_is_refused_before_sending(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    with pytest.raises(PublishError, match="no incident status 'closed'"):
        await publisher_for(statuspage, http).publish(request(status="closed"))
    assert statuspage.received == []


# --- exactly once ------------------------------------------------------------------------------


async def test_a_create_whose_answer_was_lost_is_not_repeated(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    publisher = publisher_for(statuspage, http)
    statuspage.lose_next_answer()
    with pytest.raises(PublishError) as caught:
        await publisher.publish(request())
    assert caught.value.maybe_sent
    assert len(statuspage.incidents) == 1  # it did open, the answer never came

    published = await publisher.publish(request())  # the worker's retry, same delivery

    assert len(statuspage.incidents) == 1
    assert statuspage.writes == ["POST /incidents"]
    assert published.external_id in statuspage.incidents


async def test_an_update_whose_answer_was_lost_is_not_repeated(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    publisher = publisher_for(statuspage, http)
    first = await publisher.publish(request())
    update = request(
        idempotency_key="delivery-2",
        status="monitoring",
        text="A fix is in; we're watching. 3:20 PM EST",
        reply_to=first.external_id,
    )
    statuspage.lose_next_answer()
    with pytest.raises(PublishError):
        await publisher.publish(update)

    again = await publisher.publish(update)

    assert again.external_id == first.external_id
    assert len(statuspage.incidents[first.external_id]["incident_updates"]) == 2
    assert statuspage.writes.count(f"PATCH /incidents/{first.external_id}") == 1


async def test_a_second_post_without_reply_to_updates_the_open_incident(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    publisher = publisher_for(statuspage, http)
    first, second = await asyncio.gather(
        publisher.publish(request()),
        publisher.publish(
            request(idempotency_key="delivery-2", status="identified", text="Found it. 3:05 PM")
        ),
    )
    assert first.external_id == second.external_id
    assert len(statuspage.incidents) == 1
    assert len(statuspage.incidents[first.external_id]["incident_updates"]) == 2


async def test_another_crier_incident_gets_its_own_statuspage_incident(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    publisher = publisher_for(statuspage, http)
    one = await publisher.publish(request())
    other = await publisher.publish(request(incident_id=8, idempotency_key="d-8", text="Email."))
    assert one.external_id != other.external_id and len(statuspage.incidents) == 2


# --- build and check ---------------------------------------------------------------------------


def context(channel: ChannelConfig, credentials: NetworkCredentials, store: Store) -> Any:
    return PublisherContext(
        network=Network.STATUSPAGE,
        channel=channel,
        credentials=credentials,
        http=HttpClient(redact=Redactor([])),
        settings=Settings(),
        config=make_config(),
        store=store,
    )


def test_build_needs_the_key_and_the_page(store: Store) -> None:
    with_key = NetworkCredentials(statuspage_api_key=SecretStr(API_KEY))
    without = NetworkCredentials(statuspage_api_key=None)
    assert build(context(ChannelConfig(account=PAGE), without, store)) is None
    assert build(context(ChannelConfig(), with_key, store)) is None
    built = build(context(ChannelConfig(account=PAGE), with_key, store))
    assert built is not None and built.idempotent and PAGE in built.label
    with pytest.raises(ConfigError):
        build(context(ChannelConfig(account=PAGE, component_status={"sev2": "x"}), with_key, store))


async def test_check_reports_ready_expired_and_unreachable_and_writes_nothing(
    statuspage: FakeStatuspage, http: HttpClient
) -> None:
    ready = await publisher_for(statuspage, http).check()
    assert ready.state == "ready" and "Northfield IT Status" in ready.detail
    expired = await publisher_for(statuspage, http, api_key="old").check()
    assert expired.state == "expired" and "Could not authenticate" in expired.detail
    assert "old" not in expired.detail.replace("Could not", "")
    missing_page = await publisher_for(statuspage, http, page_id="nope").check()
    assert missing_page.state == "error"
    dead = StatuspagePublisher(
        http=http, api_key=API_KEY, page_id=PAGE, base_url=f"http://127.0.0.1:{free_port()}"
    )
    assert (await dead.check()).state == "unreachable"
    assert statuspage.writes == []


# --- through the core --------------------------------------------------------------------------


async def test_declare_approve_update_publishes_one_incident_once(
    statuspage: FakeStatuspage, store: Store
) -> None:
    channels = {
        "x": {"enabled": True},
        "facebook": {"enabled": True},
        "mastodon": {"enabled": True},
        "bluesky": {"enabled": True},
        "statuspage": {"enabled": True, "base_url": statuspage.base_url, "account": PAGE},
    }
    core = build_core(
        settings=Settings(),
        config=make_config(channels=channels),
        store=store,
        clock=FakeClock(),
        credentials=NetworkCredentials(statuspage_api_key=SecretStr(API_KEY)),
    )
    analyst, approver = Actor("slack", ANALYST), Actor("slack", APPROVER)
    try:
        draft = await core.declare(
            analyst,
            DeclareRequest(
                service="Blackboard", summary="cannot log in", channels=(Network.STATUSPAGE,)
            ),
        )
        await core.approve(approver, draft.post.id)
        assert await core.publishing.run_once() == 1

        [incident] = statuspage.incidents.values()
        with store.transaction() as session:
            [delivery] = session.exec(select(Delivery)).all()
        assert delivery.state == DeliveryState.SENT
        assert delivery.external_id == incident["id"] and delivery.url == incident["shortlink"]
        assert incident["incident_updates"][0]["body"] == delivery.text
        assert statuspage.components["lp0000000001"]["status"] == "major_outage"  # sev1

        # The process died after the post went out: the delivery is sent again, not posted again.
        with store.transaction() as session:
            stuck = session.get(Delivery, delivery.id)
            assert stuck is not None
            stuck.state = DeliveryState.SENDING
            stuck.claimed_until = datetime(2000, 1, 1, tzinfo=UTC)
            stuck.external_id = None
        assert await core.publishing.run_once() == 1
        assert statuspage.writes == ["POST /incidents"]

        update = await core.draft_update(
            analyst,
            draft.incident.id,
            UpdateRequest(status=IncidentStatus.IDENTIFIED, what_we_are_doing="Restarting it."),
        )
        await core.approve(approver, update.post.id)
        assert await core.publishing.run_once() == 1
        assert statuspage.writes == ["POST /incidents", f"PATCH /incidents/{incident['id']}"]
        assert len(statuspage.incidents) == 1
        assert incident["status"] == "identified"
    finally:
        await core.close()
