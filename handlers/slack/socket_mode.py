"""Slack's Socket Mode for ``crier serve`` (``SLACK_APP_TOKEN``): bolt's app over slack_sdk's
aiohttp client, connected in the background so that serve never waits for Slack.

slack_sdk's client retries a failed connect every 10 s for ever, with a traceback each time
and without naming what to fix, and its ``connect()`` does not return until it succeeds. Here
each attempt is one try; what is wrong is said once (naming ``SLACK_APP_TOKEN`` when Slack
refuses it, never its value), the next attempts follow with back-off, and the connection is a
task that serve cancels when it stops. A reconnection later (Slack asks for one, or the
connection drops) takes the same path.

An envelope that is not what Slack sends is acknowledged when it has an ``envelope_id`` (so
Slack does not send it again) and logged in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.redaction import mask
from handlers.slack.guards import malformed

log = logging.getLogger(__name__)

FIRST_DELAY = 10.0  # seconds before the second attempt …
LONGEST_DELAY = 300.0  # … doubling up to 5 minutes between attempts
ATTEMPT_WITHIN = 60.0  # one attempt (a new URL, then the WebSocket) gives up after this
PING_INTERVAL = 10.0  # as bolt's handler
ENVELOPE_ID_MAX = 200  # Slack's are about 40 characters
# apps.connections.open's answers that mean the token itself is wrong (not Slack's trouble).
REFUSALS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "missing_scope",
        "no_permission",
        "team_access_not_granted",
    }
)
_NOT_A_WORD = re.compile(r"[^\w.-]")

JsonDict = dict[str, Any]


@dataclass
class Backoff:
    """How long to wait after the ``failures``-th failed attempt: from ``FIRST_DELAY`` doubling
    up to ``LONGEST_DELAY``, each picked at random in its upper half so that replicas do not
    knock on Slack's door together. ``sleep`` is what waits (tests pass their own)."""

    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, failures: int) -> float:
        ceiling = min(LONGEST_DELAY, FIRST_DELAY * 2 ** min(max(failures, 1) - 1, 30))
        return ceiling * (0.5 + 0.5 * self.jitter())


def trouble(exc: BaseException, api_url: str) -> tuple[int, str]:
    """(log level, one line saying what is wrong and what to check); never the token."""
    problem = f"cannot connect to Slack by Socket Mode ({type(exc).__name__})"
    if isinstance(exc, SlackApiError):
        said = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        # Masked before it is cut: a cut token is not masked later.
        error = _NOT_A_WORD.sub("?", mask(said))[:60]
        if error in REFUSALS:
            return logging.ERROR, (
                f"Slack refused SLACK_APP_TOKEN ({error}): create an app-level token (xapp-…) "
                "with the connections:write scope (the app's Basic Information → App-Level "
                "Tokens), turn on Socket Mode, and set SLACK_APP_TOKEN to it. Slack is not "
                "connected; retrying in the background."
            )
        problem = f"Slack did not open a Socket Mode connection ({error})"
    elif isinstance(exc, aiohttp.WSServerHandshakeError):
        problem = f"Slack refused the Socket Mode WebSocket (HTTP {exc.status})"
    elif isinstance(exc, (aiohttp.ClientError, OSError, TimeoutError)):
        where = urlsplit(api_url).netloc or api_url
        if isinstance(exc, aiohttp.ClientConnectorError):
            where = f"{exc.host}:{exc.port}"
        problem = (
            f"cannot reach Slack at {where} for Socket Mode ({_reason(exc)}): check the network, "
            "a proxy (HTTPS_PROXY) or SLACK_API_URL. Slack is not connected"
        )
    return logging.WARNING, f"{problem}; retrying in the background."


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    code = getattr(cause, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code).lower()  # "connection refused", not "Connect call failed …"
    return str(getattr(cause, "strerror", None) or cause)[:160] or type(exc).__name__


def _retry_after(exc: BaseException) -> float:
    if isinstance(exc, SlackApiError) and exc.response.get("error") == "ratelimited":
        with contextlib.suppress(TypeError, ValueError):
            return float(exc.response.headers.get("Retry-After", 0))
    return 0.0


@dataclass(frozen=True)
class Malformed:
    """A message Crier cannot pass on: why, and its envelope id when it has one to ack."""

    why: str
    envelope_id: str | None = None
    kind: str = ""  # its type, as a short repr for the log
    size: int = 0  # characters


