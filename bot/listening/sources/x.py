"""X's reading side: replies by conversation from recent search, mentions, and search.

- ``replies``: ``GET /2/tweets/search/recent?query=conversation_id:<id> -from:<account>`` (the
  account's own posts in the thread are left out in the query, so they are not paid for),
  ``since_id`` the cursor, ``next_token`` pages; recent search covers the last 7 days.
- ``replies_many``: the same search for several threads at once,
  ``(conversation_id:<a> OR conversation_id:<b> …) -from:<account>``, as many as fit in
  ``QUERY_MAX`` characters (``replies_per_call`` with 19-digit ids and the longest handle);
  ``since_id`` the oldest of the posts' cursors, the results split by ``conversation_id`` and
  each post keeping what is newer than its own cursor. What is dropped was still read and billed:
  it is counted in ``Sweep.dropped``. Two things keep that bill down. A post not read before
  starts from its own id, not recent search's whole week (ids are time-ordered: every reply is
  newer than the post it answers). And every post of the query goes on from the newest id the
  query returned, whichever conversation it was in: everything newer than ``since_id`` in each
  of them was read (newest first, as ``replies`` reads), so a quiet post's cursor does not hold
  the next query's ``since_id`` back and have its neighbours' replies read and billed again.
- ``mentions``: ``GET /2/users/:id/mentions`` with ``since_id`` and ``pagination_token``.
- ``search``: recent search for the term, without the account's own posts and reposts.

X bills every post read: a page's items are exactly the posts X returned (none is dropped after
reading), so the pollers count ``len(page.items)`` against ``channels.x.monthly_read_budget``,
and ``requests`` counts every call, ``GET /2/users/me`` included (once, when the account's id
or handle was not given). Results come newest first and page backwards to ``since_id``, at most
``MAX_PAGES`` pages a call (a bigger burst leaves its oldest part unread: the cap bounds the
bill). Ids are snowflakes: the cursor is the newest id read. A 429 is a transient, rate-limited
refusal at ``x-rate-limit-reset`` (unix seconds); ``x-rate-limit-remaining`` goes into the page.
Texts come with ``&``, ``<`` and ``>`` escaped by X; they are unescaped here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from bot.config import Network
from bot.listening.heard import Heard, HeardKind, Page, Sweep, Watched
from bot.listening.sources.reading import (
    MAX_PAGES,
    as_number,
    count,
    is_newer,
    newest_id,
    read_refusal,
    unix_time,
    utc,
)
from bot.ports import Clock, PublishError, SystemClock
from bot.publishing.http import Answer, HttpClient
from bot.publishing.x import DEFAULT_BASE_URL, NAME, XAuth, x_refusal

PAGE_SIZE = 100  # the most recent search and mentions give at once
FIELDS = {
    "tweet.fields": "author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets",
    "expansions": "author_id",
    "user.fields": "username,name",
}
# A recent-search query's length on the self-serve tiers (Pro and up take 1,024).
QUERY_MAX = 512
ID_DIGITS = 19  # X's ids: snowflakes of up to 19 digits
HANDLE_MAX = 15  # X's usernames


def conversations_query(ids: list[str], handle: str) -> str:
    """One recent-search query for the replies in these conversations, not by ``handle``."""
    terms = " OR ".join(f"conversation_id:{post_id}" for post_id in ids)
    return f"({terms}) -from:{handle}"


def _most_that_fit() -> int:
    """How many conversations always fit in one query, whatever the ids and the handle."""
    most = 1
    while len(conversations_query(["9" * ID_DIGITS] * (most + 1), "h" * HANDLE_MAX)) <= QUERY_MAX:
        most += 1
    return most


@dataclass
class _Read:
    """What one paged read gave: its posts (newest first), their authors, and its requests."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    answer: Answer | None = None  # the last, for its rate-limit headers

    def remaining(self) -> int | None:
        headers = self.answer.headers if self.answer is not None else None
        return count(headers.get("x-rate-limit-remaining")) if headers else None

    def reset_at(self) -> datetime | None:
        headers = self.answer.headers if self.answer is not None else None
        return unix_time(headers.get("x-rate-limit-reset")) if headers else None


