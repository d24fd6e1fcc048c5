"""What every fake network shares: a real aiohttp server on 127.0.0.1 (port 0), a record of
what it received, and faults to inject — latency, 5xx, 429 with a reset, time-outs and dropped
connections — consumed in order, per route.

A network's fake subclasses ``FakeNetwork``, adds its routes in ``routes()``, checks requests the
way the real API does, and answers with ``self.json(...)`` / ``self.error(...)``. Every route
handler should start with ``fault = await self.before(request)`` and return ``fault`` if it is not
None.

    class FakeMastodon(FakeNetwork):
        def routes(self) -> list[web.RouteDef]:
            return [web.post("/api/v1/statuses", self.create_status)]
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, form fields, or text
    at: float = field(default_factory=time.monotonic)
    query: dict[str, str] = field(default_factory=dict)  # the URL's parameters (reads are GETs)


@dataclass
class Fault:
    kind: str  # "status", "rate_limit", "timeout", "drop"
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class FakeNetwork:
    """Base of the fake networks. ``async with FakeX() as x: x.base_url …``"""

    name = "network"

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.received: list[Received] = []
        # Requests that reached a route, counted before latency and faults (``received`` is
        # filled after them): a test can act while requests are in flight.
        self.arrivals: list[str] = []
        self._faults: deque[Fault] = deque()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._hangs: list[asyncio.Future[None]] = []

    # ----- lifecycle -------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for hang in self._hangs:
            if not hang.done():
                hang.set_result(None)
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeNetwork:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        assert self._port is not None, "start() first"
        return f"http://127.0.0.1:{self._port}"

    # ----- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        body: Any = None,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        for _ in range(times):
            self._faults.append(Fault("status", status=status, body=body, headers=headers or {}))

    def rate_limit_next(
        self,
        *,
        reset_in: float = 1.0,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """429 with the network's own reset headers (subclasses override ``rate_limit_headers``)."""
        for _ in range(times):
            self._faults.append(
                Fault("rate_limit", status=429, seconds=reset_in, headers=headers or {}, body=body)
            )

    def timeout_next(self, *, times: int = 1) -> None:
        """Accept the request, then never answer (the client's time-out fires)."""
        for _ in range(times):
            self._faults.append(Fault("timeout"))

    def drop_next(self, *, times: int = 1) -> None:
        """Close the connection without an answer."""
        for _ in range(times):
            self._faults.append(Fault("drop"))

    def rate_limit_headers(self, reset_in: float) -> dict[str, str]:
        return {"Retry-After": str(max(1, round(reset_in)))}

    # ----- helpers for routes ----------------------------------------------------------------

    async def read(self, request: web.Request) -> Received:
        raw = await request.read()
        content_type = request.headers.get("Content-Type", "")
        body: Any
        if "json" in content_type:
            body = json.loads(raw or b"{}")
        elif "form" in content_type:
            body = dict((await request.post()).items()) if raw else {}
        else:
            body = raw.decode("utf-8", "replace")
        received = Received(
            request.method, request.path, dict(request.headers), body, query=dict(request.query)
        )
        self.received.append(received)
        return received

    async def before(self, request: web.Request) -> web.StreamResponse | None:
        """Latency and the next injected fault, if any. Call first in every route."""
        self.arrivals.append(f"{request.method} {request.path}")
        # Take the whole body first, as a real server does before its slow work: a client that
        # vanishes during the latency has still delivered its post.
        await request.read()
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self._faults:
            return None
        fault = self._faults.popleft()
        if fault.kind == "timeout":
            hang: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._hangs.append(hang)
            await hang
            return web.Response(status=504)
        if fault.kind == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never reaches the client
        headers = dict(fault.headers)
        if fault.kind == "rate_limit":
            headers = {**self.rate_limit_headers(fault.seconds), **headers}
        body = fault.body if fault.body is not None else {"error": f"injected {fault.status}"}
        return web.json_response(body, status=fault.status, headers=headers)

    @staticmethod
    def json(
        body: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.json_response(body, status=status, headers=headers)
