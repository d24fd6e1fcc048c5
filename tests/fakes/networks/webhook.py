"""A fake webhook receiver that does what the webhook module's docstring asks of real ones.

It checks ``X-Crier-Signature`` over the raw body and ``X-Crier-Timestamp`` (five minutes at most
from now), requires ``Idempotency-Key`` and the payload's fields, and answers a repeated key with
its first answer without recording the post again. ``deliveries`` holds each accepted post once.
It answers OPTIONS (``Allow: POST, OPTIONS``); ``gone = True`` makes it answer 410 to everything.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.networks.base import FakeNetwork

REQUIRED = (
    "event",
    "incident_id",
    "post_kind",
    "status",
    "service",
    "title",
    "text",
    "idempotency_key",
    "reply_to",
    "sent_at",
)


class FakeWebhook(FakeNetwork):
    name = "webhook"

    def __init__(
        self,
        *,
        secret: str = "whsec-test-secret",
        path: str = "/hooks/crier",
        answer_with_id: bool = True,
        tolerance: int = 300,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.secret = secret.encode()
        self.path = path
        self.answer_with_id = answer_with_id
        self.tolerance = tolerance
        self.gone = False
        self.deliveries: list[dict[str, Any]] = []
        self._answers: dict[str, tuple[int, dict[str, Any] | None]] = {}
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(self.path, self.receive),
            web.options(self.path, self.options),
        ]

    async def options(self, request: web.Request) -> web.StreamResponse:
        fault = await self.before(request)
        if fault is not None:
            return fault
        await self.read(request)
        if self.gone:
            return self.json({"error": "this webhook was removed"}, status=410)
        return web.Response(status=204, headers={"Allow": "POST, OPTIONS"})

    async def receive(self, request: web.Request) -> web.StreamResponse:
        fault = await self.before(request)
        if fault is not None:
            return fault
        raw = await request.read()
        await self.read(request)
        if self.gone:
            return self.json({"error": "this webhook was removed"}, status=410)
        timestamp = request.headers.get("X-Crier-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.tolerance:
            return self.json({"error": "timestamp missing or too far from now"}, status=401)
        signed = timestamp.encode() + b"." + raw
        expected = "sha256=" + hmac.new(self.secret, signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Crier-Signature", "")):
            return self.json({"error": "signature does not match"}, status=401)
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self.json({"error": "Idempotency-Key header is required"}, status=400)
        if key in self._answers:  # a retry: the first answer again, nothing done twice
            status, body = self._answers[key]
            return self.json(body, status=status) if body else web.Response(status=status)
        try:
            payload = json.loads(raw)
        except ValueError:
            return self.json({"error": "body is not JSON"}, status=400)
        missing = [f for f in REQUIRED if f not in payload]
        if missing:
            return self.json({"error": f"missing fields: {', '.join(missing)}"}, status=400)
        if payload["idempotency_key"] != key:
            return self.json({"error": "idempotency_key differs from the header"}, status=400)
        self.deliveries.append(payload)
        answer: tuple[int, dict[str, Any] | None]
        if self.answer_with_id:
            number = next(self._ids)
            answer = (200, {"id": f"evt_{number}", "url": f"{self.base_url}/events/{number}"})
        else:
            answer = (204, None)
        self._answers[key] = answer
        status, body = answer
        return self.json(body, status=status) if body else web.Response(status=status)
