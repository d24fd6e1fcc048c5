"""Mastodon: ``POST /api/v1/statuses`` with an ``Idempotency-Key``, threads by ``in_reply_to_id``.

Mastodon keeps an ``Idempotency-Key`` for an hour and answers a repeat with the status it already
made, so a retry of one delivery never posts twice (``idempotent = True``). The instance's own
limit (``configuration.statuses.max_characters`` from ``GET /api/v2/instance``) is read once and
checked before sending. Errors: 422 is Mastodon's validation (permanent, with its ``error``
sentence); 401 a refused token ("The access token is invalid"); 429 retries at
``X-RateLimit-Reset`` (an ISO 8601 time); 5xx and connection trouble retry.

With ``attach_card: true`` the status carries Crier's status card: uploaded first
(``POST /api/v2/media``, with the card in words as its ``description``, the alt text), waited for
while Mastodon processes it (202, then ``GET /api/v1/media/:id`` until 200), then named in
``media_ids[]``. A retry uploads the card again; the ``Idempotency-Key`` still keeps it to one
status, and Mastodon removes attachments no status uses.

    publisher = build(context)  # None without MASTODON_ACCESS_TOKEN or channels.mastodon.base_url
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from bot.config import CrierConfig, Network
from bot.drafting.textrules import check_text
from bot.ports import ChannelCheck, Clock, Published, PublishError, PublishRequest, SystemClock
from bot.publishing import PublisherContext
from bot.publishing.cards import card_data
from bot.publishing.facts import ApiFacts
from bot.publishing.http import Answer, HttpClient, refusal
from bot.settings import Settings

log = logging.getLogger(__name__)

NAME = "Mastodon"
FACTS = ApiFacts(
    network=Network.MASTODON,
    checked="2026-12-02",
    api="POST /api/v1/statuses (form: status, in_reply_to_id, visibility, media_ids[]) with a "
    "Bearer token; POST /api/v2/media (file, description); GET /api/v2/instance",
    limits="the instance's configuration.statuses.max_characters (500 by default), every URL "
    "counting 23; 422 is Mastodon's validation",
    idempotency="Idempotency-Key header, kept 1 hour: a repeat returns the status made first",
    rate_limits="X-RateLimit-Remaining and X-RateLimit-Reset (ISO 8601) on a 429",
)


class MastodonPublisher:
    """Posts public statuses as one account on one instance."""

    network = Network.MASTODON
    idempotent = True

    def __init__(
        self,
        *,
        http: HttpClient,
        base_url: str,
        token: SecretStr,
        account: str | None = None,
        attach_card: bool = False,
        config: CrierConfig | None = None,
        settings: Settings | None = None,
        clock: Clock | None = None,
        poll_seconds: float = 1.0,
        polls: int = 10,
    ) -> None:
        self._http = http
        self._root = base_url.rstrip("/")
        self._token = token
        self._host = urlsplit(self._root).netloc or self._root
        self.label = f"{NAME} ({handle_of(account, self._host)})"
        self._limit: int | None = None
        self._limit_lock = asyncio.Lock()
        # The card needs the organisation (config) and where cards are kept (settings).
        self._card = (config, settings) if attach_card and config and settings else None
        self._clock = clock or SystemClock()
        self._poll_seconds = poll_seconds
        self._polls = polls

    @property
    def attaches_card(self) -> bool:
        return self._card is not None

    async def _call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Answer:
        auth = {"Authorization": f"Bearer {self._token.get_secret_value()}", **(headers or {})}
        return await self._http.send(
            method, self._root + path, network=NAME, headers=auth, **kwargs
        )

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
        media_id = await self._upload_card(request) if self._card else None
        answer = await self._post_status(request, reply_to=request.reply_to, media_id=media_id)
        if answer.status == 404 and request.reply_to:
            # The earlier post was deleted: the update still goes out, as a new thread. Mastodon
            # refused before storing the key, so sending it again with the same key is safe.
            log.warning(
                "Mastodon status %s is gone; posting the update without a reply", request.reply_to
            )
            answer = await self._post_status(request, reply_to=None, media_id=media_id)
        if not answer.ok:
            raise refusal(answer, network=NAME)
        body = answer.fields
        status_id = str(body.get("id") or "")
        if not status_id:
            raise PublishError(
                f"{NAME} accepted the post but sent no id back", transient=True, maybe_sent=True
            )
        return Published(external_id=status_id, url=body.get("url") or body.get("uri"))

    async def _upload_card(self, request: PublishRequest) -> str:
        """The status card as a media attachment, described in words; its id once processed."""
        assert self._card is not None
        config, settings = self._card
        card = await card_data(request, config=config, settings=settings, at=self._clock.now())
        form = aiohttp.FormData()
        form.add_field("file", card.data, filename="status-card.png", content_type=card.mime_type)
        form.add_field("description", card.alt)
        answer = await self._call("POST", "/api/v2/media", data=form)
        media_id = str(answer.fields.get("id") or "")
        if not answer.ok or not media_id:
            raise refusal(answer, network=NAME)
        if answer.status == 202:  # accepted, still processing: it cannot be attached yet
            await self._wait_for_media(media_id)
        return media_id

    async def _wait_for_media(self, media_id: str) -> None:
        for _ in range(self._polls):
            await asyncio.sleep(self._poll_seconds)
            answer = await self._call("GET", f"/api/v1/media/{media_id}")
            if answer.status == 200:
                return
            if answer.status != 206:
                raise refusal(answer, network=NAME)
        raise PublishError(f"{NAME} was still processing the status card", transient=True)

    async def _post_status(
        self, request: PublishRequest, *, reply_to: str | None, media_id: str | None = None
    ) -> Answer:
        form = {"status": request.text, "visibility": "public"}
        if reply_to:
            form["in_reply_to_id"] = reply_to
        if media_id:
            form["media_ids[]"] = media_id
        headers = {"Idempotency-Key": request.idempotency_key}
        return await self._call("POST", "/api/v1/statuses", data=form, headers=headers)

    async def check(self) -> ChannelCheck:
        """``GET /api/v1/accounts/verify_credentials``: who the token posts as."""
        try:
            answer = await self._call("GET", "/api/v1/accounts/verify_credentials")
        except PublishError as exc:
            return ChannelCheck(self.network, "unreachable", exc.message)
        if answer.ok:
            who = answer.fields.get("acct") or answer.fields.get("username") or "?"
            who = handle_of(str(who), self._host)
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
    instance = context.setting(
        token, "base_url", what="the instance, like https://mastodon.example.edu"
    )
    if token is None or instance is None:
        return None
    return MastodonPublisher(
        http=context.http,
        base_url=instance,
        token=token,
        account=context.channel.account,
        attach_card=context.channel.attach_card,
        config=context.config,
        settings=context.settings,
        clock=context.clock,
    )
