"""Slack's Socket Mode, played locally: ``apps.connections.open`` hands out a WebSocket URL on
the simulated workspace, which then sends envelopes (slash commands, interactions) and waits for
the app's acknowledgement, as Slack's Socket Mode servers do."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

JsonDict = dict[str, Any]
PATH = "/socket-mode"


class SocketModeEndpoint:
    def __init__(self) -> None:
        self.app_token = "xapp-test-token"  # noqa: S105 - a fake token; tests may change it
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[JsonDict]] = {}
        self._connected = asyncio.Event()
        self.connections = 0  # WebSocket connections opened so far

    def open_connection(self, base_ws_url: str, token: str) -> JsonDict:
        """The body of ``apps.connections.open``: needs the app-level token, not the bot's."""
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": f"{base_ws_url}{PATH}?ticket={secrets.token_hex(8)}"}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "debug_info": {"host": "crier-sandbox"}}
        )
        self._sockets.append(socket)
        self.connections += 1
        self._connected.set()
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                waiter = self._acks.pop(str(ack.get("envelope_id")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        finally:
            self._sockets.remove(socket)
        return socket

    async def drop(self) -> None:
        """Close every connection, as Slack does now and then: the app must connect again."""
        self._connected.clear()
        for socket in list(self._sockets):
            await socket.close()

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def send(
        self,
        envelope_type: str,
        payload: JsonDict,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JsonDict:
        """Deliver one envelope to the connected app and return its acknowledgement."""
        envelope_id = secrets.token_hex(8)
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        ack = await self.send_raw(json.dumps(envelope), envelope_id=envelope_id, timeout=timeout)
        assert ack is not None
        return ack

    async def send_raw(
        self,
        text: str,
        *,
        envelope_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JsonDict | None:
        """Send ``text`` as it is (a malformed envelope, say); with ``envelope_id``, wait for
        the app's acknowledgement of that id and return it."""
        if not self._sockets:
            raise RuntimeError("no app is connected by Socket Mode")
        if envelope_id is None:
            await self._sockets[-1].send_str(text)
            return None
        waiter: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        await self._sockets[-1].send_str(text)
        async with asyncio.timeout(timeout):
            return await waiter
