"""A simulated Slack workspace: a real aiohttp server on 127.0.0.1 that plays Slack's Web API.

The test suite points slack_sdk's client (and so a bolt ``AsyncApp``) at it; ``crier sandbox``
shows its state in a browser. It records every call, keeps what Slack would keep (messages,
threads, ephemerals, open modals) and can be told to fail, rate-limit or slow down::

    async with SlackWorkspace(channels={"C0INCIDENT": "incidents"}) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        await client.chat_postMessage(channel="C0INCIDENT", text="Database down")
        assert slack.messages("C0INCIDENT")[0]["text"] == "Database down"
"""

from __future__ import annotations

import asyncio
import copy
import functools
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aiohttp import web

from bot.ports import Clock
from handlers.sandbox.socket_mode import PATH as SOCKET_MODE_PATH
from handlers.sandbox.socket_mode import SocketModeEndpoint
from handlers.sandbox.workspace_api import API_METHODS, apply_response, read_args
from handlers.sandbox.workspace_state import JsonDict, SlackError, WorkspaceState

RESPONSE_URL_USES = 5
_T = TypeVar("_T")

__all__ = ["RecordedCall", "RecordedResponse", "SlackError", "SlackWorkspace", "WorkspaceEvent"]


# An HTTP answer: status, JSON body, headers.
Answer = tuple[int, JsonDict, dict[str, str]]


