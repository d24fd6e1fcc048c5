"""What Crier hears on the networks: a reply to one of its posts, or a mention of the
organisation or of a service, as each network's reading side (``bot.listening.sources``) gives
it to the listening jobs. Written once, whatever the network; no chat imports.

A source turns one network's API answers into ``Heard`` items and a ``Page``: the items, where
to go on from next time (``cursor``), and what the network said of its rate limit, so the
pollers keep within each network's own budget (``remaining`` and ``reset_at``, from its
headers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.config import Network


class HeardKind(StrEnum):
    REPLY = "reply"  # in the thread of one of Crier's posts
    MENTION = "mention"  # names the organisation's account, or a watched term


@dataclass(frozen=True)
class Heard:
    """One reply or mention, as plain text (HTML and markup taken out; never a ping)."""

    network: Network
    external_id: str  # the network's id: an X post id, Mastodon status id, at:// uri, comment id
    kind: HeardKind
    author: str  # the handle as the network shows it: "@jsmith@mastodon.social", "ann.bsky.social"
    author_name: str  # a display name, or the handle again
    text: str
    url: str | None  # where people read it on the network
    created_at: datetime  # UTC, as the network dates it
    in_reply_to: str | None = None  # the external id it answers (Crier's post or a reply)
    # What answering it needs besides ``external_id``: Bluesky's {"uri", "cid", "root_uri",
    # "root_cid"}; empty for networks that reply by id alone.
    reply_ref: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One call's worth: the items (oldest first), where the next poll starts, and the
    network's word on its rate limit (None where it said nothing)."""

    items: tuple[Heard, ...]
    cursor: str | None = None  # opaque to the pollers: give it back as ``since``
    remaining: int | None = None  # requests left in the network's current window
    reset_at: datetime | None = None  # when that window starts again (UTC)
    requests: int = 1  # how many HTTP requests it took (pages followed), for the budget
    # The watched post was deleted on the network: nothing more will come, and the pollers
    # stop asking for it (each ask of it would spend the budget for nothing).
    gone: bool = False


@dataclass(frozen=True)
class Sweep:
    """One call's replies to several watched posts (``ListeningSource.replies_many``): a page
    per post, by ``Watched.delivery_id`` (its items and its own cursor; its ``requests`` and
    limit fields unused), and the call's word on the rate limit. A post missing from ``pages``
    was not read (its cursor stays as it was)."""

    pages: dict[int, Page]
    remaining: int | None = None
    reset_at: datetime | None = None
    requests: int = 1  # every HTTP request the call made, for the budget
    # Posts the network returned but left out of ``pages`` (older than their own post's
    # cursor: read for another post's sake). X bills them too, so the pollers count them.
    dropped: int = 0


@dataclass(frozen=True)
class Watched:
    """One of Crier's published posts whose replies are collected (a sent delivery)."""

    delivery_id: int
    network: Network
    external_id: str  # what the publisher recorded (Delivery.external_id)
    url: str | None
    published_at: datetime


class ListeningSource(Protocol):
    """One network's reading side. Failures raise ``bot.ports.PublishError`` (transient with
    ``retry_at`` and ``rate_limited`` on a 429, permanent on a refused token), as publishers do."""

    network: Network
    # What the network offers to read besides threads (Facebook's Pages API neither; Bluesky's
    # notifications need the account's session): the poller spends no budget on the rest.
    hears_mentions: bool
    searches: bool
    # How many watched posts one ``replies_many`` call may read at most (X: as many
    # ``conversation_id:`` terms as fit in one search query; Facebook: the ids of one Graph
    # read). 1 where a thread is read a call: the poller then calls ``replies`` only.
    replies_per_call: int

    async def replies(self, post: Watched, *, since: str | None = None) -> Page:
        """The replies in ``post``'s thread (at any depth), newer than ``since`` (a cursor this
        method gave before for the same post)."""
        ...

    async def replies_many(self, posts: list[tuple[Watched, str | None]]) -> Sweep:
        """The replies to each of ``posts`` (at most ``replies_per_call``; each with its own
        cursor, as ``replies`` takes it) read together in as few requests as the network
        allows."""
        ...

    async def mentions(self, *, since: str | None = None) -> Page:
        """Posts that mention the account (its notifications), newer than ``since``."""
        ...

    async def search(self, query: str, *, since: str | None = None) -> Page:
        """Public posts matching ``query`` (a watched term), newer than ``since``; a network or
        instance that offers no search gives an empty page."""
        ...
