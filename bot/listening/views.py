"""What the chats are given to show of what Crier heard: a batch of replies for an incident's
thread, and a surge of mentions of a service. Written once, rendered by each platform; every
text here that a member of the public wrote is plain text, for the chat to escape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import Network
from bot.listening.mood import Mood
from bot.storage.models import HeardPost
from bot.views import NETWORK_LABELS


@dataclass(frozen=True)
class HeardView:
    id: int
    network: Network
    kind: str  # "reply", "mention"
    author: str  # the handle
    author_name: str
    text: str  # as written: plain text, never markup
    url: str | None
    created_at: datetime
    mood: Mood
    incident_id: int | None = None  # the incident whose post it answers; None for a mention

    @property
    def network_label(self) -> str:
        return NETWORK_LABELS.get(self.network, self.network.value)

    @property
    def who(self) -> str:
        """ "Ann Example (@ann@mastodon.social)", or the handle alone."""
        if self.author_name and self.author_name != self.author:
            return f"{self.author_name} ({self.author})"
        return self.author

    @classmethod
    def of(cls, row: HeardPost) -> HeardView:
        return cls(
            id=row.id or 0,
            network=Network(row.network),
            kind=row.kind,
            author=row.author,
            author_name=row.author_name,
            text=row.text,
            url=row.url,
            created_at=row.created_at,
            mood=Mood(row.mood),
            incident_id=row.incident_id,
        )


@dataclass(frozen=True)
class HeardBatch:
    """New replies to an incident's posts, for its thread: each one (``items``) when few, else
    a summary line and a few examples, the angriest first (``summary`` is then set)."""

    incident_id: int
    count: int  # how many are new in this batch
    items: tuple[HeardView, ...]  # shown one by one: all of them, or the examples
    summary: str | None = None  # "37 new replies, mostly about “Duo prompt” (Mastodon 20, …)"
    negative_percent: float | None = None  # of this batch


@dataclass(frozen=True)
class SpikeAlert:
    """Mentions of a service are far above normal: said in the comms channel with a *Declare
    outage* button filled in with the service, or in the thread of its open incident."""

    service: str
    sentence: str  # "Mentions of Wi-Fi are 6 times normal …" (spikes.spike_line)
    examples: tuple[HeardView, ...]
    incident_id: int | None  # the service's open incident, if it has one