# What the workspace records, in order, for tests to look at and the sandbox page to show.
@dataclass
class RecordedCall:
    """One Web API request and the answer it got."""

    method: str
    args: JsonDict
    headers: dict[str, str]
    status: int = 200
    response: JsonDict = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        """Whether Slack said ``"ok": true``."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class RecordedResponse:
    """One POST to a response_url."""

    url: str
    body: JsonDict
    headers: dict[str, str]
    status: int = 200
    at: float = field(default_factory=time.time)


WorkspaceEvent = RecordedCall | RecordedResponse


@dataclass
class _ResponseUrl:
    channel: str | None
    user: str | None
    message_ts: str | None
    uses: int = 0


class SlackWorkspace(WorkspaceState):
    """A fake Slack Web API on ``127.0.0.1`` (a free port), in memory, for one event loop; what it
    keeps (``slack.messages(channel)``, ``slack.thread(channel, ts)`` …) is `WorkspaceState`'s."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",  # noqa: S107 - a fake token for a fake Slack
        users: dict[str, str] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        channels: dict[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(users=users, usergroups=usergroups, channels=channels, clock=clock)
        self.bot_token = bot_token
        self.socket_mode = SocketModeEndpoint()
        self.calls: list[RecordedCall] = []
        self.responses: list[RecordedResponse] = []
        # Canned answers for the next calls, by method (never changed: one may serve many).
        self._faults: defaultdict[str, deque[Answer]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._subscribers: list[asyncio.Queue[WorkspaceEvent]] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ----- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1, on a port the OS picks."""
        self._changed = asyncio.Event()  # bound to the loop the server runs in
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{response_id}", self._handle_response_url)
        app.router.add_get(SOCKET_MODE_PATH, self.socket_mode.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner, self._port = None, None

    async def __aenter__(self) -> SlackWorkspace:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._port is None:
            raise RuntimeError("SlackWorkspace is not started: await start() or use async with")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base for ``AsyncWebClient(base_url=...)``, ending in ``/api/``."""
        return f"{self.base_url}/api/"

    # ----- what happened --------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[RecordedCall]:
        """Calls to one method, in order; ``ok=True`` keeps only the successful ones."""
        return [c for c in self.calls if c.method == method and ok in (None, c.ok)]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        # A safety deadline, reached only when the call never comes: generous, so that a
        # correct run on a loaded machine does not fail.
        timeout: float = 15.0,  # noqa: ASYNC109 - a deadline per wait reads best in tests
        *,
        ok: bool | None = None,
    ) -> list[RecordedCall]:
        """Wait until ``method`` has been called ``count`` times; returns those calls.

        Raises TimeoutError naming every call made so far.
        """
        found = functools.partial(self.calls_to, method, ok=ok)
        return await self._wait_until(found, count, timeout, f"call(s) to {method}")

    async def wait_for_response(
        self,
        url: str | None = None,
        count: int = 1,
        timeout: float = 15.0,  # noqa: ASYNC109
    ) -> list[JsonDict]:
        """Wait until ``count`` POSTs reached ``url`` (any response_url if None); returns
        their bodies, as `responses_for` does."""

        def matching() -> list[JsonDict]:
            return [r.body for r in self.responses if url in (None, r.url)]

        return await self._wait_until(
            matching, count, timeout, f"POST(s) to {url or 'a response_url'}"
        )

    def responses_for(self, url: str) -> list[JsonDict]:
        """The bodies POSTed to one response_url, in order."""
        return [r.body for r in self.responses if r.url == url]

    @property
    def open_views(self) -> dict[str, JsonDict]:
        """Open modal views by view id, as Slack returned them."""
        return copy.deepcopy(self.views)

    def subscribe(self) -> asyncio.Queue[WorkspaceEvent]:
        """A queue that receives every call and response_url POST from now on."""
        queue: asyncio.Queue[WorkspaceEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WorkspaceEvent]) -> None:
        """Stop feeding a queue from `subscribe`."""
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    # ----- acting as Slack's users ----------------------------------------------------------

    def new_response_url(
        self, *, channel: str | None = None, user: str | None = None, message_ts: str | None = None
    ) -> str:
        """A response_url on this server, good for 5 POSTs.

        With ``channel`` set, its POSTs also act on the workspace as Slack's would:
        ``response_type: in_channel`` posts, ``replace_original``/``delete_original`` act on
        ``message_ts``, anything else is an ephemeral to ``user``.
        """
        response_id = secrets.token_hex(8)
        self._response_urls[response_id] = _ResponseUrl(channel, user, message_ts)
        return f"{self.base_url}/response/{response_id}"

    def post_as_user(
        self, channel: str, *, user: str, text: str, thread_ts: str | None = None
    ) -> JsonDict:
        """Put a message from a person into a channel (the bot may not edit it)."""
        return copy.deepcopy(self.post(channel, user=user, text=text, thread_ts=thread_ts))

    # ----- fault injection ------------------------------------------------------------------

    def fail_next(self, method: str, error: str = "invalid_auth", times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with ``{"ok": false, "error": error}``."""
        self._faults[method].extend([(200, {"ok": False, "error": error}, {})] * times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next calls with HTTP 429, ``Retry-After`` and error ``ratelimited``."""
        refusal = (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
        self._faults[method].extend([refusal] * times)

    def server_error_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer the next calls with an HTTP 5xx."""
        refusal: Answer = (status, {"ok": False, "error": "internal_error"}, {})
        self._faults[method].extend([refusal] * times)

    def delay(self, method: str, seconds: float) -> None:
        """Add latency to every call to ``method`` (``"*"``: all methods; 0 removes it)."""
        if seconds > 0:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def reset(self, *, state: bool = False) -> None:
        """Forget recorded calls and responses, faults and delays; ``state=True`` also wipes
        messages, ephemerals and views."""
        self.calls.clear()
        self.responses.clear()
        self._faults.clear()
        self._delays.clear()
        if state:
            self.clear()

    # ----- HTTP -----------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await read_args(request)
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        token = args.pop("token", None)
        if scheme.lower() == "bearer" and bearer.strip():
            token = bearer.strip()
        latency = self._delays.get(method, self._delays.get("*", 0.0))
        if latency:
            await asyncio.sleep(latency)
        status, body, headers = self._answer(method, args, str(token or ""))
        call = RecordedCall(method, args, dict(request.headers), status, copy.deepcopy(body))
        self._record(call)
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, args: JsonDict, token: str) -> Answer:
        if method == "apps.connections.open":
            ws_url = self.base_url.replace("http://", "ws://", 1)
            return 200, self.socket_mode.open_connection(ws_url, token), {}
        if method not in API_METHODS:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.bot_token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        faults = self._faults.get(method)
        if faults:
            return faults.popleft()
        try:
            return 200, {"ok": True, **API_METHODS[method](self, args)}, {}
        except SlackError as refusal:
            return 200, refusal.body(), {}

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        body = await read_args(request)
        target = self._response_urls.get(response_id)
        status, text = 200, "ok"
        if target is None:
            status, text = 404, "no_service"
        elif target.uses >= RESPONSE_URL_USES:
            status, text = 404, "used_url"
        elif not any(body.get(k) for k in ("text", "blocks", "attachments", "delete_original")):
            status, text = 400, "no_text"
        else:
            target.uses += 1
            try:
                apply_response(
                    self,
                    body,
                    channel=target.channel,
                    user=target.user,
                    message_ts=target.message_ts,
                )
            except SlackError as refusal:
                status, text = 400, refusal.error
        url = f"{self.base_url}/response/{response_id}"
        self._record(RecordedResponse(url, body, dict(request.headers), status))
        return web.Response(status=status, text=text)

    # ----- plumbing -------------------------------------------------------------------------

    def _record(self, event: WorkspaceEvent) -> None:
        if isinstance(event, RecordedCall):
            self.calls.append(event)
        else:
            self.responses.append(event)
        self._changed.set()
        for queue in self._subscribers:
            queue.put_nowait(event)

    async def _wait_until(
        self,
        found: Callable[[], list[_T]],
        count: int,
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> list[_T]:
        try:
            async with asyncio.timeout(timeout):
                while len(found()) < count:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"expected {count} {what} within {timeout}s, got {len(found())}; "
                f"calls so far: {self._summary()}"
            ) from None
        return found()

    def _summary(self) -> str:
        parts = [
            c.method if c.ok else f"{c.method} ({c.response.get('error')})" for c in self.calls
        ]
        parts += [f"response_url ({r.status})" for r in self.responses]
        return ", ".join(parts) or "none"
