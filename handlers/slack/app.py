"""Build the Slack side: the Web API client, the bolt AsyncApp, its presenter and directory."""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response
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

from bot.chat.context import ChatContext
from bot.core import Core
from bot.settings import Settings
from handlers.refusals import RefusalLog
from handlers.slack import guards, listeners
from handlers.slack.presenter import SlackDirectory, SlackPresenter

log = logging.getLogger(__name__)


REPLAY_WINDOW = 5 * 60  # Slack's own limit on a request's age
REPLAYS_REMEMBERED = 100_000  # about 25 MB; far more requests than Slack sends in 5 minutes
_REFUSED = "refused a Slack request from %s: %s"


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
    replays: ReplayGuard = field(default_factory=ReplayGuard)
    refusals: RefusalLog = field(default_factory=lambda: RefusalLog(log))
    # False by Socket Mode without a signing secret: ``/slack/events`` answers ``events_off``.
    over_http: bool = True

    @asynccontextmanager
    async def one_session(self) -> AsyncIterator[None]:
        """One HTTP session for the Web API while Crier runs: without it slack_sdk opens a new
        connection (and TLS handshake) for every message it posts."""
        client = self.app.client
        client.session = aiohttp.ClientSession()
        try:
            yield
        finally:
            session, client.session = client.session, None
            await session.close()

    async def keep_connections(self, _app: web.Application) -> AsyncIterator[None]:
        async with self.one_session():
            yield

    async def handle(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: commands, interactivity and events, verified by bolt.

        Before bolt: the Slack headers (once each, Slack's shape), the size, the replay guard.
        Bolt's verifier then reads the very timestamp and signature the replay guard read.
        Every refusal is one short line, at most ``MOST_A_MINUTE`` a minute (``refusals``).
        """
        problem = guards.unverifiable(request.headers)
        if problem is not None:
            return self._refuse(request, 401, problem)
        if (request.content_length or 0) > request.client_max_size:  # refused unread
            refused = self._refuse(request, 413, "body over the size limit")
            refused.force_close()
            return refused
        timestamp = request.headers.get(guards.TIMESTAMP, "")
        signature = request.headers.get(guards.SIGNATURE, "")
        if signature and not self.replays.first_time(timestamp, signature):
            return self._refuse(request, 401, "replayed")
        try:  # a forged one must not block the genuine request: forget it when refused
            raw = await request.read()  # aiohttp stops reading at client_max_size
            bolt_request = guards.bolt_request(raw, request)
        except Exception as exc:  # bolt reads the payload before any middleware: junk can break it
            self.replays.forget(timestamp, signature)
            if isinstance(exc, web.HTTPRequestEntityTooLarge):
                return self._refuse(request, 413, "body over the size limit")
            return self._refuse(request, 400, "a payload bolt could not read")
        response = await self.app.async_dispatch(bolt_request)
        if response.status == 401:
            self.replays.forget(timestamp, signature)
            self.refusals.refused(_REFUSED, request.remote, "bad or expired signature")
        return await to_aiohttp_response(response)

    def _refuse(self, request: web.Request, status: int, why: str) -> web.Response:
        self.refusals.refused(_REFUSED, request.remote, why)
        return web.json_response({"error": f"refused: {why}"}, status=status)


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


@dataclass(frozen=True)
class SlackChat:
    """Slack's side of the core, built before it: the Web API client, the presenter and the
    directory of user groups. ``build_slack`` then wires bolt's app to the core."""

    client: AsyncWebClient
    presenter: SlackPresenter
    directory: SlackDirectory
    over_http: bool


def slack_chat(settings: Settings, chat: ChatContext) -> SlackChat | None:
    """Slack's presenter and directory, or None (with a log line) when Slack is not configured.

    Over HTTP (``/slack/events``) Slack needs the signing secret; by Socket Mode
    (``SLACK_APP_TOKEN``) it does not, and ``/slack/events`` is then not served."""
    over_http = settings.slack_signing_secret is not None
    if settings.slack_bot_token is None or not (over_http or settings.slack_app_token):
        log.warning(
            "Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN, "
            "for Socket Mode) to turn it on"
        )
        return None
    if settings.slack_signing_secret is None:
        log.info("Slack by Socket Mode only: POST /slack/events is off (no SLACK_SIGNING_SECRET)")
    client = web_client(settings)
    return SlackChat(
        client=client,
        presenter=SlackPresenter(chat=chat, client=client),
        directory=SlackDirectory(client),
        over_http=over_http,
    )


def build_slack(core: Core, settings: Settings, chat: SlackChat) -> SlackSide:
    """Bolt's app on Slack's side of the core: its checks and Crier's listeners."""
    app = AsyncApp(
        client=chat.client,
        # Without a signing secret, one nobody knows: bolt never accepts an HTTP request then
        # (it verifies with an empty secret rather than refusing), though none is routed to it.
        signing_secret=(
            settings.slack_signing_secret or SecretStr(secrets.token_urlsafe(32))
        ).get_secret_value(),
        raise_error_for_unhandled_request=False,
        # Right after bolt's signature check, before its authorization (which reads ``event``
        # as an object): a signed payload not shaped as Slack's is refused with 400 first.
        before_authorize=guards.WellFormed(),
    )
    # Run after bolt's own checks (signature, auth.test), before any listener.
    guards.quiet_bolt_forgeries()  # bolt would log each forged request's whole body
    app.middleware(guards.SameWorkspace())
    app.middleware(guards.OncePerDelivery(core))
    listeners.register(app, core=core, presenter=chat.presenter)
    return SlackSide(app=app, over_http=chat.over_http)


async def events_off(_request: web.Request) -> web.Response:
    """``POST /slack/events`` when Slack comes by Socket Mode only: nothing could verify it."""
    return web.json_response(
        {"error": "Slack over HTTP is off here: no SLACK_SIGNING_SECRET (Socket Mode only)"},
        status=404,
    )
