"""The core's face for where an incident lives in each chat (``bot.anchors``): what the chat
presenters call to remember a message they posted and to find it again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import anchors
from bot.anchors import Anchor
from bot.store import Store


@dataclass
class ChatAnchors:
    store: Store

    async def save(
        self,
        *,
        incident_id: int,
        platform: str,
        purpose: str,
        channel_id: str,
        message_id: str,
        thread_id: str | None = None,
        reference: dict[str, Any] | None = None,
    ) -> None:
        await self.store.run(
            lambda s: anchors.save(
                s,
                incident_id=incident_id,
                platform=platform,
                purpose=purpose,
                channel_id=channel_id,
                message_id=message_id,
                thread_id=thread_id,
                reference=reference,
            )
        )

    async def find(self, *, incident_id: int, platform: str, purpose: str) -> Anchor | None:
        return await self.store.read(
            lambda s: anchors.find(s, incident_id=incident_id, platform=platform, purpose=purpose)
        )
