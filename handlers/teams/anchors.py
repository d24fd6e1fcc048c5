"""What Teams needs from the ChatAnchor rows: the conversation reference kept with an
incident's card (through the anchors the core shares, so it is read once), the incidents that
live in a conversation, and the names of the people who acted.

Looking up by conversation and keeping names are Teams' own needs, so those reads and writes go
to the table directly. Only Teams rows are read or written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from bot.chat.anchors import Anchor
from bot.chat.context import ChatContext
from bot.ports import Actor
from bot.storage.models import ChatAnchor, Incident
from bot.views import IncidentView
from handlers.teams.ids import NAMES, PLATFORM, ROOT

NO_MESSAGE = "-"


@dataclass(frozen=True)
class People:
    """Display names (and Teams ids, for mentions) of the people seen on one incident."""

    known: dict[str, dict[str, str]] = field(default_factory=dict)

    def name(self, actor_key: str | None) -> str:
        if not actor_key:
            return "someone"
        platform, _, user_id = actor_key.partition(":")
        if platform == PLATFORM:
            return self.known.get(user_id, {}).get("name") or "a Teams user"
        if platform == "slack":
            return f"Slack user {user_id}"
        return "Crier" if actor_key == "system" else actor_key

    def teams_id(self, user_id: str) -> str:
        """The id to mention someone by: their Teams id if seen, else their Entra object id."""
        return self.known.get(user_id, {}).get("id") or user_id


def _row(session: Session, incident_id: int, purpose: str) -> ChatAnchor | None:
    return session.exec(
        select(ChatAnchor).where(
            ChatAnchor.incident_id == incident_id,
            ChatAnchor.platform == PLATFORM,
            ChatAnchor.purpose == purpose,
        )
    ).first()


class TeamsAnchors:
    def __init__(self, chat: ChatContext) -> None:
        self._chat = chat

    async def reference(self, incident: IncidentView) -> dict[str, Any] | None:
        """The conversation reference kept with the incident's card, or None (not in Teams)."""
        root = await self.root(incident)
        return dict(root.reference) if root and root.reference else None

    async def root(self, incident: IncidentView) -> Anchor | None:
        """The incident's card, found once and then remembered (the shared ``ChatAnchors``); None
        without a look when the incident was declared in another chat."""
        return await self.find(incident.id, ROOT) if incident.chat == PLATFORM else None

    async def find(self, incident_id: int | None, purpose: str) -> Anchor | None:
        """The incident's Teams message kept as ``purpose`` (``post:12`` …), if any; None: a
        message about no incident (``answer:12``, where notices go)."""
        return await self._chat.anchors.find(
            incident_id=incident_id, platform=PLATFORM, purpose=purpose
        )

    async def open_incidents_in(self, conversation_id: str) -> list[int]:
        """Open incidents whose card is in this conversation, newest first."""

        def read(session: Session) -> list[int]:
            rows = session.exec(
                select(ChatAnchor.incident_id)
                .join(Incident, col(Incident.id) == col(ChatAnchor.incident_id))
                .where(
                    ChatAnchor.platform == PLATFORM,
                    ChatAnchor.purpose == ROOT,
                    ChatAnchor.channel_id == conversation_id,
                    col(Incident.resolved_at).is_(None),
                )
                .order_by(col(ChatAnchor.incident_id).desc())
            ).all()
            return [i for i in rows if i is not None]  # the join names an incident

        return await self._chat.store.read(read)

    async def latest_reference(self) -> dict[str, Any] | None:
        """The conversation of the incident declared in Teams most recently: where Crier shows
        what concerns no incident (a proposed calendar post). None if Teams has had none."""

        def read(session: Session) -> dict[str, Any] | None:
            rows = session.exec(
                select(ChatAnchor.reference)
                .where(ChatAnchor.platform == PLATFORM, ChatAnchor.purpose == ROOT)
                .order_by(col(ChatAnchor.id).desc())
                .limit(5)
            ).all()
            return next((dict(r) for r in rows if r), None)

        return await self._chat.store.read(read)

    async def remember(self, incident_id: int, actor: Actor, *, teams_id: str | None) -> None:
        """Keep the person's display name, so cards say who decided, not an object id."""
        if actor.platform != PLATFORM or not actor.name:
            return
        entry = {"name": actor.name[:100], "id": teams_id or ""}

        def write(session: Session) -> None:
            if session.get(Incident, incident_id) is None:
                return  # a button about an incident that does not exist: the action says so
            row = _row(session, incident_id, NAMES) or ChatAnchor(
                incident_id=incident_id,
                platform=PLATFORM,
                purpose=NAMES,
                channel_id=NO_MESSAGE,
                message_id=NO_MESSAGE,
            )
            if (row.reference or {}).get(actor.user_id) == entry:
                return
            row.reference = {**(row.reference or {}), actor.user_id: entry}
            session.add(row)

        await self._chat.store.run(write)

    async def people(self, incident_id: int) -> People:
        def read(session: Session) -> People:
            row = _row(session, incident_id, NAMES)
            return People(dict(row.reference) if row else {})

        return await self._chat.store.read(read)
