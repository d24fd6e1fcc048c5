"""The status site over HTTP: every answer cacheable and revalidated, 304s from memory, and a
path that is not one of the site's files is a 404 (a real server on 127.0.0.1, port 0)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.config import CrierConfig
from bot.site.cache import SiteCache
from bot.storage.schema import upgrade
from bot.storage.store import Store, open_store
from handlers.site import add_site_routes
from tests.clock import FakeClock
from tests.unit.site_rows import publish_to_site

SITE_URL = "https://status.example.edu/status/"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(store: Store, config: CrierConfig, clock: FakeClock) -> SiteCache:
    return SiteCache(store=store, config=config, clock=clock, site_url=SITE_URL)


@pytest.fixture
async def client(cache: SiteCache) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    add_site_routes(app, cache, "/status/")
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


def assert_safe_headers(headers: Mapping[str, str]) -> None:
    assert headers.get("Content-Security-Policy") == CSP
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "no-referrer"
    assert headers.get("Cache-Control") == "public, no-cache"


async def test_a_page_has_its_validators_and_safety_headers(
    client: TestClient[web.Request, web.Application], cache: SiteCache
) -> None:
    build = await cache.current()
    async with client.get("/status/") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == build.files[""].content_type
        assert response.headers["ETag"] == build.files[""].etag
        assert response.headers["Last-Modified"] == format_datetime(build.modified, usegmt=True)
        assert_safe_headers(response.headers)
        assert await response.read() == build.files[""].body
    async with client.get("/status/site.css") as response:
        assert response.status == 200 and response.content_type == "text/css"
        assert response.headers["ETag"] == build.files["site.css"].etag
        assert_safe_headers(response.headers)


async def test_a_current_copy_is_answered_304_without_a_body(
    client: TestClient[web.Request, web.Application], cache: SiteCache
) -> None:
    page = (await cache.current()).files[""]
    async with client.get("/status/") as response:
        last_modified = response.headers["Last-Modified"]
    weak_in_a_list = f'"stale", W/{page.etag}'  # RFC 9110: If-None-Match compares weakly
    for conditions in (
        {"If-None-Match": weak_in_a_list},
        {"If-None-Match": page.etag},
        {"If-None-Match": "*"},
        {"If-Modified-Since": last_modified},
    ):
        async with client.get("/status/", headers=conditions) as response:
            assert response.status == 304, conditions
            assert response.headers["ETag"] == page.etag
            assert_safe_headers(response.headers)
            assert await response.read() == b""
    earlier = format_datetime((await cache.current()).modified - timedelta(seconds=1), True)
    for conditions in (
        {"If-None-Match": '"stale"'},
        {"If-Modified-Since": earlier},
        # If-None-Match decides when both are sent: an old ETag is a changed page.
        {"If-None-Match": '"stale"', "If-Modified-Since": last_modified},
    ):
        async with client.get("/status/", headers=conditions) as response:
            assert response.status == 200, conditions
            assert await response.read() == page.body


async def test_head_answers_the_headers_of_get(
    client: TestClient[web.Request, web.Application], cache: SiteCache
) -> None:
    page = (await cache.current()).files["feed.atom"]
    async with client.head("/status/feed.atom") as response:
        assert response.status == 200
        assert response.headers["ETag"] == page.etag
        assert response.headers["Content-Length"] == str(len(page.body))
        assert_safe_headers(response.headers)
        assert await response.read() == b""


async def test_a_publish_shows_at_once_with_a_new_etag(
    client: TestClient[web.Request, web.Application],
    cache: SiteCache,
    store: Store,
    clock: FakeClock,
) -> None:
    async with client.get("/status/") as response:
        before = response.headers["ETag"]
    clock.advance(minutes=1)
    incident = publish_to_site(store, at=clock.now(), text="Blackboard: cannot log in.")
    cache.changed()
    async with client.get("/status/", headers={"If-None-Match": before}) as response:
        assert response.status == 200 and response.headers["ETag"] != before
        assert "Blackboard: cannot log in." in await response.text()
    async with client.get(f"/status/incidents/{incident}/") as response:
        assert response.status == 200 and "Blackboard: cannot log in." in await response.text()
    # Without its slash a page moves to its own URL, where its relative links work (as the
    # exported incidents/12/index.html does on any web server).
    async with client.get(f"/status/incidents/{incident}", allow_redirects=False) as response:
        assert response.status == 301
        assert response.headers["Location"] == f"/status/incidents/{incident}/"


async def test_the_prefix_without_its_slash_moves_to_it(
    client: TestClient[web.Request, web.Application],
) -> None:
    async with client.get("/status", allow_redirects=False) as response:
        assert response.status == 301 and response.headers["Location"] == "/status/"
        assert_safe_headers(response.headers)


async def test_what_is_not_a_file_of_the_site_is_a_small_404(
    client: TestClient[web.Request, web.Application],
) -> None:
    for path in ("/status/nope", "/status/incidents/999/", "/status/site.css/"):
        async with client.get(path) as response:
            assert response.status == 404, path
            assert response.content_type == "text/html"
            assert 'href="/status/"' in await response.text()
            assert_safe_headers(response.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/status/../../etc/passwd",
        "/status/%2e%2e/%2e%2e/etc/passwd",
        "/status/..%2f..%2f..%2fetc%2fpasswd",
        "/status/incidents/..%2F..%2F..%2Fetc%2Fpasswd",
    ],
)
async def test_a_path_out_of_the_site_reads_no_file(
    client: TestClient[web.Request, web.Application], path: str
) -> None:
    # Sent as written: an HTTP client would resolve the dots before sending.
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 404 "), answer[:80]
    assert b"root:" not in answer


async def test_a_site_that_cannot_be_built_yet_answers_503_and_when_to_retry(
    tmp_path: Path, config: CrierConfig, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'lost.db'}")
    upgrade(store)
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE delivery"))  # a database that cannot be read
    app = web.Application()
    add_site_routes(app, SiteCache(store=store, config=config, clock=clock, site_url=SITE_URL))
    try:
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            with caplog.at_level(logging.ERROR, logger="handlers.site"):
                async with client.get("/status/") as response:
                    assert response.status == 503
                    assert response.headers["Retry-After"] == "30"
                    assert "try again in a minute" in await response.text()
                    assert response.headers["Content-Security-Policy"] == CSP
            assert "cannot build it" in caplog.text
    finally:
        store.dispose()
