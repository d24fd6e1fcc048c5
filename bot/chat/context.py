"""What a chat's presenter is built from before the core exists. The core is then built with the
presenters and directories in hand (``build_core(chat=…, presenters=…, directories=…)``), so
nothing is written into it afterwards; only the chats' listeners are wired to it once built.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.anchors import ChatAnchors
from bot.config import CrierConfig
from bot.ports import Clock, SystemClock
from bot.storage.store import Store


@dataclass(frozen=True)
class ChatContext:
    config: CrierConfig
    store: Store
    clock: Clock
    anchors: ChatAnchors  # which chat message shows what, shared by the chats' presenters


def chat_context(config: CrierConfig, store: Store, clock: Clock | None = None) -> ChatContext:
    return ChatContext(
        config=config, store=store, clock=clock or SystemClock(), anchors=ChatAnchors(store)
    )
