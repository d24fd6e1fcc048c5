"""A fake Bot Connector service: what Crier sends to Teams lands here, on 127.0.0.1, port 0.

It answers the three calls a bot makes as the real service does (``{"id": ...}``)::

    POST /v3/conversations/{id}/activities               a new message
    POST /v3/conversations/{id}/activities/{replyToId}   a reply
    PUT  /v3/conversations/{id}/activities/{activityId}  an update

and keeps each message as it is now, so a test reads what people would see::

    async with FakeBotConnector() as connector:
        activity["serviceUrl"] = connector.service_url
        ...
        await connector.wait_for(lambda: len(connector.posts()) >= 2)
        card = connector.card(connector.posts()[1].id)

``fail_next(429, retry_after=0)`` makes the next call fail, as a throttled service would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]
CARD = "application/vnd.microsoft.card.adaptive"


@dataclass
class ConnectorCall:
    method: str  # "POST" (new message or reply) or "PUT" (update)
    conversation_id: str
    activity: JsonDict
    path_activity_id: str | None  # the replyToId of a reply, or the id being updated
    status: int
    id: str = ""  # the id the service answered (or the updated one)

    @property
    def cards(self) -> list[JsonDict]:
        return [
            a["content"]
            for a in self.activity.get("attachments") or []
            if a.get("contentType") == CARD
        ]


@dataclass
class Failure:
    status: int
    retry_after: float | None


@dataclass
class FakeBotConnector:
    calls: list[ConnectorCall] = field(default_factory=list)
    messages: dict[str, JsonDict] = field(default_factory=dict)  # id → the message as it is now
    conversations: dict[str, str] = field(default_factory=dict)  # id → conversation id
    _failures: deque[Failure] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    service_url: str = ""

    async def __aenter__(self) -> FakeBotConnector:
        app = web.Application()
        base = "/v3/conversations/{conversation}/activities"
        app.router.add_post(base, self._post)
        app.router.add_post(base + "/{activity}", self._post)
        app.router.add_put(base + "/{activity}", self._put)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.service_url = f"http://{host}:{port}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None) -> None:
        """The next ``times`` calls fail with ``status`` (a 429 may say when to come back)."""
        self._failures.extend(Failure(status, retry_after) for _ in range(times))

    def _failure(self, call: ConnectorCall) -> web.Response | None:
        if not self._failures:
            return None
        failure = self._failures.popleft()
        call.status = failure.status
        self._record(call)
        headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
        body = {"error": {"code": "Throttled" if failure.status == 429 else "ServiceError"}}
        return web.json_response(body, status=failure.status, headers=headers)

    def _record(self, call: ConnectorCall) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _post(self, request: web.Request) -> web.Response:
        activity: JsonDict = await request.json()
        conversation = request.match_info["conversation"]
        call = ConnectorCall(
            "POST", conversation, activity, request.match_info.get("activity"), 201
        )
        failed = self._failure(call)
        if failed is not None:
            return failed
        call.id = f"1{next(self._ids):05d}"  # Teams message ids are numbers
        self.messages[call.id] = activity
        self.conversations[call.id] = conversation
        self._record(call)
        return web.json_response({"id": call.id}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        activity: JsonDict = await request.json()
        conversation, activity_id = (
            request.match_info["conversation"],
            request.match_info["activity"],
        )
        call = ConnectorCall("PUT", conversation, activity, activity_id, 200, activity_id)
        failed = self._failure(call)
        if failed is not None:
            return failed
        if activity_id not in self.messages:
            call.status = 404
            self._record(call)
            return web.json_response(
                {"error": {"code": "ActivityNotFoundInConversation"}}, status=404
            )
        self.messages[activity_id] = activity
        self._record(call)
        return web.json_response({"id": activity_id})

    # --- reading what people see ---------------------------------------------------------------

    def posts(self, conversation_id: str | None = None) -> list[ConnectorCall]:
        """Messages created (not failed), oldest first."""
        return [
            c
            for c in self.calls
            if c.method == "POST"
            and c.status < 300
            and (conversation_id is None or c.conversation_id == conversation_id)
        ]

    def updates(self, activity_id: str | None = None) -> list[ConnectorCall]:
        return [
            c
            for c in self.calls
            if c.method == "PUT" and c.status < 300 and activity_id in (None, c.path_activity_id)
        ]

    def card(self, activity_id: str) -> JsonDict:
        """The card of a message as it is now (after any update)."""
        attachments = self.messages[activity_id].get("attachments") or []
        cards = [a["content"] for a in attachments if a.get("contentType") == CARD]
        assert cards, f"message {activity_id} has no card"
        return cards[0]

    def all_cards(self) -> list[JsonDict]:
        """Every card ever sent, updates included."""
        return [card for call in self.calls for card in call.cards]

    async def wait_for(self, condition: Callable[[], bool], *, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def wait_for_posts(self, count: int, *, within: float = 10) -> list[ConnectorCall]:
        await self.wait_for(lambda: len(self.posts()) >= count, within=within)
        return self.posts()
