"""Mastodon's reading side: replies from a status's context, mentions from the notifications,
and full-text search where the instance offers it.

- ``replies``: ``GET /api/v1/statuses/:id/context``; its ``descendants`` are the whole thread
  below the post (every depth, in one answer). The cursor is the newest descendant's id;
  Mastodon's ids are snowflakes (time-ordered), so newer means a larger number.
- ``mentions``: ``GET /api/v1/notifications?types[]=mention``. With a cursor it asks for the
  notifications just after it (``min_id``) and follows the ``Link: <…>; rel="prev"`` pages
  towards the newest, ``MAX_PAGES`` at most: Mastodon's ``since_id`` would give the *newest*
  page and leave a gap behind a burst of more than one page, whereas ``min_id`` lets the next
  poll go on where this one stopped. Without a cursor (the first poll) only the newest page is
  read: listening starts now, it does not replay the account's history (an account with no
  mentions yet gets the cursor "0": all its first mentions are new).
- ``search``: ``GET /api/v2/search?type=statuses``, signed in (instances refuse status search
  without a token); an instance that answers 401/403, or has no full-text search (empty
  answers), gives an empty page. Newest first; pages back by ``max_id`` until the cursor.

Status ``content`` is HTML: it is read as text with the standard library's parser (``<br>`` and
paragraphs become line breaks, entities decoded, every tag dropped). The account's own statuses
(Crier's threaded updates) are not heard. Every answer's ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (ISO 8601) go into the page.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from bot.config import Network
from bot.listening.heard import Heard, HeardKind, Page, Sweep, Watched
from bot.listening.sources.reading import (
    MAX_PAGES,
    count,
    is_newer,
    newest_id,
    one_at_a_time,
    read_refusal,
    utc,
)
from bot.ports import Clock, PublishError, SystemClock
from bot.publishing.http import Answer, HttpClient, refusal, retry_after
from bot.publishing.mastodon import handle_of

NAME = "Mastodon"
PAGE_SIZE = 40  # the most Mastodon gives per page of notifications or search results
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')


class _Text(HTMLParser):
    """Mastodon's status HTML as the words a reader sees."""

    BREAKS = frozenset({"br"})
    BLOCKS = frozenset({"p", "div", "blockquote", "li", "pre", "ul", "ol"})
    HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def plain_text(content: str) -> str:
    """``<p>Still down?<br>Since 2 &amp; counting</p><p>@it</p>`` → "Still down?\\nSince 2 &
    counting\\n\\n@it": line breaks kept, markup gone, at most one blank line in a row."""
    parser = _Text()
    parser.feed(content)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _links(header: str | None) -> dict[str, str]:
    """``Link: <…?max_id=1>; rel="next", <…?min_id=9>; rel="prev"`` as {"next": …, "prev": …}."""
    return {rel: url for url, rel in _LINK.findall(header or "")}


