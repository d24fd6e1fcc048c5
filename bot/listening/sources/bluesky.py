"""Bluesky's reading side: replies from the AppView's thread view, mentions from the account's
notifications, and post search.

- ``replies``: ``app.bsky.feed.getPostThread?uri=…&depth=…`` on the AppView (the public one,
  https://public.api.bsky.app, answers without signing in), its ``replies`` flattened at every
  depth; posts that are gone or blocked are skipped, and so are the account's own.
- ``mentions``: ``app.bsky.notification.listNotifications`` as the account, through its PDS
  with the publisher's session (``bot.publishing.bluesky_session``: one sign-in for both), the
  ``mention``, ``reply`` and ``quote`` notifications kept. Without a session (no app password)
  it gives an empty page.
- ``search``: ``app.bsky.feed.searchPosts?sort=latest``, as the account when there is a session
  (the public AppView refuses some unsigned searches), else on the AppView; a 401/403 gives an
  empty page.

at:// uris are not ordered, so the cursor is a time: the newest ``indexedAt`` read and the uris
read at that very time (``TimeCursor``). Notifications and search page from the newest back
(``cursor``), so a call stops at the first item it has read before, or after ``MAX_PAGES``.
``reply_ref`` holds what answering needs: the post's uri and cid and its thread's root's. The
``ratelimit-remaining`` and ``ratelimit-reset`` (unix seconds) of the last answer go into the
page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.config import Network
from bot.listening.heard import Heard, HeardKind, Page, Sweep, Watched
from bot.listening.sources.reading import (
    MAX_PAGES,
    TimeCursor,
    count,
    one_at_a_time,
    read_refusal,
    unix_time,
    utc,
)
from bot.ports import Clock, PublishError, SystemClock
from bot.publishing.bluesky_session import NAME, BlueskySession, bluesky_refusal, error_name
from bot.publishing.http import Answer, HttpClient

DEFAULT_APPVIEW = "https://public.api.bsky.app"
DEPTH = 1000  # the AppView's most: every reply, however deep
PAGE_SIZE = 100  # the most listNotifications and searchPosts give at once
REASONS = ("mention", "reply", "quote")


@dataclass(frozen=True)
class _Post:
    """What Crier hears of a post, however the AppView wrapped it."""

    uri: str
    cid: str
    author: dict[str, Any]
    record: dict[str, Any]
    indexed_at: datetime


def _post(view: object) -> _Post | None:
    if not isinstance(view, dict):
        return None
    author, record = view.get("author"), view.get("record")
    at = utc(view.get("indexedAt")) or (utc(record.get("createdAt")) if record else None)
    if not (isinstance(author, dict) and isinstance(record, dict) and at and view.get("uri")):
        return None
    return _Post(str(view["uri"]), str(view.get("cid") or ""), author, record, at)


def _flatten(thread: object) -> list[_Post]:
    """Every post below ``thread`` (a threadViewPost), at any depth."""
    found: list[_Post] = []
    replies = thread.get("replies") if isinstance(thread, dict) else None
    for reply in replies if isinstance(replies, list) else []:
        if isinstance(reply, dict) and (post := _post(reply.get("post"))) is not None:
            found.append(post)  # notFoundPost and blockedPost have no "post"
        found.extend(_flatten(reply))
    return found


class BlueskySource:
    """Reads one account's threads, notifications and searches."""

    network = Network.BLUESKY
    searches = True
    replies_per_call = 1  # a thread (getPostThread) a request

    def __init__(
        self,
        *,
        http: HttpClient,
        appview_url: str = DEFAULT_APPVIEW,
        session: BlueskySession | None = None,
        account: str | None = None,
        clock: Clock | None = None,
        max_pages: int = MAX_PAGES,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._http = http
        self._appview = appview_url.rstrip("/")
        self._session = session
        self.hears_mentions = session is not None  # notifications are the account's
        handle = account or (session.handle if session else "")
        self._own = {handle.lstrip("@").lower()} - {""}
        self._clock = clock or SystemClock()
        self._max_pages = max(1, max_pages)
        self._page_size = max(1, min(page_size, PAGE_SIZE))

    async def _get(self, nsid: str, params: dict[str, Any], *, signed: bool) -> Answer:
        if signed and self._session is not None:
            answer, session = await self._session.xrpc("GET", nsid, params=params)
            self._own |= {session.did.lower(), session.handle.lower()}
            return answer
        url = f"{self._appview}/xrpc/{nsid}"
        return await self._http.send("GET", url, network=NAME, params=params)

    @staticmethod
    def _page(items: list[Heard], cursor: TimeCursor, answer: Answer | None, requests: int) -> Page:
        headers = answer.headers if answer is not None else None
        return Page(
            items=tuple(sorted(items, key=lambda heard: (heard.created_at, heard.external_id))),
            cursor=cursor.text(),
            remaining=count(headers.get("ratelimit-remaining")) if headers else None,
            reset_at=unix_time(headers.get("ratelimit-reset")) if headers else None,
            requests=requests,
        )

    def _refused(self, answer: Answer) -> PublishError:
        return read_refusal(bluesky_refusal(answer))

    # ----- replies -------------------------------------------------------------------------

    async def replies_many(self, posts: list[tuple[Watched, str | None]]) -> Sweep:
        """A thread a request: each post's ``replies`` in turn."""
        return await one_at_a_time(self, posts)

    async def replies(self, post: Watched, *, since: str | None = None) -> Page:
        cursor = TimeCursor.parse(since)
        params = {"uri": post.external_id, "depth": DEPTH, "parentHeight": 0}
        answer = await self._get("app.bsky.feed.getPostThread", params, signed=False)
        if error_name(answer) == "NotFound":  # the post was deleted
            return replace(self._page([], cursor, answer, 1), gone=True)
        if not answer.ok:
            raise self._refused(answer)
        # Crier's own posts in the thread are by the account that made the watched post.
        own = self._own | {post.external_id.removeprefix("at://").split("/")[0].lower()}
        fresh = [
            p for p in _flatten(answer.fields.get("thread")) if cursor.is_new(p.indexed_at, p.uri)
        ]
        items = [self._heard(p, HeardKind.REPLY) for p in fresh if not self._is_own(p, own)]
        after = cursor.after((p.indexed_at, p.uri) for p in fresh)
        return self._page(items, after, answer, 1)

    # ----- notifications and search --------------------------------------------------------

    async def mentions(self, *, since: str | None = None) -> Page:
        if self._session is None:
            return self._page([], TimeCursor.parse(since), None, 0)
        params = {"limit": self._page_size, "reasons": list(REASONS)}
        return await self._newest(
            "app.bsky.notification.listNotifications", "notifications", params, since
        )

    async def search(self, query: str, *, since: str | None = None) -> Page:
        params = {"q": query, "sort": "latest", "limit": self._page_size}
        return await self._newest("app.bsky.feed.searchPosts", "posts", params, since)

    async def _newest(self, nsid: str, key: str, params: dict[str, Any], since: str | None) -> Page:
        """Pages of ``key`` (newest first) back to the cursor; without one (the first poll),
        the newest page: listening starts now, it does not replay the account's history."""
        cursor = TimeCursor.parse(since)
        posts: list[tuple[_Post, str]] = []
        answer, requests, reached = None, 0, False
        while not reached and requests < self._max_pages:
            answer = await self._get(nsid, params, signed=True)
            requests += 1
            if nsid.endswith("searchPosts") and answer.status in (401, 403):
                return self._page([], cursor, answer, requests)
            if not answer.ok:
                raise self._refused(answer)
            rows = answer.fields.get(key)
            for row in rows if isinstance(rows, list) else []:
                if (post := _post(row)) is None:
                    continue
                if not cursor.is_new(post.indexed_at, post.uri):
                    reached = True  # newest first: the rest was read before
                    break
                posts.append((post, str(row.get("reason") or "mention")))
            if since is None or not answer.fields.get("cursor") or not rows:
                break
            params = {**params, "cursor": answer.fields["cursor"]}
        after = cursor.after((p.indexed_at, p.uri) for p, _ in posts)
        if after.at is None:  # nothing yet: whatever comes from now on is new
            after = TimeCursor(self._clock.now())
        items = [
            self._heard(p, HeardKind.REPLY if reason == "reply" else HeardKind.MENTION)
            for p, reason in posts
            if reason in REASONS and not self._is_own(p, self._own)
        ]
        return self._page(items, after, answer, requests)

    # ----- posts as heard ------------------------------------------------------------------

    @staticmethod
    def _is_own(post: _Post, own: set[str]) -> bool:
        who = {
            str(post.author.get("did") or "").lower(),
            str(post.author.get("handle") or "").lower(),
        }
        return bool(who & own)

    @staticmethod
    def _heard(post: _Post, kind: HeardKind) -> Heard:
        handle = str(post.author.get("handle") or "")
        if not handle or handle == "handle.invalid":
            handle = str(post.author.get("did") or "someone")
        reply = post.record.get("reply") if isinstance(post.record.get("reply"), dict) else {}
        assert isinstance(reply, dict)
        parent, root = reply.get("parent") or {}, reply.get("root") or {}
        rkey = post.uri.rsplit("/", 1)[-1]
        return Heard(
            network=Network.BLUESKY,
            external_id=post.uri,
            kind=kind,
            author=handle,
            author_name=str(post.author.get("displayName") or "").strip() or handle,
            text=str(post.record.get("text") or ""),
            url=f"https://bsky.app/profile/{handle}/post/{rkey}",
            created_at=utc(post.record.get("createdAt")) or post.indexed_at,
            in_reply_to=str(parent.get("uri")) if parent.get("uri") else None,
            reply_ref={
                "uri": post.uri,
                "cid": post.cid,
                "root_uri": str(root.get("uri") or post.uri),
                "root_cid": str(root.get("cid") or post.cid),
            },
        )
