"""A Facebook Page's reading side: the comments on its posts.

- ``replies``: ``GET /{version}/{post-id}/comments?filter=stream&order=reverse_chronological``
  with the Page token: every comment and every reply to a comment (``stream`` flattens them,
  naming each one's ``parent``), newest first, followed by ``paging.next`` back to the cursor
  (``MAX_PAGES`` at most). Graph's ids are not ordered, so the cursor is the newest
  ``created_time`` read and the ids read at that second (``TimeCursor``). The Page's own
  comments (its answers) are not heard when ``page_id`` is given.
- ``mentions`` and ``search``: empty pages. The Pages API tells a Page of mentions only through
  webhooks (the ``mention`` field of the Page's ``feed`` subscription) and the Page Public
  Content Access feature, both behind Meta's app review; public post search is gone from Graph.

Errors are Graph's, read as the publishers read them (``bot.publishing.graph``): codes 4, 17,
32, 613 (and Graph's other throttles) are a transient, rate-limited refusal retried when the
usage headers say access comes back; 190 is an expired or invalid token (permanent).

Graph has no "requests left" header. ``X-App-Usage`` (``{"call_count": 28, "total_time": 25,
"total_cputime": 25}``) and ``X-Business-Use-Case-Usage`` (the same per business object, with
``estimated_time_to_regain_access`` in minutes) give the share of the window's allowance used,
in per cent. ``Page.remaining`` is therefore *per cent left*: 100 minus the largest share any of
them reports (0 when throttled); ``reset_at`` is when Graph estimates access comes back, if it
gives one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from multidict import CIMultiDictProxy
from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import Heard, HeardKind, Page, Watched
from bot.listening.sources.reading import MAX_PAGES, TimeCursor, read_refusal, utc
from bot.ports import Clock, PublishError, SystemClock
from bot.publishing.graph import (
    DEFAULT_BASE_URL,
    DEFAULT_VERSION,
    THROTTLE_DELAY,
    graph_error,
    graph_refusal,
    regain_access,
)
from bot.publishing.http import Answer, HttpClient

NAME = "Facebook"
FIELDS = "id,from,message,created_time,permalink_url,parent"
PAGE_SIZE = 100
GONE = (100, 33)  # "Object … does not exist": the post was deleted
USAGE = ("X-App-Usage", "X-Business-Use-Case-Usage")
SHARES = ("call_count", "total_time", "total_cputime")


def percent_left(headers: CIMultiDictProxy[str]) -> int | None:
    """100 minus the largest share of the allowance used, as Graph's usage headers tell."""
    used: list[float] = []

    def collect(value: dict[str, Any]) -> dict[str, Any]:  # json calls it on every object
        used.extend(float(value[k]) for k in SHARES if isinstance(value.get(k), int | float))
        return value

    seen = False
    for name in USAGE:
        raw = headers.get(name)
        if raw:
            try:
                json.loads(raw, object_hook=collect)
                seen = True
            except ValueError:
                continue
    if not seen:
        return None
    return max(0, 100 - round(max(used, default=0.0)))


class FacebookSource:
    """Reads the comments on one Page's posts, with the Page token."""

    network = Network.FACEBOOK
    hears_mentions = False  # the Pages API tells of mentions only to apps through app review
    searches = False  # Graph has no public post search

    def __init__(
        self,
        *,
        http: HttpClient,
        page_token: SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = DEFAULT_VERSION,
        page_id: str | None = None,
        clock: Clock | None = None,
        max_pages: int = MAX_PAGES,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._http = http
        self._token = page_token
        self._root = f"{base_url.rstrip('/')}/{api_version}"
        self._page_id = page_id
        self._clock = clock or SystemClock()
        self._max_pages = max(1, max_pages)
        self._page_size = max(1, page_size)

    async def _get(self, url: str, params: dict[str, Any] | None) -> Answer:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        return await self._http.send("GET", url, network=NAME, headers=headers, params=params)

    def _page(
        self, items: list[Heard], cursor: TimeCursor, answer: Answer | None, requests: int
    ) -> Page:
        headers = answer.headers if answer is not None else None
        return Page(
            items=tuple(sorted(items, key=lambda heard: (heard.created_at, heard.external_id))),
            cursor=cursor.text(),
            remaining=percent_left(headers) if headers else None,
            reset_at=regain_access(headers, now=self._clock.now()) if headers else None,
            requests=requests,
        )

    async def replies(self, post: Watched, *, since: str | None = None) -> Page:
        cursor = TimeCursor.parse(since)
        url: str | None = f"{self._root}/{post.external_id}/comments"
        params: dict[str, Any] | None = {
            "filter": "stream",
            "order": "reverse_chronological",
            "fields": FIELDS,
            "limit": self._page_size,
        }
        found: list[tuple[datetime, dict[str, Any]]] = []
        answer, requests, reached = None, 0, False
        while url and not reached and requests < self._max_pages:
            answer = await self._get(url, params)
            requests += 1
            if not answer.ok:
                error = graph_error(answer)
                if error is not None and (error.code, error.subcode) == GONE:
                    return self._page([], cursor, answer, requests)
                raise self._refused(answer)
            rows = answer.fields.get("data")
            for row in rows if isinstance(rows, list) else []:
                at = utc(row.get("created_time")) if isinstance(row, dict) else None
                if at is None or not row.get("id"):
                    continue
                if not cursor.is_new(at, str(row["id"])):
                    reached = True  # newest first: the rest was read before
                    break
                found.append((at, row))
            paging = answer.fields.get("paging")
            # ``next`` is the whole next URL, token excepted (it goes in the header).
            url = paging.get("next") if isinstance(paging, dict) else None
            params = None
        after = cursor.after((at, str(row["id"])) for at, row in found)
        items = [self._heard(at, row, post) for at, row in found if not self._is_own(row)]
        return self._page(items, after, answer, requests)

    async def mentions(self, *, since: str | None = None) -> Page:
        """Nothing: the Pages API tells of mentions only to apps through app review."""
        return Page(items=(), cursor=since, requests=0)

    async def search(self, query: str, *, since: str | None = None) -> Page:
        """Nothing: Graph has no public post search."""
        return Page(items=(), cursor=since, requests=0)

    def _refused(self, answer: Answer) -> PublishError:
        error = graph_refusal(answer, network=NAME, secret=self._token)
        if error.rate_limited:  # when access comes back, on Crier's clock
            now = self._clock.now()
            error.retry_at = regain_access(answer.headers, now=now) or now + THROTTLE_DELAY
        return read_refusal(error)

    def _is_own(self, row: dict[str, Any]) -> bool:
        author = row.get("from")
        return (
            bool(self._page_id) and isinstance(author, dict) and author.get("id") == self._page_id
        )

    @staticmethod
    def _heard(at: datetime, row: dict[str, Any], post: Watched) -> Heard:
        author = row.get("from") if isinstance(row.get("from"), dict) else {}
        assert isinstance(author, dict)
        # Graph leaves ``from`` out for people who have not allowed the app to see them.
        name = str(author.get("name") or "").strip() or "a Facebook user"
        parent = row.get("parent") if isinstance(row.get("parent"), dict) else {}
        assert isinstance(parent, dict)
        return Heard(
            network=Network.FACEBOOK,
            external_id=str(row["id"]),
            kind=HeardKind.REPLY,
            author=name,
            author_name=name,
            text=str(row.get("message") or ""),
            url=row.get("permalink_url"),
            created_at=at,
            in_reply_to=str(parent.get("id") or post.external_id),
        )