class XSource:
    """Reads one X account's conversations and mentions, and searches recent posts."""

    network = Network.X
    hears_mentions = True
    searches = True
    replies_per_call = _most_that_fit()  # 12 at 512 characters

    def __init__(
        self,
        *,
        http: HttpClient,
        auth: XAuth,
        base_url: str = DEFAULT_BASE_URL,
        user_id: str | None = None,
        handle: str | None = None,
        clock: Clock | None = None,
        max_pages: int = MAX_PAGES,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._http = http
        self._auth = auth
        self._base = base_url.rstrip("/")
        self._user_id = user_id
        self._handle = handle.lstrip("@") if handle else None
        self._clock = clock or SystemClock()
        self._max_pages = max(1, max_pages)
        self._page_size = max(10, min(page_size, PAGE_SIZE))  # X takes 10 to 100

    async def _get(self, path: str, params: dict[str, Any]) -> Answer:
        # OAuth 1.0a signs the query too: sign the URL exactly as it is sent.
        url = f"{self._base}{path}"
        url = f"{url}?{urlencode(params, quote_via=quote)}" if params else url
        headers = self._auth.headers("GET", url)
        return await self._http.send("GET", url, network=NAME, headers=headers)

    def _refused(self, answer: Answer) -> PublishError:
        return read_refusal(x_refusal(answer))

    async def _me(self) -> int:
        """Learn the account's id and handle once; the requests it took."""
        if self._user_id and self._handle:
            return 0
        answer = await self._get("/2/users/me", {})
        data = answer.ok_value("data")
        if not isinstance(data, dict):
            raise self._refused(answer)
        self._user_id = self._user_id or str(data.get("id") or "")
        self._handle = self._handle or str(data.get("username") or "")
        return 1

    # ----- the three reads -----------------------------------------------------------------

    async def replies(self, post: Watched, *, since: str | None = None) -> Page:
        asked = await self._me()
        query = f"conversation_id:{post.external_id} -from:{self._handle}"
        path = "/2/tweets/search/recent"
        return await self._pages(path, query, "next_token", since, HeardKind.REPLY, asked)

    async def replies_many(self, posts: list[tuple[Watched, str | None]]) -> Sweep:
        asked = await self._me()
        pages: dict[int, Page] = {}
        requests, dropped, last = asked, 0, _Read()
        for group in self._packed(posts):
            query = conversations_query([post.external_id for post, _ in group], self._handle or "")
            since_all = _oldest([since or post.external_id for post, since in group])
            last = await self._read("/2/tweets/search/recent", query, "next_token", since_all)
            requests += last.requests
            now = self._clock.now()
            by_conversation: dict[str, list[dict[str, Any]]] = {}
            for row in last.rows:
                by_conversation.setdefault(str(row.get("conversation_id")), []).append(row)
            top = newest_id((row.get("id") for row in last.rows), since_all)
            taken = 0
            for post, since in group:
                rows = by_conversation.get(post.external_id, [])
                new = [row for row in rows if is_newer(row.get("id"), since)]
                taken += len(new)
                items = [_heard(row, last.users, HeardKind.REPLY, now) for row in new]
                cursor = newest_id([top], since)
                pages[post.delivery_id] = Page(items=_oldest_first(items), cursor=cursor)
            dropped += len(last.rows) - taken
        return Sweep(
            pages=pages,
            remaining=last.remaining(),
            reset_at=last.reset_at(),
            requests=requests,
            dropped=dropped,
        )

    def _packed(
        self, posts: list[tuple[Watched, str | None]]
    ) -> list[list[tuple[Watched, str | None]]]:
        """The posts in as few queries as fit in ``QUERY_MAX`` characters (in order)."""
        groups: list[list[tuple[Watched, str | None]]] = []
        for post in posts:
            if groups:
                ids = [watched.external_id for watched, _ in [*groups[-1], post]]
                if len(conversations_query(ids, self._handle or "")) <= QUERY_MAX:
                    groups[-1].append(post)
                    continue
            groups.append([post])
        return groups

    async def mentions(self, *, since: str | None = None) -> Page:
        asked = await self._me()
        path = f"/2/users/{self._user_id}/mentions"
        return await self._pages(path, None, "pagination_token", since, HeardKind.MENTION, asked)

    async def search(self, query: str, *, since: str | None = None) -> Page:
        asked = await self._me()
        wanted = f"({query}) -from:{self._handle} -is:retweet"
        path = "/2/tweets/search/recent"
        return await self._pages(path, wanted, "next_token", since, HeardKind.MENTION, asked)

    async def _pages(
        self,
        path: str,
        query: str | None,
        token_name: str,
        since: str | None,
        kind: HeardKind,
        asked: int,
    ) -> Page:
        """Newest first back to ``since``, ``MAX_PAGES`` at most (``asked``: requests already
        made for this call)."""
        read = await self._read(path, query, token_name, since)
        now = self._clock.now()
        items = [_heard(row, read.users, kind, now) for row in read.rows]
        return Page(
            items=_oldest_first(items),
            cursor=newest_id((row.get("id") for row in read.rows), since),
            remaining=read.remaining(),
            reset_at=read.reset_at(),
            requests=read.requests + asked,
        )

    async def _read(
        self, path: str, query: str | None, token_name: str, since: str | None
    ) -> _Read:
        """Every page newest first back to ``since``, ``MAX_PAGES`` at most."""
        params: dict[str, Any] = {**FIELDS, "max_results": self._page_size}
        if query is not None:
            params["query"] = query
        if since:
            params["since_id"] = since
        read = _Read()
        while read.requests < self._max_pages:
            answer = await self._get(path, params)
            read.requests += 1
            read.answer = answer
            if not answer.ok:
                raise self._refused(answer)
            read.users.update(_users(answer.fields.get("includes")))
            data = answer.fields.get("data")
            rows = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
            read.rows.extend(rows)
            meta = answer.fields.get("meta")
            following = meta.get("next_token") if isinstance(meta, dict) else None
            if not following or not rows:
                break
            params = {**params, token_name: following}
        return read


def _oldest(cursors: list[str]) -> str | None:
    """The cursor that reads back far enough for every post: the smallest (none, recent
    search's default window, if one is not an id)."""
    numbers = [as_number(since) for since in cursors]
    return None if None in numbers else str(min(n for n in numbers if n is not None))


def _oldest_first(items: list[Heard]) -> tuple[Heard, ...]:
    return tuple(sorted(items, key=lambda heard: int(heard.external_id)))


def _users(includes: object) -> dict[str, dict[str, Any]]:
    users = includes.get("users") if isinstance(includes, dict) else None
    return {
        str(user.get("id")): user
        for user in (users if isinstance(users, list) else [])
        if isinstance(user, dict)
    }


def _heard(
    row: dict[str, Any], users: dict[str, dict[str, Any]], kind: HeardKind, now: datetime
) -> Heard:
    user = users.get(str(row.get("author_id")), {})
    username = str(user.get("username") or "")
    handle = f"@{username}" if username else str(row.get("author_id") or "someone")
    post_id = str(row.get("id"))
    replied = [
        ref.get("id")
        for ref in row.get("referenced_tweets") or []
        if isinstance(ref, dict) and ref.get("type") == "replied_to"
    ]
    url = f"https://x.com/{username or 'i/web'}/status/{post_id}"
    return Heard(
        network=Network.X,
        external_id=post_id,
        kind=kind,
        author=handle,
        author_name=str(user.get("name") or "").strip() or handle,
        text=html.unescape(str(row.get("text") or "")),
        url=url,
        created_at=utc(row.get("created_at")) or now,  # asked for in tweet.fields: always there
        in_reply_to=str(replied[0]) if replied else None,
    )
