"""LinkedIn: the publisher against a fake REST API on 127.0.0.1, then through the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

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
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.linkedin import DEFAULT_VERSION, LinkedInPublisher, build, little_text
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config
from tests.fakes.networks.linkedin import FakeLinkedIn, shown_text

TOKEN = "linkedin-test-token"
ORG = "2414183"
TEXT = "Blackboard: students cannot sign in (since 2:30 PM). We're investigating. 2:45 PM EST"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLinkedIn]:
    server = FakeLinkedIn(token=TOKEN, organization=ORG, min_version="202511")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def publisher(
    fake: FakeLinkedIn,
    http: HttpClient,
    *,
    token: str = TOKEN,
    version: str = "202607",
    organization: str = ORG,
) -> LinkedInPublisher:
    return LinkedInPublisher(
        http=http,
        token=SecretStr(token),
        organization_id=organization,
        api_version=version,
        base_url=fake.base_url,
    )


def post(text: str = TEXT, *, reply_to: str | None = None) -> PublishRequest:
    return PublishRequest(
        network=Network.LINKEDIN,
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


async def test_posts_for_the_organisation_with_the_versioned_headers(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    published = await publisher(fake, http).publish(post())

    [sent] = fake.received
    assert sent.path == "/rest/posts"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Linkedin-Version"] == "202607"
    assert sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sent.body == {
        "author": f"urn:li:organization:{ORG}",
        "commentary": little_text(TEXT),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    [urn] = fake.posts
    assert published.external_id == urn and urn.startswith("urn:li:share:")
    assert published.url == f"https://www.linkedin.com/feed/update/{urn}"


async def test_reserved_characters_are_escaped_so_linkedin_shows_the_whole_text(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    text = (
        "Wi-Fi (eduroam) is down in [Library] & Hall_2 <3rd floor> {all} ~ * | @desk \\o/\n"
        "Help: https://it.example.edu/help/wi_fi #ITStatus"
    )
    published = await publisher(fake, http).publish(post(text))
    assert fake.shown(published.external_id) == text
    assert shown_text(text) == "Wi-Fi "  # what LinkedIn would show without the escaping


async def test_no_threads_each_update_is_a_new_post(fake: FakeLinkedIn, http: HttpClient) -> None:
    made = publisher(fake, http)
    first = await made.publish(post("Investigating."))
    second = await made.publish(post("Identified.", reply_to=first.external_id))
    assert first.external_id != second.external_id
    assert all(set(body) >= {"author", "commentary"} for body in fake.posts.values())
    assert not any("parent" in body or "reply" in str(body) for body in fake.posts.values())
    assert not made.idempotent


async def test_a_duplicate_means_the_post_is_there_and_is_taken_as_the_success(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    made = publisher(fake, http)
    first = await made.publish(post())
    again = await made.publish(post())  # a person's Retry after an unknown outcome
    assert again == first
    assert len(fake.posts) == 1


# ----- faults ------------------------------------------------------------------------------


async def test_an_outdated_version_is_permanent_and_says_what_to_change(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as outdated:
        await publisher(fake, http, version="202410").publish(post())
    assert not outdated.value.transient
    message = outdated.value.message
    assert "NONEXISTENT_VERSION: Requested version 202410 is not active" in message
    assert "channels.linkedin.api_version" in message and "crier.yml" in message
    assert fake.posts == {}


async def test_a_refused_token_is_permanent_with_linkedins_words_and_no_secret(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as refused:
        await publisher(fake, http, token="stolen-looking-token").publish(post())
    assert not refused.value.transient
    assert "401" in refused.value.message
    assert "INVALID_ACCESS_TOKEN: Invalid access token" in refused.value.message
    assert "stolen-looking-token" not in refused.value.message


async def test_an_expired_token_says_to_renew_it(fake: FakeLinkedIn, http: HttpClient) -> None:
    fake.expire_token()
    with pytest.raises(PublishError) as expired:
        await publisher(fake, http).publish(post())
    assert not expired.value.transient
    assert "The token used in the request has expired" in expired.value.message
    assert "LINKEDIN_ACCESS_TOKEN" in expired.value.message


async def test_posting_for_a_page_the_member_cannot_manage_is_permanent(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as denied:
        await publisher(fake, http, organization="999").publish(post())
    assert not denied.value.transient
    assert "ACCESS_DENIED" in denied.value.message
    assert "w_organization_social" in denied.value.message


async def test_the_daily_throttle_retries_after_midnight_utc(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    fake.rate_limit_next()
    with pytest.raises(PublishError) as throttled:
        await publisher(fake, http).publish(post())
    assert throttled.value.transient
    assert "TOO_MANY_REQUESTS" in throttled.value.message
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert throttled.value.retry_at == datetime.combine(tomorrow, time(), tzinfo=UTC)


async def test_a_server_error_is_transient(fake: FakeLinkedIn, http: HttpClient) -> None:
    fake.fail_next(503, {"status": 503, "message": "Service Unavailable"})
    with pytest.raises(PublishError) as failed:
        await publisher(fake, http).publish(post())
    assert failed.value.transient and "503" in failed.value.message


async def test_a_time_out_may_have_posted(fake: FakeLinkedIn, http: HttpClient) -> None:
    fake.timeout_next()
    with pytest.raises(PublishError) as slow:
        await publisher(fake, http).publish(post())
    assert slow.value.transient and slow.value.maybe_sent  # not idempotent: a person decides


async def test_a_dropped_connection_may_have_posted(fake: FakeLinkedIn, http: HttpClient) -> None:
    fake.drop_next()
    with pytest.raises(PublishError) as dropped:
        await publisher(fake, http).publish(post())
    assert dropped.value.transient and dropped.value.maybe_sent


async def test_over_3000_characters_is_refused_before_sending(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    with pytest.raises(PublishError) as refused:
        await publisher(fake, http).publish(post("z" * 3001))
    assert not refused.value.transient and "3001/3000" in refused.value.message
    assert fake.received == []


async def test_linkedins_validation_is_permanent_with_the_field(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    text = "(" * 1600  # 1600 characters, but 3200 once escaped: over LinkedIn's field limit
    with pytest.raises(PublishError) as refused:  # counted as sent, so refused before sending
        await publisher(fake, http).publish(post(text))
    assert not refused.value.transient and "3200/3000" in refused.value.message
    assert fake.received == []
    fake.fail_next(
        422,
        {
            "message": "ERROR :: /commentary :: Commentary is longer than 3000",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Commentary is longer than 3000",
                        "input": {"inputPath": {"fieldPath": "/commentary"}},
                        "code": "FIELD_LENGTH_TOO_LONG",
                    }
                ]
            },
            "status": 422,
        },
    )
    with pytest.raises(PublishError) as invalid:
        await publisher(fake, http).publish(post())
    assert not invalid.value.transient
    assert "422" in invalid.value.message
    assert "longer than 3000 at /commentary" in invalid.value.message


# ----- build and check ---------------------------------------------------------------------


def channels_with(network: str, **settings: object) -> dict[str, object]:
    channels: dict[str, object] = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    return {**channels, network: {"enabled": True, **settings}}


def context(
    store: Store,
    credentials: NetworkCredentials,
    *,
    http: HttpClient | None = None,
    **channel: object,
) -> PublisherContext:
    config = make_config(channels=channels_with("linkedin", **channel))
    return PublisherContext(
        network=Network.LINKEDIN,
        channel=config.channels[Network.LINKEDIN],
        credentials=credentials,
        http=http or HttpClient(redact=Redactor([])),
        settings=Settings(),
        config=config,
        store=store,
    )


async def test_build_needs_the_token_and_the_organisation(store: Store) -> None:
    token = NetworkCredentials(linkedin_access_token=SecretStr(TOKEN))
    without = NetworkCredentials(linkedin_access_token=None)
    assert build(context(store, without, account=ORG)) is None
    assert build(context(store, token)) is None
    built = build(context(store, token, account=f"urn:li:organization:{ORG}"))
    assert built is not None and built.label == f"LinkedIn (organisation {ORG})"


async def test_the_api_version_comes_from_crier_yml(
    store: Store, fake: FakeLinkedIn, http: HttpClient
) -> None:
    token = NetworkCredentials(linkedin_access_token=SecretStr(TOKEN))
    configured = context(
        store, token, http=http, account=ORG, base_url=fake.base_url, api_version="202512"
    )
    built = build(configured)
    assert built is not None
    await built.publish(post())
    assert fake.received[-1].headers["Linkedin-Version"] == "202512"
    defaulted = build(context(store, token, http=http, account=ORG, base_url=fake.base_url))
    assert defaulted is not None
    await defaulted.publish(post("Another."))
    assert fake.received[-1].headers["Linkedin-Version"] == DEFAULT_VERSION


async def test_check_reads_the_organisation_and_posts_nothing(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    checked = await publisher(fake, http).check()
    assert checked.ready
    assert "Northfield University IT Services" in checked.detail
    assert [r.method for r in fake.received] == ["GET"] and fake.posts == {}


async def test_check_reports_an_expired_token_and_an_outdated_version(
    fake: FakeLinkedIn, http: HttpClient
) -> None:
    outdated = await publisher(fake, http, version="202401").check()
    assert outdated.state == "error" and "api_version" in outdated.detail
    fake.expire_token()
    expired = await publisher(fake, http).check()
    assert expired.state == "expired" and "has expired" in expired.detail


async def test_an_unreachable_linkedin_still_reports_when_its_version_ends(
    http: HttpClient,
) -> None:
    """The version's end is known without LinkedIn: ``crier channels check`` and the daily health
    check say it even on a day LinkedIn cannot be reached."""
    made = LinkedInPublisher(
        http=http,
        token=SecretStr(TOKEN),
        organization_id=ORG,
        api_version="202601",
        base_url="http://127.0.0.1:9",
    )
    checked = await made.check()
    assert checked.state == "unreachable"
    assert checked.version is not None and checked.version.version == "202601"
    assert checked.version.setting == "channels.linkedin.api_version"


async def test_the_fake_switches_a_version_off_a_year_after_its_month_on_its_clock(
    http: HttpClient,
) -> None:
    clock = FakeClock(datetime(2027, 6, 30, 23, 0, tzinfo=UTC))
    async with FakeLinkedIn(
        token=TOKEN, organization=ORG, now=lambda: clock.now().timestamp()
    ) as linkedin:
        made = publisher(linkedin, http, version="202607")
        assert (await made.check()).ready
        clock.advance(hours=1)  # 1 July 2027: twelve months from 202607
        with pytest.raises(PublishError) as sunset:
            await made.publish(post())
    assert "Requested version 202607 is not active" in sunset.value.message
    assert not sunset.value.transient and linkedin.posts == {}


# ----- through the core --------------------------------------------------------------------


async def test_declare_approve_publish_and_a_lost_answer_waits_for_a_person(
    store: Store, fake: FakeLinkedIn
) -> None:
    config = make_config(
        channels=channels_with(
            "linkedin", base_url=fake.base_url, account=ORG, api_version="202607"
        )
    )
    clock = FakeClock()
    core = build_core(
        settings=Settings(),
        config=config,
        store=store,
        clock=clock,
        credentials=NetworkCredentials(linkedin_access_token=SecretStr(TOKEN)),
    )
    analyst, approver = Actor("slack", ANALYST), Actor("slack", APPROVER)
    try:
        assert isinstance(core.publishers[Network.LINKEDIN], LinkedInPublisher)
        first = await core.declare(
            analyst,
            DeclareRequest(service="VPN", summary="cannot connect", channels=(Network.LINKEDIN,)),
        )
        await core.approve(approver, first.post.id)
        await core.publishing.run_once()
        with store.transaction() as session:
            sent = session.exec(select(Delivery)).one()
        [urn] = fake.posts
        assert sent.state == DeliveryState.SENT and sent.external_id == urn
        assert fake.shown(urn) == sent.text and "cannot connect" in (sent.text or "")

        # A second incident's post gets through, but its answer is lost: no blind re-post.
        second = await core.declare(
            analyst,
            DeclareRequest(service="Email", summary="mail is slow", channels=(Network.LINKEDIN,)),
        )
        await core.approve(approver, second.post.id)
        fake.lose_answer_next()
        await core.publishing.run_once()
        with store.transaction() as session:
            unknown = session.exec(select(Delivery).where(Delivery.id != sent.id)).one()
        assert unknown.state == DeliveryState.UNKNOWN and len(fake.posts) == 2

        # A person presses Retry: LinkedIn names the post it already has, nothing is doubled.
        assert unknown.id is not None
        await core.retry_delivery(approver, unknown.id)
        await core.publishing.run_once()
        with store.transaction() as session:
            retried = session.get(Delivery, unknown.id)
    finally:
        await core.close()

    assert retried is not None and retried.state == DeliveryState.SENT
    assert len(fake.posts) == 2 and retried.external_id in fake.posts
    assert fake.shown(retried.external_id) == retried.text