class MastodonSource:
    """Reads one account's threads, mentions and searches on one instance."""

    network = Network.MASTODON
    hears_mentions = True
    searches = True
    replies_per_call = 1  # a thread's context a request

    def __init__(
        self,
        *,
        http: HttpClient,
        base_url: str,
        token: SecretStr,
        account: str | None = None,
        clock: Clock | None = None,
        max_pages: int = MAX_PAGES,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._http = http
        self._root = base_url.rstrip("/")
        self._token = token
        self._host = urlsplit(self._root).netloc or self._root
        self._own = handle_of(account, self._host) if account else None
        self._clock = clock or SystemClock()
        self._max_pages = max(1, max_pages)
        self._page_size = max(1, min(page_size, PAGE_SIZE))

    async def _get(self, url: str, params: Any = None) -> Answer:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        return await self._http.send("GET", url, network=NAME, headers=headers, params=params)

    def _refused(self, answer: Answer) -> PublishError:
        error = refusal(answer, network=NAME)
        if error.transient and error.retry_at is None:
            error.retry_at = retry_after(answer.headers, now=self._clock.now())
        return read_refusal(error)

    def _page(
        self, items: list[Heard], cursor: str | None, answer: Answer | None, requests: int
    ) -> Page:
        ordered = tuple(sorted(items, key=lambda heard: (heard.created_at, heard.external_id)))
        headers = answer.headers if answer is not None else None
        return Page(
            items=ordered,
            cursor=cursor,
            remaining=count(headers.get("X-RateLimit-Remaining")) if headers else None,
            reset_at=utc(headers.get("X-RateLimit-Reset")) if headers else None,
            requests=requests,
        )

    # ----- replies -------------------------------------------------------------------------

    async def replies_many(self, posts: list[tuple[Watched, str | None]]) -> Sweep:
        """A thread a request: each post's ``replies`` in turn."""
        return await one_at_a_time(self, posts)

    async def replies(self, post: Watched, *, since: str | None = None) -> Page:
        answer = await self._get(f"{self._root}/api/v1/statuses/{post.external_id}/context")
        if answer.status == 404:  # the post was deleted: nothing more will come
            return replace(self._page([], since, answer, 1), gone=True)
        if not answer.ok:
            raise self._refused(answer)
        descendants = answer.fields.get("descendants")
        statuses = [s for s in descendants if isinstance(s, dict)] if descendants else []
        fresh = [s for s in statuses if is_newer(s.get("id"), since)]
        items = [h for s in fresh if (h := self._heard(s, HeardKind.REPLY)) is not None]
        cursor = newest_id((s.get("id") for s in statuses), since)
        return self._page(items, cursor, answer, 1)

    # ----- mentions ------------------------------------------------------------------------

    async def mentions(self, *, since: str | None = None) -> Page:
        params: dict[str, str | int] | None = {"types[]": "mention", "limit": self._page_size}
        if since:
            params = {**(params or {}), "min_id": since}
        url: str | None = f"{self._root}/api/v1/notifications"
        items: list[Heard] = []
        cursor, requests, answer = since, 0, None
        while url and requests < self._max_pages:
            answer = await self._get(url, params)
            requests += 1
            if not answer.ok:
                raise self._refused(answer)
            notes = [n for n in answer.body if isinstance(n, dict)] if answer.body else []
            notes = [n for n in notes if is_newer(n.get("id"), cursor)]
            if not notes:
                break
            cursor = newest_id((n.get("id") for n in notes), cursor)
            for note in notes:
                status = note.get("status")
                if note.get("type") == "mention" and isinstance(status, dict):
                    heard = self._heard(status, HeardKind.MENTION)
                    items.extend([heard] if heard is not None else [])
            if since is None:
                break  # the first poll: the newest page marks where listening starts
            # The "prev" link asks for what is newer than this page (min_id), as Mastodon pages.
            url, params = _links(answer.headers.get("Link")).get("prev"), None
        if since is None and cursor is None:
            cursor = "0"  # nothing yet: the next poll reads everything from the start
        return self._page(items, cursor, answer, requests)

    # ----- search --------------------------------------------------------------------------

    async def search(self, query: str, *, since: str | None = None) -> Page:
        limit = self._page_size
        params: dict[str, str | int] = {"q": query, "type": "statuses", "limit": limit}
        url = f"{self._root}/api/v2/search"
        items: list[Heard] = []
        cursor, requests, answer = since, 0, None
        while requests < self._max_pages:
            answer = await self._get(url, params)
            requests += 1
            if answer.status in (401, 403, 404, 422):  # no search here, or not for this token
                return self._page(items, cursor, answer, requests)
            if not answer.ok:
                raise self._refused(answer)
            found = answer.fields.get("statuses")
            statuses = [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []
            fresh = [s for s in statuses if is_newer(s.get("id"), since)]
            cursor = newest_id((s.get("id") for s in fresh), cursor)
            items.extend(h for s in fresh if (h := self._heard(s, HeardKind.MENTION)) is not None)
            oldest = min((int(s["id"]) for s in fresh), default=None)
            # Another page only while this one was full and all of it new: the rest is older.
            if since is None or oldest is None or len(fresh) < len(statuses) or not statuses:
                break
            if len(statuses) < limit:
                break
            params = {**params, "max_id": str(oldest)}
        return self._page(items, cursor, answer, requests)

    # ----- statuses as heard ---------------------------------------------------------------

    def _heard(self, status: dict[str, Any], kind: HeardKind) -> Heard | None:
        account = status.get("account") if isinstance(status.get("account"), dict) else {}
        assert isinstance(account, dict)
        handle = handle_of(str(account.get("acct") or account.get("username") or ""), self._host)
        if self._own is not None and handle.lower() == self._own.lower():
            return None  # Crier's own status in the thread
        created = utc(status.get("created_at"))
        status_id = str(status.get("id") or "")
        if created is None or not status_id:
            return None
        name = plain_text(str(account.get("display_name") or "")) or handle
        reply_to = status.get("in_reply_to_id")
        return Heard(
            network=Network.MASTODON,
            external_id=status_id,
            kind=kind,
            author=handle,
            author_name=name,
            text=plain_text(str(status.get("content") or "")),
            url=status.get("url") or status.get("uri"),
            created_at=created,
            in_reply_to=str(reply_to) if reply_to else None,
        )
