"""The core's face for where an incident lives in each chat (``bot.anchors``): what the chat
presenters call to remember a message they posted and to find it again.

Found anchors are remembered in memory: every refresh of a post looks up the incident's root
and the post's own message, a quarter of the statements publishing makes. An anchor does not
change once saved (a presenter saves one only when it finds none), so what was found stays
true; what was not found is always looked up again, as another process may have saved it."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from bot import anchors
from bot.anchors import Anchor
from bot.store import Store

Key = tuple[int, str, str]  # incident id, platform, purpose
REMEMBERED = 10_000  # anchors kept in memory (a few hundred bytes each), the least used go first


@dataclass
class ChatAnchors:
    store: Store
    most: int = REMEMBERED
    _found: OrderedDict[Key, Anchor] = field(default_factory=OrderedDict, init=False, repr=False)

    async def save(self, *, incident_id: int, purpose: str, anchor: Anchor) -> None:
        await self.store.run(
            lambda s: anchors.save(s, incident_id=incident_id, purpose=purpose, anchor=anchor)
        )
        self._remember((incident_id, anchor.platform, purpose), anchor)

    async def find(self, *, incident_id: int, platform: str, purpose: str) -> Anchor | None:
        key = (incident_id, platform, purpose)
        if key in self._found:
            self._found.move_to_end(key)
            return self._found[key]
        found = await self.store.read(
            lambda s: anchors.find(s, incident_id=incident_id, platform=platform, purpose=purpose)
        )
        if found is not None:
            self._remember(key, found)
        return found

    def _remember(self, key: Key, anchor: Anchor) -> None:
        self._found[key] = anchor
        self._found.move_to_end(key)
        while len(self._found) > self.most:
            self._found.popitem(last=False)
