"""Where an incident lives in each chat: its root message, each post's message, a Teams
conversation reference; and a message kept in the comms channel about no incident (an answer
to a mention). Kept in the database, so any replica (or a restarted one) finds them.

``ChatAnchors`` is the core's face for them: what the chat presenters call to remember a message
they posted and to find it again. Found anchors are remembered in memory: every refresh of a
post looks up the incident's root and the post's own message, a quarter of the statements
publishing makes. An anchor does not change once saved (a presenter saves one only when it finds
none), so what was found stays true; what was not found is always looked up again, as another
process may have saved it."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from bot.storage.models import ChatAnchor
from bot.storage.store import Store

# Incident id (None: a message in the comms channel, about no incident), platform, purpose.
Key = tuple[int | None, str, str]
REMEMBERED = 10_000  # anchors kept in memory (a few hundred bytes each), the least used go first


@dataclass(frozen=True)
class Anchor:
    platform: str
    channel_id: str
    message_id: str
    thread_id: str | None
    reference: dict[str, Any] = field(default_factory=dict)


def _row(
    session: Session, incident_id: int | None, platform: str, purpose: str
) -> ChatAnchor | None:
    of_incident = (
        col(ChatAnchor.incident_id).is_(None)
        if incident_id is None
        else col(ChatAnchor.incident_id) == incident_id
    )
    return session.exec(
        select(ChatAnchor).where(
            of_incident,
            ChatAnchor.platform == platform,
            ChatAnchor.purpose == purpose,
        )
    ).first()


def save_anchor(session: Session, *, incident_id: int | None, purpose: str, anchor: Anchor) -> None:
    """Record (or move) one anchor; ``purpose`` is "root", "post:12", "outcome:12" …"""
    fields = {**asdict(anchor), "incident_id": incident_id, "purpose": purpose}
    row = _row(session, incident_id, anchor.platform, purpose)
    session.add(row.sqlmodel_update(fields) if row else ChatAnchor(**fields))


def find_anchor(
    session: Session, *, incident_id: int | None, platform: str, purpose: str
) -> Anchor | None:
    row = _row(session, incident_id, platform, purpose)
    if row is None:
        return None
    return Anchor(row.platform, row.channel_id, row.message_id, row.thread_id, dict(row.reference))


@dataclass
class ChatAnchors:
    store: Store
    most: int = REMEMBERED
    _found: OrderedDict[Key, Anchor] = field(default_factory=OrderedDict, init=False, repr=False)

    async def save(self, *, incident_id: int | None, purpose: str, anchor: Anchor) -> None:
        await self.store.run(
            lambda s: save_anchor(s, incident_id=incident_id, purpose=purpose, anchor=anchor)
        )
        self._remember((incident_id, anchor.platform, purpose), anchor)

    async def find(self, *, incident_id: int | None, platform: str, purpose: str) -> Anchor | None:
        key = (incident_id, platform, purpose)
        if key in self._found:
            self._found.move_to_end(key)
            return self._found[key]
        found = await self.store.read(
            lambda s: find_anchor(s, incident_id=incident_id, platform=platform, purpose=purpose)
        )
        if found is not None:
            self._remember(key, found)
        return found

    def _remember(self, key: Key, anchor: Anchor) -> None:
        self._found[key] = anchor
        self._found.move_to_end(key)
        while len(self._found) > self.most:
            self._found.popitem(last=False)
