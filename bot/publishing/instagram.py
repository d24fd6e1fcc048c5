"""Instagram: a container, then publishing it, on the Graph API.

    POST /{version}/{ig_user_id}/media          image_url, caption  -> {"id": container}
    POST /{version}/{ig_user_id}/media_publish  creation_id         -> {"id": media}

Instagram needs an image at a public URL: Crier's status card, as JPEG, served under
``CRIER_PUBLIC_URL``, with the card in words as its ``alt_text``. Before each post Crier reads the
account's publishing limit (``GET /{ig_user_id}/content_publishing_limit``); when it is used up,
the post waits (transient, rate limited) until the oldest post in the window leaves it, and the
error says until when. A second container on a retry is harmless (it is never published); the
ambiguous step is publishing. When that answer is lost, Crier asks Instagram about the container:
``PUBLISHED`` means the post is up (its id is found by caption), ``FINISHED`` means it is not, and
the same container is published again (a container publishes at most once). Anything else is
*unknown*, for a person to check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.config import Network
from bot.drafting.post_times import format_time
from bot.drafting.textrules import INSTAGRAM_HASHTAG, INSTAGRAM_MAX_HASHTAGS
from bot.ports import ChannelCheck, Published, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.cards import card_data
from bot.publishing.facts import ApiFacts
from bot.publishing.graph import GraphPublisher, graph_error
from bot.publishing.http import Answer

log = logging.getLogger(__name__)

NAME = "Instagram"
FACTS = ApiFacts(
    network=Network.INSTAGRAM,
    checked="2026-12-02",
    api="Graph API, the version shared with Facebook (channels.instagram.api_version): "
    "POST /{ig-user}/media (image_url, caption, alt_text) makes a container, POST "
    "/{ig-user}/media_publish publishes it; GET /{ig-user}/content_publishing_limit",
    limits="an image or video is required, at a public URL; caption 2,200 characters and 30 "
    "hashtags (unverified); alt_text accepted on image containers (since 2025-03)",
    idempotency="none; a container publishes at most once, so a lost answer to publishing is "
    "settled by the container's status",
    rate_limits="published posts per rolling window: read content_publishing_limit (quota_usage, "
    "config.quota_total, config.quota_duration) rather than assume 50 in 24 hours; Graph's "
    "throttling codes as for Facebook",
)
CAPTION_LIMIT = 2200
NOT_READY = (9007, 2207027)  # "Media ID is not available": the container is still processing
PUBLISH_LIMIT = 2207042  # the publishing limit is used up
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Quota:
    """``content_publishing_limit``: posts published in the rolling window, and its size."""

    usage: int
    total: int = 50
    seconds: int = 24 * 3600

    @property
    def spent(self) -> bool:
        return self.usage >= self.total

    def describe(self) -> str:
        posts = "1 post" if self.total == 1 else f"{self.total} posts"
        return f"{posts} in {self.seconds / 3600:g} hours"


def caption_problem(caption: str) -> str | None:
    if len(caption) > CAPTION_LIMIT:
        return f"the caption is {len(caption)} characters; Instagram takes {CAPTION_LIMIT}"
    tags = len(INSTAGRAM_HASHTAG.findall(caption))
    if tags > INSTAGRAM_MAX_HASHTAGS:
        return f"the caption has {tags} hashtags; Instagram takes {INSTAGRAM_MAX_HASHTAGS}"
    return None


def _id(answer: Answer) -> str:
    return str(answer.fields.get("id") or "")


class InstagramPublisher(GraphPublisher):
    """Posts the status card with the text as its caption to one Instagram professional account
    (``account``: its id). No idempotency key: the module docstring has the lost-answer case."""

    network = Network.INSTAGRAM
    name = NAME
    credential = "INSTAGRAM_ACCESS_TOKEN"
    renew = (
        "get a new token for the Instagram account with instagram_content_publish (e.g. in "
        "Meta's Graph API Explorer, https://developers.facebook.com/tools/explorer/)"
    )
    shows = ("username", "@{}")

    def __init__(
        self,
        *,
        poll_seconds: float = 1.0,
        polls: int = 10,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **graph: Any,
    ) -> None:
        super().__init__(**graph)
        self.label = f"Instagram ({self._account})"
        self._poll_seconds = poll_seconds
        self._polls = polls
        self._now = now

    async def _refusal(self, answer: Answer) -> PublishError:
        error = graph_error(answer)
        if error is not None and error.subcode == PUBLISH_LIMIT:
            # Used up between reading the limit and publishing (or by another app meanwhile).
            quota = await self.quota() or Quota(usage=50)
            return await self._limit_reached(quota, said=error.describe())
        return self._refused(answer)

    # ----- the publishing limit ------------------------------------------------------------

    async def quota(self) -> Quota | None:
        """The account's publishing limit and use; None when Instagram cannot say just now."""
        try:
            answer = await self._call(
                "GET",
                f"{self._account}/content_publishing_limit",
                params={"fields": "quota_usage,config"},
            )
        except PublishError as trouble:
            log.warning("could not read Instagram's publishing limit: %s", trouble.message)
            return None
        rows = answer.ok_value("data")
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
        if row is None or not isinstance(row.get("quota_usage"), int):
            said = graph_error(answer)
            log.warning(
                "could not read Instagram's publishing limit: %s",
                said.describe() if said else f"HTTP {answer.status}",
            )
            return None
        config = row.get("config")
        config = config if isinstance(config, dict) else {}
        total, seconds = config.get("quota_total"), config.get("quota_duration")
        return Quota(
            usage=row["quota_usage"],
            total=total if isinstance(total, int) and total > 0 else Quota.total,
            seconds=seconds if isinstance(seconds, int) and seconds > 0 else Quota.seconds,
        )

    async def _limit_reached(self, quota: Quota, *, said: str | None = None) -> PublishError:
        until = await self._window_end(quota)
        zone = self._config.organisation.zone
        local = until.astimezone(zone)
        when = f"{format_time(until, zone)} on {local:%a} {local.day} {local:%b}"
        message = f"Instagram's limit of {quota.describe()} is reached; Crier tries again at {when}"
        return PublishError(
            f"{message} ({said})" if said else message,
            transient=True,
            retry_at=until,
            rate_limited=True,
        )

    async def _window_end(self, quota: Quota) -> datetime:
        """When a post leaves the window: the oldest recent post's time plus the window; the
        whole window from now when the account's posts cannot be read."""
        now = self._now()
        window = timedelta(seconds=quota.seconds)
        try:
            answer = await self._call(
                "GET",
                f"{self._account}/media",
                params={"fields": "id,timestamp", "limit": str(min(quota.total, 100))},
            )
        except PublishError:
            return now + window
        items = answer.ok_value("data")
        stamps = [_timestamp(item) for item in items or [] if isinstance(item, dict)]
        recent = [at for at in stamps if at is not None and at > now - window]
        return min(recent) + window if recent else now + window

    async def publish(self, request: PublishRequest) -> Published:
        problem = caption_problem(request.text)
        if problem:
            raise PublishError(f"Instagram would refuse this post: {problem}", transient=False)
        quota = await self.quota()
        if quota is not None and quota.spent:
            raise await self._limit_reached(quota)
        card = await card_data(
            request,
            config=self._config,
            settings=self._settings,
            at=self._now(),
            image_format="jpg",
        )
        try:
            created = await self._call(
                "POST",
                f"{self._account}/media",
                data={"image_url": card.url, "caption": request.text, "alt_text": card.alt},
            )
        except PublishError as trouble:
            # A container is never shown on its own: a lost answer here cannot have posted.
            raise replace(trouble, maybe_sent=False) from trouble
        container = _id(created)
        if not created.ok or not container:
            raise await self._refusal(created)
        media_id = await self._publish_container(container, request.text)
        return Published(external_id=media_id, url=await self._permalink(media_id))

    async def _status(self, container: str) -> str:
        answer = await self._call("GET", container, params={"fields": "status_code"})
        if not answer.ok:
            raise await self._refusal(answer)
        return str(answer.fields.get("status_code", ""))

    async def _wait_until_ready(self, container: str) -> None:
        for _ in range(self._polls):
            status = await self._status(container)
            if status in ("FINISHED", "PUBLISHED"):
                return
            if status in ("ERROR", "EXPIRED"):
                raise PublishError(
                    f"Instagram could not prepare the image (container {status})", transient=True
                )
            await asyncio.sleep(self._poll_seconds)
        raise PublishError("Instagram was still processing the image", transient=True)

    async def _publish_container(self, container: str, caption: str) -> str:
        await self._wait_until_ready(container)
        try:
            answer = await self._call(
                "POST", f"{self._account}/media_publish", data={"creation_id": container}
            )
        except PublishError as lost:
            if not lost.maybe_sent:
                raise
            return await self._after_lost_answer(container, caption, lost)
        if answer.ok and _id(answer):
            return _id(answer)
        error = graph_error(answer)
        if error is not None and (error.code, error.subcode) == NOT_READY:
            raise PublishError(
                f"Instagram is still processing the image: {error.message}", transient=True
            )
        raise await self._refusal(answer)

    async def _after_lost_answer(self, container: str, caption: str, lost: PublishError) -> str:
        """Publishing may or may not have happened: the container's status says which."""
        unknown = PublishError(
            f"{lost.message} while publishing, and Instagram could not say whether it did",
            transient=True,
            maybe_sent=True,
        )
        try:
            status = await self._status(container)
            if status == "PUBLISHED":
                found = await self._find_by_caption(caption)
                if found:
                    return found
                raise PublishError(
                    "Instagram published the post, but Crier could not find its id",
                    transient=False,
                    maybe_sent=True,
                )
            if status != "FINISHED":
                raise unknown
            log.info("Instagram: container %s was not published; publishing it again", container)
            answer = await self._call(
                "POST", f"{self._account}/media_publish", data={"creation_id": container}
            )
        except PublishError as trouble:
            if trouble.maybe_sent:
                raise
            raise unknown from trouble
        if answer.ok and _id(answer):
            return _id(answer)
        raise await self._refusal(answer)

    async def _find_by_caption(self, caption: str) -> str | None:
        answer = await self._call(
            "GET", f"{self._account}/media", params={"fields": "id,caption", "limit": "10"}
        )
        items = answer.ok_value("data")
        for item in items or []:
            if isinstance(item, dict) and item.get("caption") == caption and item.get("id"):
                return str(item["id"])
        return None

    async def _permalink(self, media_id: str) -> str | None:
        """The post's link; the post is up either way, so a failure here costs only the link."""
        try:
            answer = await self._call("GET", media_id, params={"fields": "permalink"})
        except PublishError:
            return None
        link = answer.ok_value("permalink")
        return str(link) if link else None

    async def check(self) -> ChannelCheck:
        result = await super().check()
        host = urlsplit(self._settings.public_url).hostname or ""
        if result.ready and host in _LOCAL_HOSTS:
            return replace(
                result,
                detail=f"{result.detail}; but CRIER_PUBLIC_URL ({self._settings.public_url}) is "
                "local, and Instagram must fetch the status card from there",
            )
        return result


def _timestamp(item: dict[str, Any]) -> datetime | None:
    """Graph's ``"2026-01-15T19:45:00+0000"``."""
    try:
        return datetime.strptime(str(item.get("timestamp")), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def build(context: PublisherContext) -> InstagramPublisher | None:
    token = context.credentials.instagram_access_token
    return InstagramPublisher.from_context(context, token, now=context.clock.now)
