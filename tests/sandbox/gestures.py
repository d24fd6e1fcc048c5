"""The page's gestures and its state, as the sandbox's tests use them without a browser."""

from __future__ import annotations

from typing import Any

import aiohttp

from handlers.sandbox.app import ANALYST, CHANNEL_ID, Sandbox
from tests.sandbox.conftest import eventually

APPROVER = "U0APPROVER1"
JsonDict = dict[str, Any]


async def state(http: aiohttp.ClientSession, sandbox: Sandbox, user: str) -> JsonDict:
    async with http.get(f"{sandbox.url}/api/state", params={"user": user}) as response:
        assert response.status == 200
        body: JsonDict = await response.json()
        return body


async def gesture(
    http: aiohttp.ClientSession, sandbox: Sandbox, path: str, **body: Any
) -> JsonDict:
    async with http.post(f"{sandbox.url}/api/{path}", json=body) as response:
        assert response.status == 200, await response.text()
        answer: JsonDict = await response.json()
        return answer


async def approve(
    http: aiohttp.ClientSession, sandbox: Sandbox, user: str, click: JsonDict
) -> None:
    """Click *Approve & publish* and confirm: Crier asks only who may publish ("Publish now?")."""
    await gesture(http, sandbox, "action", user=user, **click)

    async def asked() -> JsonDict | None:
        modal = (await state(http, sandbox, user))["modal"]
        return modal if isinstance(modal, dict) and "Publish now?" in modal["html"] else None

    modal = await eventually(asked)
    done = await gesture(http, sandbox, "submit", user=user, view_id=modal["id"], values={})
    assert done["closed"] is True, done


def approve_button(sandbox: Sandbox) -> tuple[str, str]:
    """(ts, block_id) of the draft's Approve button in the workspace."""
    assert sandbox.workspace is not None
    for root in sandbox.workspace.messages(CHANNEL_ID):
        for reply in sandbox.workspace.thread(CHANNEL_ID, root["ts"]):
            for block in reply.get("blocks", []):
                for element in block.get("elements", []) if block["type"] == "actions" else []:
                    if element.get("action_id") == "draft_approve":
                        return reply["ts"], block["block_id"]
    raise AssertionError("no draft with an Approve button")


async def timeline_with(
    http: aiohttp.ClientSession, sandbox: Sandbox, user: str, words: str
) -> str | None:
    timeline = str((await state(http, sandbox, user))["timeline"])
    return timeline if words in timeline else None


async def published(http: aiohttp.ClientSession, sandbox: Sandbox, *, count: int) -> str | None:
    panels = str((await state(http, sandbox, ANALYST.user_id))["published"])
    return panels if panels.count("<article") >= count else None
