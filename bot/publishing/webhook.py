"""The webhook: one signed JSON POST per post, for other status pages and campus systems.

Set ``channels.webhook.url`` in crier.yml and ``WEBHOOK_SECRET`` in the environment. Each post is:

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <the delivery's key: the same on every retry of this post>
    X-Crier-Timestamp: 1768506300
    X-Crier-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}", keyed with WEBHOOK_SECRET>

    {"event": "crier.post", "incident_id": 12, "post_kind": "update", "status": "identified",
     "service": "Blackboard", "title": "Blackboard: cannot log in", "text": "…the approved text…",
     "idempotency_key": "…", "reply_to": "<your id for this incident's previous post, or null>",
     "sent_at": "2026-01-15T19:52:00Z"}

For people writing a receiver:

- Check the signature over the raw bytes of the body, before parsing them, and refuse a timestamp
  more than five minutes from your clock::

      import hashlib, hmac, time

      def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
          if abs(time.time() - int(timestamp)) > 300:
              return False
          signed = timestamp.encode() + b"." + body
          expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
          return hmac.compare_digest(expected, signature)

- Deduplicate on ``Idempotency-Key``. Crier retries after time-outs, dropped connections, 429 and
  5xx with the same key (signed again, with a new timestamp and ``sent_at``), and treats this
  channel as idempotent: it relies on you to answer a repeated key as you did the first time
  without acting on it again.
- Answer 2xx once you have the post, optionally with JSON ``{"id": "…", "url": "…"}``: the url is
  shown in the incident's chat thread, and your id comes back as ``reply_to`` with the incident's
  next post (without an id, ``reply_to`` is the previous post's idempotency key).
  410 Gone stops Crier for good (the delivery fails); 429 (``Retry-After`` honoured) and 5xx are
  retried; any other 4xx fails the delivery with your message shown. Redirects are not followed.

``crier channels check`` cannot test the secret without posting, so it only asks whether the URL
answers: an unsigned ``OPTIONS`` request. Any answer means "ready" (a 405 too: many receivers take
only POST), except 404 and 410 (wrong URL) and 5xx (the receiver is failing), reported as "error";
no answer at all is "unreachable".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.config import Network
from bot.ports import ChannelCheck, Published, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.http import Answer, HttpClient, message_of, refusal

EVENT = "crier.post"


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Crier-Signature`` value for one request."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


class WebhookPublisher:
    network = Network.WEBHOOK
    idempotent = True  # receivers deduplicate on Idempotency-Key (see the module docstring)

    def __init__(self, *, http: HttpClient, url: str, secret: bytes) -> None:
        self._http = http
        self._url = url
        self._secret = secret
        # Only the host: a webhook's path often carries a token of its own.
        self._host = urlsplit(url).netloc or url
        self._name = f"the webhook at {self._host}"
        self.label = f"Webhook ({self._host})"

    def payload(self, request: PublishRequest) -> dict[str, Any]:
        return {
            "event": EVENT,
            "incident_id": request.incident_id,
            "post_kind": request.post_kind,
            "status": request.status,
            "service": request.service,
            "title": request.title,
            "text": request.text,
            "idempotency_key": request.idempotency_key,
            "reply_to": _receivers_id(request.reply_to),
            "sent_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    async def publish(self, request: PublishRequest) -> Published:
        body = json.dumps(self.payload(request), ensure_ascii=False, separators=(",", ":"))
        raw = body.encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request.idempotency_key,
            "X-Crier-Timestamp": timestamp,
            "X-Crier-Signature": signature(self._secret, timestamp, raw),
        }
        answer = await self._http.send(
            "POST", self._url, network=self._name, data=raw, headers=headers, allow_redirects=False
        )
        if answer.ok:
            return _published(answer, request.idempotency_key)
        raise self._refused(answer)

    async def check(self) -> ChannelCheck:
        try:
            answer = await self._http.send(
                "OPTIONS", self._url, network=self._name, allow_redirects=False
            )
        except PublishError as exc:
            return ChannelCheck(self.network, "unreachable", exc.message)
        if answer.status in (404, 410) or answer.status >= 500:
            wrong = f"{self._name} answered {answer.status}: check channels.webhook.url"
            return ChannelCheck(self.network, "error", wrong)
        answers = f"{self._host} answers (OPTIONS: {answer.status})"
        return ChannelCheck(
            self.network, "ready", f"{answers}; the secret is checked only by a real post"
        )

    def _refused(self, answer: Answer) -> PublishError:
        said = message_of(answer.body) or f"HTTP {answer.status}"
        if answer.status == 410:
            return PublishError(
                f"{self._name} says it is gone (410): {said}. Change or disable channels.webhook.",
                transient=False,
            )
        if 300 <= answer.status < 400:
            moved = urlsplit(answer.headers.get("Location", "")).netloc or "elsewhere"
            return PublishError(
                f"{self._name} redirects ({answer.status}) to {moved}: set channels.webhook.url "
                "to the final address",
                transient=False,
            )
        if answer.status in (401, 403):
            return PublishError(
                f"{self._name} refused the post ({answer.status}): {said}. Check that "
                "WEBHOOK_SECRET matches the receiver's.",
                transient=False,
            )
        return refusal(answer, network=self._name, message=said)


def _receivers_id(reply_to: str | None) -> str | None:
    # An "outbox-…" id is a dry-run post from before the secret was set: not the receiver's.
    return None if reply_to is None or reply_to.startswith("outbox-") else reply_to


def _published(answer: Answer, idempotency_key: str) -> Published:
    external, link = answer.fields.get("id"), answer.fields.get("url")
    has_id = isinstance(external, str | int) and str(external) != ""
    return Published(
        external_id=str(external) if has_id else idempotency_key,
        url=link if isinstance(link, str) and link else None,
    )


def build(context: PublisherContext) -> WebhookPublisher | None:
    secret = context.credentials.webhook_secret
    url = context.channel.url
    if not url or secret is None or not secret.get_secret_value():
        return None
    return WebhookPublisher(http=context.http, url=url, secret=secret.get_secret_value().encode())
