"""Mastodon: ``POST /api/v1/statuses`` with an ``Idempotency-Key``, threads by ``in_reply_to_id``.

Mastodon keeps an ``Idempotency-Key`` for an hour and answers a repeat with the status it already
made, so a retry of one delivery never posts twice (``idempotent = True``). The instance's own
limit (``configuration.statuses.max_characters`` from ``GET /api/v2/instance``) is read once and
checked before sending. Errors: 422 is Mastodon's validation (permanent, with its ``error``
sentence); 401 a refused token ("The access token is invalid"); 429 retries at
``X-RateLimit-Reset`` (an ISO 8601 time); 5xx and connection trouble retry.

    publisher = build(context)  # None without MASTODON_ACCESS_TOKEN or channels.mastodon.base_url
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from bot.config import Network
from bot.ports import ChannelCheck, Published, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.http import Answer, HttpClient, refusal
from bot.textrules import check_text

log = logging.getLogger(__name__)

NAME = "Mastodon"


class MastodonPublisher:
    """Posts public statuses as one account on one instance."""

    network = Network.MASTODON
    idempotent = True

    def __init__(
        self, *, http: HttpClient, base_url: str, token: SecretStr, account: str | None = None
    ) -> None:
        self._http = http
        self._root = base_url.rstrip("/")
        self._token = token
        self._host = urlsplit(self._root).netloc or self._root
        self.label = f"{NAME} ({handle_of(account, self._host)})"
        self._limit: int | None = None
        self._limit_lock = asyncio.Lock()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    async def character_limit(self) -> int | None:
        """The instance's limit, read once; None while the instance cannot be asked."""
        async with self._limit_lock:
            if self._limit is None:
                self._limit = await self._read_limit()
            return self._limit

    async def _read_limit(self) -> int | None:
        # v2 since Mastodon 4.0; older servers (and some forks) only have v1.
        for path in ("/api/v2/instance", "/api/v1/instance"):
            try:
                answer = await self._http.send("GET", self._root + path, network=NAME)
            except PublishError as exc:
                log.warning("could not read the Mastodon instance's limit: %s", exc.message)
                return None
            if answer.ok:
                return _max_characters(answer.body)
            if answer.status != 404:
                return None
        return None

    async def publish(self, request: PublishRequest) -> Published:
        limit = await self.character_limit()
        if limit is not None:
            checked = check_text(Network.MASTODON, request.text, max_characters=limit)
            if not checked.ok:
                raise PublishError(
                    f"{NAME} ({self._host}) would refuse the post: {checked.problem}",
                    transient=False,
                )
        answer = await self._post_status(request, reply_to=request.reply_to)
        if answer.status == 404 and request.reply_to:
            # The earlier post was deleted: the update still goes out, as a new thread. Mastodon
            # refused before storing the key, so sending it again with the same key is safe.
            log.warning(
                "Mastodon status %s is gone; posting the update without a reply", request.reply_to
            )
            answer = await self._post_status(request, reply_to=None)
        if not answer.ok:
            raise refusal(answer, network=NAME)
        body: dict[str, Any] = answer.body if isinstance(answer.body, dict) else {}
        status_id = str(body.get("id") or "")
        if not status_id:
            raise PublishError(
                f"{NAME} accepted the post but sent no id back", transient=True, maybe_sent=True
            )
        return Published(external_id=status_id, url=body.get("url") or body.get("uri"))

    async def _post_status(self, request: PublishRequest, *, reply_to: str | None) -> Answer:
        form = {"status": request.text, "visibility": "public"}
        if reply_to:
            form["in_reply_to_id"] = reply_to
        headers = {**self._auth(), "Idempotency-Key": request.idempotency_key}
        return await self._http.send(
            "POST", f"{self._root}/api/v1/statuses", network=NAME, data=form, headers=headers
        )

    async def check(self) -> ChannelCheck:
        """``GET /api/v1/accounts/verify_credentials``: who the token posts as."""
        url = f"{self._root}/api/v1/accounts/verify_credentials"
        try:
            answer = await self._http.send("GET", url, network=NAME, headers=self._auth())
        except PublishError as exc:
            return ChannelCheck(self.network, "unreachable", exc.message)
        if answer.ok:
            body = answer.body if isinstance(answer.body, dict) else {}
            who = handle_of(str(body.get("acct") or body.get("username") or "?"), self._host)
            limit = await self.character_limit()
            shown = f"; {limit} characters a post" if limit else ""
            return ChannelCheck(self.network, "ready", f"posting as {who}{shown}")
        said = refusal(answer, network=NAME).message
        state = "expired" if answer.status in (401, 403) else "error"
        return ChannelCheck(self.network, state, said)


def handle_of(account: str | None, host: str) -> str:
    """``@it@mastodon.example.edu`` from "it", "@it" or the full address."""
    name = (account or "").strip().lstrip("@")
    if not name:
        return host
    return f"@{name}" if "@" in name else f"@{name}@{host}"


def _max_characters(body: Any) -> int | None:
    if not isinstance(body, dict):
        return None
    statuses = (body.get("configuration") or {}).get("statuses") or {}
    value = statuses.get("max_characters") or body.get("max_toot_chars")  # the latter: Pleroma
    return value if isinstance(value, int) and value > 0 else None


def build(context: PublisherContext) -> MastodonPublisher | None:
    token = context.credentials.mastodon_access_token
    if token is None or not token.get_secret_value():
        return None
    if not context.channel.base_url:
        log.warning(
            "MASTODON_ACCESS_TOKEN is set but channels.mastodon.base_url (the instance, like "
            "https://mastodon.example.edu) is not: Mastodon posts go to the outbox"
        )
        return None
    return MastodonPublisher(
        http=context.http,
        base_url=context.channel.base_url,
        token=token,
        account=context.channel.account,
    )
