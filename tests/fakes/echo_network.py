"""A careless API: it refuses every request and echoes what it was sent — the Authorization
header, the query and the body — in its error, in every field a network's error parser reads.

Point every channel's ``base_url`` (and the webhook's ``url``) at it to check that a token sent
to a network never comes back out of Crier::

    async with EchoNetwork() as echo:
        echo.status = 500
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.networks.base import FakeNetwork


class EchoNetwork(FakeNetwork):
    name = "echo"

    def __init__(self, *, status: int = 401) -> None:
        super().__init__()
        self.status = status

    async def start(self) -> None:
        # No access log: the request line may hold a token (?access_token=…), and the tests
        # search every log line for secrets — this server's lines are not Crier's.
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{path:.*}", self.refuse)]

    async def refuse(self, request: web.Request) -> web.StreamResponse:
        received = await self.read(request)
        said = (
            f"invalid credentials {request.headers.get('Authorization', '')} "
            f"for {request.path_qs} with {received.body!r}"
        )
        body: dict[str, Any] = {
            "error": {"message": said, "type": "OAuthException", "code": 190},
            "error_description": said,
            "message": said,
            "detail": said,
            "title": said,
            "errors": [{"message": said, "detail": said, "code": 32}],
        }
        return web.json_response(body, status=self.status)