def examine(raw: str) -> JsonDict | Malformed:
    """The message to pass on to slack_sdk and bolt, or why it is not one Slack sends."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        return Malformed("not JSON", size=len(raw))
    if not isinstance(message, dict):
        return Malformed("not a JSON object", size=len(raw))
    kind = message.get("type")
    shown = repr(kind)[:40]
    envelope_id = message.get("envelope_id")
    if envelope_id is None and kind in ("hello", "disconnect"):
        return message  # Slack's own control messages: slack_sdk handles them
    if not isinstance(envelope_id, str) or not 0 < len(envelope_id) <= ENVELOPE_ID_MAX:
        return Malformed("no envelope_id", kind=shown, size=len(raw))
    if not isinstance(kind, str):
        return Malformed("type is not a string", envelope_id, shown)
    if "payload" not in message:
        return Malformed("no payload", envelope_id, shown)
    if not isinstance(message["payload"], dict):
        return Malformed("payload is not an object", envelope_id, shown)
    return message


class _Client(SocketModeClient):
    """slack_sdk's aiohttp client with one attempt per ``connect()`` (the link retries, with
    back-off), reconnections through the link, and malformed messages answered, not raised."""

    def __init__(self, link: SocketMode, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.link = link

    async def issue_new_wss_url(self) -> str:
        # slack_sdk's logs every failure with the whole answer; the link says it once.
        response = await self.web_client.apps_connections_open(app_token=self.app_token)
        url = response.get("url")
        if not isinstance(url, str):
            raise SlackApiError("apps.connections.open gave no url", response)
        return url

    async def disconnect(self) -> None:
        if self.current_session is not None:  # else slack_sdk logs that it abandoned "()"
            await super().disconnect()

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        if force or not await self.is_connected():
            self.link.reconnect()

    async def connect(self) -> None:
        """One attempt: a new URL, then the WebSocket; raises what went wrong. (slack_sdk's
        ``connect`` without its endless retry loop.)"""
        self.auto_reconnect_enabled = False  # until connected: the link is reconnecting
        old = self.current_session
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        self.wss_uri = await self.issue_new_wss_url()
        ssl = self.web_client.ssl if self.web_client.ssl is not None else True
        self.current_session = await self.aiohttp_client_session.ws_connect(
            self.wss_uri,
            autoping=False,
            heartbeat=self.ping_interval,
            proxy=self.proxy,
            ssl=ssl,
        )
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        self.stale = False
        await self.current_session.ping(f"sdk-ping-pong:{time.time()}".encode())
        for task in (self.current_session_monitor, self.message_receiver):
            if task is not None:
                task.cancel()
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        self.message_receiver = asyncio.ensure_future(self.receive_messages())

    async def process_message(self) -> None:
        raw = await self.message_queue.get()
        if raw is None:
            return
        found = examine(raw)
        if isinstance(found, Malformed):
            await self.link.refuse(self, found)
            return
        self.link.track(asyncio.ensure_future(self.run_message_listeners(found, raw)))


def _opener(client: AsyncWebClient) -> AsyncWebClient:
    """A client for ``apps.connections.open`` as the bot's, without its retry handlers: the
    link's back-off is the retry (and slack_sdk's would log each retry again)."""
    return AsyncWebClient(
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        retry_handlers=[],
    )


@dataclass
class SocketMode:
    """Crier's Socket Mode connection: ``start()`` in the running loop, ``close()`` to stop."""

    app: AsyncApp
    app_token: SecretStr
    api_url: str
    backoff: Backoff = field(default_factory=Backoff)
    _client: _Client | None = None
    _connecting: asyncio.Task[None] | None = None
    _handling: set[asyncio.Future[None]] = field(default_factory=set)

    def start(self) -> None:
        """Connect in the background; serve goes on at once."""
        self._client = _Client(
            self,
            app_token=self.app_token.get_secret_value(),
            logger=logging.getLogger("slack_sdk.socket_mode"),
            web_client=_opener(self.app.client),
            ping_interval=PING_INTERVAL,
        )
        self._client.socket_mode_request_listeners.append(self._handle)
        self.reconnect()

    def reconnect(self) -> None:
        """Start connecting, unless already connecting or closed."""
        client = self._client
        if client is None or client.closed:
            return
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.create_task(self._connect(client))

    async def close(self) -> None:
        """Stop connecting (even mid-attempt) and close the connection."""
        client, self._client = self._client, None
        if client is not None:
            client.closed = True
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        if client is not None:
            await client.close()

    async def _connect(self, client: _Client) -> None:
        failures, said = 0, None
        while not client.closed:
            try:
                async with asyncio.timeout(ATTEMPT_WITHIN):
                    await client.connect()
            except Exception as exc:
                if client.closed:
                    return
                failures += 1
                level, problem = trouble(exc, self.api_url)
                if problem != said:
                    log.log(level, problem)
                    said = problem
                else:
                    log.debug("Socket Mode: attempt %d failed the same way", failures)
                delay = max(self.backoff.delay(failures), _retry_after(exc))
                await self.backoff.sleep(delay)
                continue
            after = f" after {failures + 1} attempts" if failures else ""
            log.info("Connected to Slack by Socket Mode%s.", after)
            return

    async def _handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        """One envelope through bolt; acked when bolt answers 200 or refuses it (4xx), as a
        refused envelope would be refused again. A 5xx is not acked: Slack retries it."""
        started = time.time()
        problem = malformed(req.payload)  # before bolt, whose own middleware can trip on it
        if problem is not None:
            await self.refuse(client, Malformed(problem, req.envelope_id, repr(req.type)[:40]))
            return
        response = await run_async_bolt_app(self.app, req)
        if response.status == 200:
            await send_async_response(client, req, response, started)
        elif response.status < 500:
            await client.send_socket_mode_response({"envelope_id": req.envelope_id})
            log.info(
                "acknowledged a Slack %s envelope that Crier refused (%d)",
                req.type,
                response.status,
            )
        else:
            log.warning(
                "did not acknowledge a Slack %s envelope (%d): Slack will send it again",
                req.type,
                response.status,
            )

    async def refuse(self, client: AsyncBaseSocketModeClient, found: Malformed) -> None:
        """One log line; the ack when there is an envelope id to acknowledge."""
        if found.envelope_id is None:
            log.warning(
                "ignored a Socket Mode message (%d characters, type %s): %s",
                found.size,
                found.kind or "-",
                found.why,
            )
            return
        log.warning(
            "acknowledged and ignored a malformed Socket Mode envelope (type %s): %s",
            found.kind,
            found.why,
        )
        try:
            await client.send_socket_mode_response({"envelope_id": found.envelope_id})
        except Exception as exc:  # the connection is going: Slack sends it again, and so on
            log.warning("could not acknowledge it: %s", type(exc).__name__)

    def track(self, handling: asyncio.Future[None]) -> None:
        """Keep a reference to an envelope's task while it runs (asyncio holds only weak ones)."""
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)
