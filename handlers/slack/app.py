"""Build the Slack side: the Web API client, the bolt AsyncApp, its presenter and directory."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.core import Core
from handlers.slack import guards, listeners
from handlers.slack.events import register_events
from handlers.slack.hands import HandsSwitch, LocalHands
from handlers.slack.presenter import PLATFORM, SlackDirectory, SlackPresenter

log = logging.getLogger(__name__)


REPLAY_WINDOW = 5 * 60  # Slack's own limit on a request's age
REPLAYS_REMEMBERED = 100_000  # about 25 MB; far more requests than Slack sends in 5 minutes


class ReplayGuard:
    """Refuses a signed request seen before: bolt checks the signature and its age, not reuse.

    Every entry lives for the same window, so insertion order is also the order in which
    entries expire: each request drops only the expired ones at the front. An OrderedDict,
    because it finds its first entry at once: a plain dict scans past the slots of entries
    deleted from its front, which at 100,000 entries cost up to 70 µs a request (and before
    that, copying every entry on each request took most of serve's time under a flood).
    Beyond ``most`` entries the oldest go early: under such a flood a replay of a request from
    some seconds ago could pass, where Crier would otherwise run out of memory.
    """

    def __init__(self, window: float = REPLAY_WINDOW, most: int = REPLAYS_REMEMBERED) -> None:
        self._window = window
        self._most = most
        # One string per request, not a tuple: strings are invisible to the garbage collector.
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, timestamp: str, signature: str) -> bool:
        now = time.monotonic()
        seen = self._seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest] >= now and len(seen) < self._most:
                break
            del seen[oldest]
        key = f"{timestamp}:{signature}"
        if key in seen:
            return False
        seen[key] = now + self._window
        return True

    def forget(self, timestamp: str, signature: str) -> None:
        self._seen.pop(f"{timestamp}:{signature}", None)


@dataclass
class SlackSide:
    app: AsyncApp
    client: AsyncWebClient
    presenter: SlackPresenter
    hands: HandsSwitch
    local_hands: LocalHands
    replays: ReplayGuard = field(default_factory=ReplayGuard)

    @asynccontextmanager
    async def one_session(self) -> AsyncIterator[None]:
        """One HTTP session for the Web API while Crier runs: without it slack_sdk opens a new
        connection (and TLS handshake) for every message it posts."""
        self.client.session = aiohttp.ClientSession()
        try:
            yield
        finally:
            session, self.client.session = self.client.session, None
            await session.close()

    async def keep_connections(self, _app: web.Application) -> AsyncIterator[None]:
        async with self.one_session():
            yield

    async def handle(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: commands, interactivity and events, verified by bolt."""
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if signature and not self.replays.first_time(timestamp, signature):
            log.warning("refused a replayed Slack request (timestamp %s)", timestamp)
            return web.json_response({"error": "replayed request"}, status=401)
        await request.read()  # over MAX_BODY: aiohttp answers 413 here, before anything is parsed
        try:
            bolt_request = await to_bolt_request(request)
        except Exception:  # bolt reads the payload before any middleware: junk can break it
            log.warning("refused a Slack request whose payload bolt could not read")
            return web.json_response({"error": "malformed request"}, status=400)
        response = await self.app.async_dispatch(bolt_request)
        if response.status == 401:  # a forged one must not block the genuine request
            self.replays.forget(timestamp, signature)
            log.warning("refused a Slack request with a bad or expired signature")
        return await to_aiohttp_response(response)


class ServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """Retry every 5xx: slack_sdk's handler retries only 500 and 503, and Slack's edge also
    answers 502 and 504 when it is struggling — exactly when an outage is being announced."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def web_client(settings: Settings) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        # Messages to the thread must not be lost to a 429 or a passing 5xx.
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_slack(core: Core, settings: Settings) -> SlackSide | None:
    """The Slack app, or None (with a log line) when Slack is not configured."""
    if settings.slack_signing_secret is None or settings.slack_bot_token is None:
        log.warning("Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on")
        return None
    client = web_client(settings)
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        raise_error_for_unhandled_request=False,
        # Answer Slack when a listener returns, rather than bolt polling every 10 ms for its
        # ack; every listener therefore hands what follows its ack to ``later`` (common.py).
        process_before_response=True,
    )
    presenter = SlackPresenter(core=core, client=client)
    core.presenters[PLATFORM] = presenter
    core.directories[PLATFORM] = SlackDirectory(client)
    # Run after bolt's own checks (signature, auth.test), before any listener.
    app.middleware(guards.WellFormed())
    app.middleware(guards.SameWorkspace())
    app.middleware(guards.OncePerEvent(core))
    local = LocalHands(core=core, presenter=presenter)
    hands = HandsSwitch(current=local)
    listeners.register(app, core=core, presenter=presenter, hands=hands)
    register_events(app, core)
    return SlackSide(app=app, client=client, presenter=presenter, hands=hands, local_hands=local)
