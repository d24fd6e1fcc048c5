"""A Facebook Page's reading side: the comments on its posts.

- ``replies``: ``GET /{version}/{post-id}/comments?filter=stream&order=reverse_chronological``
  with the Page token: every comment and every reply to a comment (``stream`` flattens them,
  naming each one's ``parent``), newest first, followed by ``paging.next`` back to the cursor
  (``MAX_PAGES`` at most). Graph's ids are not ordered, so the cursor is the newest
  ``created_time`` read and the ids read at that second (``TimeCursor``). The Page's own
  comments (its answers) are not heard when ``page_id`` is given.
- ``replies_many``: Graph's multiple-id read, one request for up to ``replies_per_call`` posts:
  ``GET /{version}/?ids=<a>,<b>…&fields=comments.filter(stream).order(reverse_chronological)
  .limit(100){…}``, each post's first page of comments under its id; a post with more newer
  than its cursor follows its own ``paging.next`` (``MAX_PAGES`` at most per post). A post
  missing from the answer, or with an error under its id, was deleted: an empty page.
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
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from multidict import CIMultiDictProxy
from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import Heard, HeardKind, Page, Sweep, Watched
from bot.listening.sources.reading import (
    MAX_PAGES,
    TimeCursor,
    one_at_a_time,
    read_refusal,
    utc,
)
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
MISSING_ALIAS = 803  # a multiple-id read naming an id that does not exist
USAGE = ("X-App-Usage", "X-Business-Use-Case-Usage")
SHARES = ("call_count", "total_time", "total_cputime")
IDS_PER_READ = 50  # Graph's multiple-id read takes 50 ids at most


@dataclass
class _Comments:
    """One post's comments newer than its cursor (newest first), as far as one call read."""

    found: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    requests: int = 0
    answer: Answer | None = None  # the last request's, for its usage headers
    gone: bool = False  # the post was deleted


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
    replies_per_call = IDS_PER_READ

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
            items=_in_order(items),
            cursor=cursor.text(),
            remaining=percent_left(headers) if headers else None,
            reset_at=regain_access(headers, now=self._clock.now()) if headers else None,
            requests=requests,
        )

    async def replies(self, post: Watched, *, since: str | None = None) -> Page:
        cursor = TimeCursor.parse(since)
        params = {
            "filter": "stream",
            "order": "reverse_chronological",
            "fields": FIELDS,
            "limit": self._page_size,
        }
        url = f"{self._root}/{post.external_id}/comments"
        comments = await self._newer(cursor, url, params)
        items, after = self._read(post, cursor, comments)
        page = self._page(items, after, comments.answer, comments.requests)
        return replace(page, gone=comments.gone)

    async def replies_many(self, posts: list[tuple[Watched, str | None]]) -> Sweep:
        pages: dict[int, Page] = {}
        requests, last = 0, None
        todo = list(posts)
        while todo:
            group, todo = todo[:IDS_PER_READ], todo[IDS_PER_READ:]
            ids = list(dict.fromkeys(post.external_id for post, _ in group))
            edge = f"comments.filter(stream).order(reverse_chronological).limit({self._page_size})"
            fields = f"{edge}{{{FIELDS}}}"
            read = await self._get(f"{self._root}/", {"ids": ",".join(ids), "fields": fields})
            requests, last = requests + 1, read
            if not read.ok and _names_a_missing_id(read):
                # Graph refuses the whole read for one deleted post, naming it: those are gone
                # (not asked for again) and the rest is read again; if it names none of ours,
                # each post alone tells which.
                named = _named_ids(read, ids)
                for post, since in group:
                    if post.external_id in named:
                        pages[post.delivery_id] = Page(items=(), cursor=since, gone=True)
                rest = [(post, since) for post, since in group if post.external_id not in named]
                if named:
                    todo = rest + todo
                    continue
                alone = await one_at_a_time(self, rest)
                pages.update(alone.pages)
                requests += alone.requests
                continue
            if not read.ok:
                raise self._refused(read)
            for post, since in group:
                cursor = TimeCursor.parse(since)
                node = read.fields.get(post.external_id)
                if not isinstance(node, dict) or "error" in node:  # deleted
                    pages[post.delivery_id] = Page(items=(), cursor=cursor.text(), gone=True)
                    continue
                first = node.get("comments")
                comments = await self._newer(cursor, None, None, first=first or {})
                requests += comments.requests
                last = comments.answer or last
                items, after = self._read(post, cursor, comments)
                pages[post.delivery_id] = Page(items=_in_order(items), cursor=after.text())
        headers = last.headers if last is not None else None
        return Sweep(
            pages=pages,
            remaining=percent_left(headers) if headers else None,
            reset_at=regain_access(headers, now=self._clock.now()) if headers else None,
            requests=requests,
        )

    async def _newer(
        self,
        cursor: TimeCursor,
        url: str | None,
        params: dict[str, Any] | None,
        *,
        first: dict[str, Any] | None = None,
    ) -> _Comments:
        """Comments newest first back to ``cursor``, following ``paging.next`` (``MAX_PAGES``
        pages at most, ``first`` among them: a page a multiple-id read already gave)."""
        comments, pages, reached = _Comments(), 0, False
        if first is not None:
            reached, url = _take(first, cursor, comments.found)
            pages, params = 1, None
        while url and not reached and pages < self._max_pages:
            answer = await self._get(url, params)
            comments.requests += 1
            comments.answer = answer
            pages += 1
            if not answer.ok:
                error = graph_error(answer)
                if error is not None and (error.code, error.subcode) == GONE:
                    return _Comments(requests=comments.requests, answer=answer, gone=True)
                raise self._refused(answer)
            reached, url = _take(answer.fields, cursor, comments.found)
            params = None  # ``next`` is the whole next URL, token excepted (it goes in the header)
        return comments

    def _read(
        self, post: Watched, cursor: TimeCursor, comments: _Comments
    ) -> tuple[list[Heard], TimeCursor]:
        """The comments heard (the Page's own left out), and the cursor once all are read."""
        found = comments.found
        after = cursor.after((at, str(row["id"])) for at, row in found)
        return [self._heard(at, row, post) for at, row in found if not self._is_own(row)], after

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


