"""What the networks' reading sides share: dates, cursors, and how far one call may page.

Two kinds of cursor: networks with ordered ids (Mastodon's and X's snowflakes) go on from the
newest id seen, compared as numbers; networks without (Bluesky's at:// uris, Facebook's comment
ids) go on from the newest time seen, together with the ids seen at that very time, so an item
that ties with the cursor's time but came later is still new (``TimeCursor``).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.listening.heard import Page, Sweep, Watched
from bot.ports import PublishError

# Pages one call follows at most: a burst larger than that is read over the next polls
# (Mastodon) or, where a network only pages backwards from the newest (Bluesky, Facebook, X),
# its oldest part is left unread; the pollers' budgets stay bounded either way.
MAX_PAGES = 5


def utc(text: object) -> datetime | None:
    """An ISO 8601 time as networks write it ("…Z", "…+0000", "…+00:00"), in UTC."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():  # Graph's "+0000"
        value = f"{value[:-2]}:{value[-2:]}"
    with suppress(ValueError):
        moment = datetime.fromisoformat(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return None


def as_number(item_id: object) -> int | None:
    """A snowflake id as the number it orders by; None for anything else."""
    text = str(item_id or "")
    return int(text) if text.isdigit() else None


def is_newer(item_id: object, since: str | None) -> bool:
    """Whether ``item_id`` comes after ``since`` (both snowflakes; no ``since``: everything)."""
    number, floor = as_number(item_id), as_number(since)
    return number is not None and (floor is None or number > floor)


def newest_id(ids: Iterable[object], since: str | None) -> str | None:
    """The largest of ``ids`` and ``since``, as the next cursor."""
    numbers = [n for n in (as_number(i) for i in (*ids, since)) if n is not None]
    return str(max(numbers)) if numbers else since


@dataclass(frozen=True)
class TimeCursor:
    """Read up to ``at``, and these ``ids`` at exactly ``at``. Written as "<iso> <id> <id>…"
    (at:// uris and Graph ids hold no spaces)."""

    at: datetime | None = None
    ids: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, since: str | None) -> TimeCursor:
        if not since:
            return cls()
        first, *ids = since.split(" ")
        at = utc(first)
        return cls(at, frozenset(ids)) if at is not None else cls()

    def is_new(self, at: datetime, item_id: str) -> bool:
        return self.at is None or at > self.at or (at == self.at and item_id not in self.ids)

    def after(self, seen: Iterable[tuple[datetime, str]]) -> TimeCursor:
        """The cursor once ``seen`` (times and ids) has been read too."""
        at, ids = self.at, set(self.ids)
        for moment, item_id in seen:
            if at is None or moment > at:
                at, ids = moment, {item_id}
            elif moment == at:
                ids.add(item_id)
        return TimeCursor(at, frozenset(ids))

    def text(self) -> str | None:
        if self.at is None:
            return None
        stamp = self.at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        return " ".join([stamp, *sorted(self.ids)])


def read_refusal(error: PublishError) -> PublishError:
    """The publishers' reading of an error answer, worded for a read: nothing was posted."""
    error.message = error.message.replace(" refused the post", " refused the read", 1)
    error.maybe_sent = False
    return error


def unix_time(value: str | None) -> datetime | None:
    """A reset in unix seconds (Bluesky's ``ratelimit-reset``, X's ``x-rate-limit-reset``)."""
    with suppress(TypeError, ValueError, OverflowError):
        return datetime.fromtimestamp(float(value or ""), UTC)
    return None


def count(value: str | None) -> int | None:
    """A remaining-requests header as a number."""
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


class ReadsThreads(Protocol):
    async def replies(self, post: Watched, *, since: str | None = None) -> Page: ...


async def one_at_a_time(source: ReadsThreads, posts: list[tuple[Watched, str | None]]) -> Sweep:
    """``replies_many`` for a network that reads a thread a call: each post's ``replies`` in
    turn (a failure stops there and raises, as ``replies`` does)."""
    pages: dict[int, Page] = {}
    requests, last = 0, None
    for post, since in posts:
        last = await source.replies(post, since=since)
        pages[post.delivery_id] = last
        requests += last.requests
    return Sweep(
        pages=pages,
        remaining=last.remaining if last is not None else None,
        reset_at=last.reset_at if last is not None else None,
        requests=requests,
    )
