"""Showing a post in chat: one post at a time, each time its newest state, read once."""

from __future__ import annotations

import asyncio

from bot.core import Core, build_core
from bot.incidents import approvals
from bot.incidents.acting import Acting
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.store import Store
from bot.views import IncidentView, PostView, Reminder
from tests.conftest import ANALYST, APPROVER, make_config


class HeldChat:
    """A chat platform whose messages go out only when the test lets them."""

    platform = "held"

    def __init__(self) -> None:
        self.shown: list[tuple[int, str]] = []
        self.incidents_shown: list[int] = []
        self.showing: list[int] = []  # posts whose message is being sent now
        self.most_at_once: dict[int, int] = {}
        self.arrived = asyncio.Event()
        self.go = asyncio.Event()

    async def show_post(self, incident: IncidentView, post: PostView) -> None:
        self.showing.append(post.id)
        self.most_at_once[post.id] = max(
            self.most_at_once.get(post.id, 0), self.showing.count(post.id)
        )
        self.arrived.set()
        await self.go.wait()
        self.shown.append((post.id, post.state))
        self.showing.remove(post.id)

    async def show_incident(self, incident: IncidentView) -> None:
        self.incidents_shown.append(incident.id)

    async def remind(self, incident: IncidentView, reminder: Reminder) -> None:
        return None

    async def show_calendar(self, entry: object, *, where: str | None) -> None:
        return None


def core_with(store: Store, *chats: HeldChat) -> Core:
    presenters = {chat.platform: chat for chat in chats}
    return build_core(settings=Settings(), config=make_config(), store=store, presenters=presenters)


async def declared(core: Core, service: str = "VPN") -> int:
    draft = await core.declare(
        Actor("slack", ANALYST), DeclareRequest(service=service, summary="Cannot connect")
    )
    return draft.post.id


async def test_a_change_made_while_a_post_is_shown_is_shown_after_it(store: Store) -> None:
    chat = HeldChat()
    core = core_with(store, chat)
    post_id = await declared(core)
    first = asyncio.create_task(core.show_post(post_id))
    await chat.arrived.wait()  # the pending draft is on its way to chat
    approver = Actor("slack", APPROVER)
    await core.store.run(
        lambda s: approvals.reject(
            Acting(s, core.config, approver, core.clock.now()),
            post_id=post_id,
            reason="wrong service",
        )
    )
    second = asyncio.create_task(core.show_post(post_id))
    await asyncio.sleep(0.2)
    assert chat.showing == [post_id]  # the second waits for the first
    chat.go.set()
    await asyncio.gather(first, second)
    assert chat.shown == [(post_id, "pending"), (post_id, "rejected")]
    assert chat.most_at_once == {post_id: 1}
    assert not core.chat._showing  # nothing kept per post once shown


async def test_different_posts_are_shown_side_by_side(store: Store) -> None:
    chat = HeldChat()
    core = core_with(store, chat)
    posts = [await declared(core, "VPN"), await declared(core, "Email")]
    shows = [asyncio.create_task(core.show_post(p)) for p in posts]
    for _ in range(50):
        if len(chat.showing) == 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(chat.showing) == sorted(posts)
    chat.go.set()
    await asyncio.gather(*shows)


async def test_a_post_is_read_once_however_many_chats_show_it(
    store: Store, statements: list[str]
) -> None:
    one, two = HeldChat(), HeldChat()
    two.platform = "held too"
    core = core_with(store, one, two)
    one.go.set()
    two.go.set()
    post_id = await declared(core)
    statements.clear()
    await core.show_post(post_id)
    assert one.shown == two.shown == [(post_id, "pending")]
    assert sum("FROM rendition" in s for s in statements) == 1