def _take(
    body: dict[str, Any], cursor: TimeCursor, found: list[tuple[datetime, dict[str, Any]]]
) -> tuple[bool, str | None]:
    """Add one page's comments newer than ``cursor`` to ``found``; whether it reached the
    cursor (newest first: the rest was read before), and the next page's URL."""
    rows = body.get("data")
    for row in rows if isinstance(rows, list) else []:
        at = utc(row.get("created_time")) if isinstance(row, dict) else None
        if at is None or not row.get("id"):
            continue
        if not cursor.is_new(at, str(row["id"])):
            return True, None
        found.append((at, row))
    paging = body.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    return False, following if isinstance(following, str) else None


def _names_a_missing_id(answer: Answer) -> bool:
    """Graph's refusal of a multiple-id read because an id does not exist (any more): #803
    "Some of the aliases you requested do not exist", or #100 subcode 33."""
    error = graph_error(answer)
    return error is not None and (
        error.code == MISSING_ALIAS or (error.code, error.subcode) == GONE
    )


def _named_ids(answer: Answer, asked: list[str]) -> set[str]:
    """The ids asked for that Graph's refusal names as missing ("… do not exist: 1_2,1_3"):
    whole ids from its list, so "1_2" is not taken for a part of "1_23"."""
    error = graph_error(answer)
    message = error.message if error is not None else ""
    listed = {part.strip() for part in message.rpartition(":")[2].split(",")}
    return {post_id for post_id in asked if post_id in listed}


def _in_order(items: list[Heard]) -> tuple[Heard, ...]:
    return tuple(sorted(items, key=lambda heard: (heard.created_at, heard.external_id)))
