"""Where an incident lives in chat: found anchors are remembered, missing ones looked up again."""

from __future__ import annotations

from bot.chat.anchors import Anchor, ChatAnchors
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.store import Store
from tests.conftest import ANALYST, make_config


async def incident(store: Store) -> int:
    core = build_core(settings=Settings(), config=make_config(), store=store)
    draft = await core.declare(Actor("slack", ANALYST), DeclareRequest(service="VPN", summary="x"))
    return draft.incident.id


async def test_a_found_anchor_is_not_read_again(store: Store, statements: list[str]) -> None:
    incident_id = await incident(store)
    anchors, elsewhere = ChatAnchors(store), ChatAnchors(store)  # two processes, one database
    where = {"incident_id": incident_id, "platform": "slack", "purpose": "root"}
    assert await anchors.find(**where) is None
    await elsewhere.save(
        incident_id=incident_id, purpose="root", anchor=Anchor("slack", "C1", "1.0", None)
    )
    found = await anchors.find(**where)  # not found before: looked up again, and found
    assert found is not None and found.message_id == "1.0"
    statements.clear()
    assert await anchors.find(**where) == found
    assert await elsewhere.find(**where) == found  # saved there: known there
    assert statements == []


async def test_only_the_most_recently_used_are_kept(store: Store, statements: list[str]) -> None:
    incident_id = await incident(store)
    anchors = ChatAnchors(store, most=2)
    for purpose in ("root", "post:1", "post:2"):
        await anchors.save(
            incident_id=incident_id, purpose=purpose, anchor=Anchor("slack", "C", purpose, None)
        )
    statements.clear()
    assert await anchors.find(incident_id=incident_id, platform="slack", purpose="post:2")
    assert statements == []
    found = await anchors.find(incident_id=incident_id, platform="slack", purpose="root")
    assert found is not None and found.message_id == "root"  # forgotten here, read again
    assert statements
