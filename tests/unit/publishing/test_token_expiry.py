"""When a channel's token expires, as the network tells: Graph's ``debug_token`` (Facebook,
Instagram) and LinkedIn's token introspection; and what ``crier channels check`` says of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from pydantic import SecretStr

from bot.publishing.checks import run_channel_check
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.facebook import FacebookPublisher
from bot.publishing.http import HttpClient
from bot.publishing.instagram import InstagramPublisher
from bot.publishing.linkedin import LinkedInPublisher
from bot.redaction import Redactor
from bot.settings import Settings
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import make_config
from tests.fakes.networks.facebook import FakeGraph
from tests.fakes.networks.linkedin import FakeLinkedIn

PAGE = "1122334455"
IG_USER = "17841400000000001"
PAGE_TOKEN = "fb-page-token-secret"
IG_TOKEN = "ig-token-secret"
LI_TOKEN = "linkedin-token-secret"
CLIENT_ID = "li-client-id"
CLIENT_SECRET = "li-client-secret-value"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(
        page_id=PAGE,
        page_token=PAGE_TOKEN,
        ig_user_id=IG_USER,
        ig_token=IG_TOKEN,
        now=NOW.timestamp,  # the tokens' expiry is read on the test's time, never the wall's
    ) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def linkedin() -> AsyncIterator[FakeLinkedIn]:
    async with FakeLinkedIn(
        token=LI_TOKEN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=2.0))
    yield client
    await client.close()


def facebook(graph: FakeGraph, http: HttpClient, token: str = PAGE_TOKEN) -> FacebookPublisher:
    return FacebookPublisher(
        http=http,
        token=SecretStr(token),
        account=PAGE,
        config=make_config(),
        settings=Settings(),
        base_url=graph.base_url,
    )


def instagram(graph: FakeGraph, http: HttpClient) -> InstagramPublisher:
    return InstagramPublisher(
        http=http,
        token=SecretStr(IG_TOKEN),
        account=IG_USER,
        config=make_config(),
        settings=Settings(public_url="https://crier.example.edu"),
        base_url=graph.base_url,
    )


def linkedin_publisher(
    fake: FakeLinkedIn, http: HttpClient, *, client_secret: str | None = CLIENT_SECRET
) -> LinkedInPublisher:
    return LinkedInPublisher(
        http=http,
        token=SecretStr(LI_TOKEN),
        organization_id=fake.organization,
        base_url=fake.base_url,
        oauth_url=fake.base_url,
        client_id=CLIENT_ID if client_secret else None,
        client_secret=SecretStr(client_secret) if client_secret else None,
    )


# ----- Graph's debug_token ---------------------------------------------------------------------


async def test_facebook_check_tells_when_the_page_token_expires(
    graph: FakeGraph, http: HttpClient
) -> None:
    expires = NOW + timedelta(days=20)
    graph.token_expiry[PAGE_TOKEN] = (int(expires.timestamp()), 0)
    checked = await facebook(graph, http).check()
    assert checked.ready and checked.token is not None
    assert checked.token.expires_at == expires and not checked.token.never
    assert checked.token.setting == "FACEBOOK_PAGE_TOKEN"
    assert "developers.facebook.com" in checked.token.renew
    asked = [r for r in graph.received if r.path.endswith("/debug_token")]
    assert len(asked) == 1 and asked[0].method == "GET"
    assert checked.version is not None and checked.version.version == "v26.0"
    assert checked.version.setting == "channels.facebook.api_version"


async def test_the_earlier_of_token_and_data_access_expiry_counts(
    graph: FakeGraph, http: HttpClient
) -> None:
    data_access = NOW + timedelta(days=9)
    graph.token_expiry[PAGE_TOKEN] = (0, int(data_access.timestamp()))
    checked = await facebook(graph, http).check()
    assert checked.token is not None and checked.token.expires_at == data_access
    assert "data access" in checked.token.what


async def test_a_token_that_never_expires_says_so(graph: FakeGraph, http: HttpClient) -> None:
    checked = await facebook(graph, http).check()  # the fake's default: 0 and 0
    assert checked.token is not None and checked.token.never
    assert checked.token.expires_at is None


async def test_an_invalid_token_is_expired_and_never_shown(
    graph: FakeGraph, http: HttpClient
) -> None:
    checked = await facebook(graph, http, token="not-the-page-token").check()
    assert checked.state == "expired" and checked.token is None
    assert "not-the-page-token" not in checked.detail


async def test_when_debug_token_fails_the_check_still_reports_ready_without_a_date(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.fault_when = lambda r: r.path.endswith("/debug_token")
    graph.fail_next(500)
    checked = await facebook(graph, http).check()
    assert checked.ready and checked.token is not None
    assert checked.token.expires_at is None and not checked.token.never
    assert checked.token.unknown


async def test_past_its_expiry_on_the_fakes_clock_graph_refuses_the_token(
    http: HttpClient,
) -> None:
    clock = FakeClock(NOW)
    graph = FakeGraph(page_id=PAGE, page_token=PAGE_TOKEN, now=lambda: clock.now().timestamp())
    graph.token_expiry[PAGE_TOKEN] = (int((NOW + timedelta(hours=1)).timestamp()), 0)
    async with graph:
        assert (await facebook(graph, http).check()).ready
        clock.advance(hours=1)
        checked = await facebook(graph, http).check()
    assert checked.state == "expired" and "Session has expired" in checked.detail
    assert PAGE_TOKEN not in checked.detail


async def test_instagram_check_tells_when_its_token_expires(
    graph: FakeGraph, http: HttpClient
) -> None:
    expires = NOW + timedelta(days=50)
    graph.token_expiry[IG_TOKEN] = (int(expires.timestamp()), 0)
    checked = await instagram(graph, http).check()
    assert checked.ready and checked.token is not None
    assert checked.token.expires_at == expires
    assert checked.token.setting == "INSTAGRAM_ACCESS_TOKEN"
    assert checked.version is not None
    assert checked.version.setting == "channels.instagram.api_version"


# ----- LinkedIn's token introspection ----------------------------------------------------------


async def test_linkedin_check_tells_when_the_token_expires(
    linkedin: FakeLinkedIn, http: HttpClient
) -> None:
    expires = NOW + timedelta(days=30)
    linkedin.token_expires_at = int(expires.timestamp())
    checked = await linkedin_publisher(linkedin, http).check()
    assert checked.ready and checked.token is not None
    assert checked.token.expires_at == expires
    assert checked.token.setting == "LINKEDIN_ACCESS_TOKEN"
    [asked] = [r for r in linkedin.received if r.path == "/oauth/v2/introspectToken"]
    assert asked.method == "POST" and asked.body["token"] == LI_TOKEN
    assert checked.version is not None and checked.version.version == "202607"


async def test_linkedin_without_client_credentials_cannot_tell(
    linkedin: FakeLinkedIn, http: HttpClient
) -> None:
    checked = await linkedin_publisher(linkedin, http, client_secret=None).check()
    assert checked.ready and checked.token is not None and checked.token.expires_at is None
    assert "LINKEDIN_CLIENT_ID" in checked.token.unknown
    assert not [r for r in linkedin.received if r.path.startswith("/oauth")]


async def test_linkedin_wrong_client_credentials_are_said_without_the_secret(
    linkedin: FakeLinkedIn, http: HttpClient
) -> None:
    checked = await linkedin_publisher(linkedin, http, client_secret="wrong-secret-value").check()
    assert checked.token is not None and checked.token.expires_at is None
    assert "LINKEDIN_CLIENT_SECRET" in checked.token.unknown
    assert "wrong-secret-value" not in checked.token.unknown


async def test_linkedin_introspection_of_an_expired_token(
    linkedin: FakeLinkedIn, http: HttpClient
) -> None:
    linkedin.expire_token()
    checked = await linkedin_publisher(linkedin, http).check()
    assert checked.state == "expired"


# ----- crier channels check --------------------------------------------------------------------


async def test_channels_check_shows_versions_and_expiry_dates(
    graph: FakeGraph, linkedin: FakeLinkedIn, store: Store
) -> None:
    graph.token_expiry[PAGE_TOKEN] = (int((NOW + timedelta(days=20)).timestamp()), 0)
    linkedin.token_expires_at = int((NOW + timedelta(days=45)).timestamp())
    config = make_config(
        channels={
            "facebook": {"base_url": graph.base_url, "account": PAGE, "api_version": "v21.0"},
            "instagram": {"base_url": graph.base_url, "account": IG_USER},
            "linkedin": {
                "base_url": linkedin.base_url,
                "oauth_url": linkedin.base_url,
                "account": linkedin.organization,
            },
        },
        services=[{"name": "VPN", "default_channels": []}],
    )
    credentials = NetworkCredentials(
        facebook_page_token=SecretStr(PAGE_TOKEN),
        instagram_access_token=SecretStr(IG_TOKEN),
        linkedin_access_token=SecretStr(LI_TOKEN),
        linkedin_client_id=SecretStr(CLIENT_ID),
        linkedin_client_secret=SecretStr(CLIENT_SECRET),
    )
    lines: list[str] = []
    code = await run_channel_check(
        config=config,
        settings=Settings(public_url="https://crier.example.edu"),
        store=store,
        credentials=credentials,
        out=lines.append,
        clock=FakeClock(NOW),
    )
    text = "\n".join(lines)
    assert code == 0, text
    for secret in (PAGE_TOKEN, IG_TOKEN, LI_TOKEN, CLIENT_SECRET):
        assert secret not in text
    facebook_lines = block_of(lines, "facebook")
    # v21.0 ends 2027-01-21: within 60 days, so a warning naming the key and the new value.
    assert any(
        "warning" in line
        and "v21.0" in line
        and "2027-01-21" in line
        and "channels.facebook.api_version" in line
        and "v26.0" in line
        for line in facebook_lines
    ), facebook_lines
    assert any(
        "FACEBOOK_PAGE_TOKEN" in line and "2026-12-22" in line and "in 20 days" in line
        for line in facebook_lines
    ), facebook_lines
    instagram_lines = block_of(lines, "instagram")
    assert any("v26.0" in line and "2028-07-29" in line for line in instagram_lines)
    assert any("never expires" in line for line in instagram_lines)
    linkedin_lines = block_of(lines, "linkedin")
    assert any("202607" in line and "2027-07-01" in line for line in linkedin_lines)
    assert any("2027-01-16" in line and "in 45 days" in line for line in linkedin_lines)
    assert "warning" in lines[-1]


def block_of(lines: list[str], network: str) -> list[str]:
    """A network's line and the indented lines under it."""
    start = next(i for i, line in enumerate(lines) if line.split()[0] == network)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


async def test_channels_check_counts_days_in_the_organisations_zone_like_the_health_check(
    graph: FakeGraph, store: Store
) -> None:
    """At 11:30 PM in New York on 20 January, v21.0 ends tomorrow there (it is already the 21st
    in UTC): the command says what the comms channel would, not that it has ended."""
    config = make_config(
        channels={"facebook": {"base_url": graph.base_url, "account": PAGE, "api_version": "21"}},
        services=[{"name": "VPN", "default_channels": []}],
    )
    lines: list[str] = []
    await run_channel_check(
        config=config,
        settings=Settings(),
        store=store,
        credentials=NetworkCredentials(facebook_page_token=SecretStr(PAGE_TOKEN)),
        out=lines.append,
        clock=FakeClock(datetime(2027, 1, 21, 4, 30, tzinfo=UTC)),
    )
    [warning] = [line for line in block_of(lines, "facebook") if "warning" in line]
    assert "v21.0 is switched off on 2027-01-21, in 1 day." in warning, lines
    assert "channels.facebook.api_version" in warning and "v26.0" in warning
