"""Only approvers make things public, in Teams too (issue 13): the table of
tests/scenario/test_only_approvers_publish.py, clicked on Teams cards.

The drafter is a Teams approver who drafted (or proposed) the post: approving their own work is
refused; sending again or confirming what another approver approved is not. A refusal comes back
on the card only the clicker sees (the invoke response), is in the audit log and in Crier's log,
and nothing goes public.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, CrierConfig, Network
from bot.ports import Actor
from bot.publishing.credentials import NetworkCredentials
from bot.storage.models import AuditEvent, Delivery, DeliveryState, Post, PostState, ScheduledPost
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import make_config
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.networks.x import FakeX
from tests.teams.harness import (
    ANALYST,
    APPROVER,
    APPROVER_2,
    OUTSIDER,
    Person,
    TeamsHarness,
    find_action,
    start_teams,
    texts,
)

DRAFTER, STRANGER = APPROVER_2, OUTSIDER
TIP = "Tip: MFA codes refresh every 30 seconds."
ALLOWED, NOT_AN_APPROVER, OWN = "allowed", "Only approvers", "another approver"


def x_config(fake: FakeX) -> CrierConfig:
    """Teams approvers; X posting to the fake X (the other channels go to the outbox)."""
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels["x"] = {"enabled": True, "base_url": fake.base_url, "account": "northfieldit"}
    return make_config(
        approvals={"teams_users": [APPROVER[2], APPROVER_2[2]], "allow_self_approval": False},
        channels=channels,
    )


@dataclass
class World:
    teams: TeamsHarness
    x: FakeX
    clock: FakeClock

    @property
    def store(self) -> Store:
        return self.teams.crier.core.store

    async def tick(self, **delta: float) -> None:
        """Move the clock, run what came due and let the chat updates finish."""
        self.clock.advance(**delta)
        while await self.teams.crier.core.scheduler.run_once():
            pass
        await self.teams.settle()


@pytest.fixture
async def world(store: Store, connector: FakeBotConnector) -> AsyncIterator[World]:
    clock = FakeClock()
    async with FakeX() as x, aiohttp.ClientSession() as http:
        teams, runner = await start_teams(
            store=store,
            config=x_config(x),  # type: ignore[arg-type]
            connector=connector,
            http=http,
            clock=clock,
            credentials=NetworkCredentials(x_bearer_token=SecretStr("x-user-token")),
            background=False,  # what is due runs when the test says (tick): no races
        )
        try:
            yield World(teams=teams, x=x, clock=clock)  # type: ignore[arg-type]
            await teams.settle()
            teams.cards_are_valid()
        finally:
            await runner.cleanup()


# --- getting each button in front of the clicker ------------------------------------------


async def declared(world: World, *, by: Person = DRAFTER) -> str:
    """An incident declared by ``by``; the id of its first draft's message."""
    teams = world.teams
    before = len(teams.connector.posts())
    assert await teams.say("outage Wi-Fi: eduroam drops connections", user=by) == 202
    await teams.connector.wait_for_posts(before + 2)
    await teams.settle()
    return teams.draft_ids()[-1]


async def in_doubt(world: World) -> str:
    """The drafter's post, approved; X took it and the answer was lost: *unknown*."""
    draft = await declared(world)
    world.x.drop_next()
    await world.teams.click(draft, "Approve & publish", user=APPROVER)
    await world.teams.settle()
    with world.store.transaction() as session:
        x = session.exec(select(Delivery).where(Delivery.channel == "x")).one()
    assert x.state == DeliveryState.UNKNOWN and world.x.tweets == {}
    return draft


async def proposed(world: World, *, by: Person = DRAFTER) -> str:
    """A calendar post proposed by ``by``; the id of the card the approvers are shown it on
    (in the conversation of the latest incident declared in Teams)."""
    teams = world.teams
    if not teams.draft_ids():
        await declared(world, by=ANALYST)  # a conversation where Crier may write
    before = len(teams.connector.posts())
    await teams.crier.core.content_calendar.add(
        Actor("teams", by[2], by[1]),
        text=TIP,
        channels=(Network.X,),
        due_at=world.clock.now() + timedelta(minutes=30),
    )
    await world.tick(seconds=0)  # the approvers are shown it
    posted = teams.connector.posts()
    assert len(posted) == before + 1
    card = posted[-1]
    assert "Scheduled post #" in texts(card.cards[0]) and "Approve" in texts(card.cards[0])
    return card.id


async def held_and_offered(world: World) -> str:
    """The drafter's tip, approved, held by an outage, offered again at its all-clear."""
    teams, connector = world.teams, world.teams.connector
    draft = await declared(world, by=ANALYST)
    await teams.click(await proposed(world), "Approve", user=APPROVER)
    await teams.click(draft, "Approve & publish", user=APPROVER)
    await teams.settle()
    await world.tick(minutes=30)
    assert any("Held a scheduled post" in texts(c.cards) for c in connector.posts())
    before = len(connector.posts())
    assert await teams.say("resolve", user=ANALYST) == 202
    resolve_form = (await connector.wait_for_posts(before + 1))[-1]
    await teams.click(resolve_form.id, "Draft all-clear", user=ANALYST)
    await teams.settle()
    await teams.click(teams.draft_ids()[-1], "Approve & publish", user=APPROVER)
    await teams.settle()
    await world.tick(seconds=1)
    return next(c.id for c in reversed(connector.posts()) if "were held" in texts(c.cards))


# --- each action: the click, and whether something went public -------------------------------


@dataclass(frozen=True)
class Case:
    audit_action: str  # the refusal is audited as "<audit_action>_refused"
    show: Callable[[World], Awaitable[str]]  # the message whose card has the button
    title: str  # the button
    public: Callable[[World], bool]  # did it take effect?


def draft_approved(world: World) -> bool:
    with world.store.transaction() as session:
        post = session.exec(select(Post)).one()
        deliveries = session.exec(select(Delivery)).all()
    return post.state == PostState.APPROVED and len(deliveries) > 0


def x_delivery_sent(world: World) -> bool:
    with world.store.transaction() as session:
        x = session.exec(select(Delivery).where(Delivery.channel == "x")).one()
    return x.state == DeliveryState.SENT


def posted_to_x_again(world: World) -> bool:
    return len(world.x.tweets) == 1 and x_delivery_sent(world)


def tip_published(world: World) -> bool:
    return TIP in [t["text"] for t in world.x.tweets.values()]


def tip_scheduled(world: World) -> bool:
    with world.store.transaction() as session:
        tip = session.exec(select(ScheduledPost)).one()
    return tip.state == "scheduled" and tip.decided_by is not None


CASES = {
    "approve a draft": Case("approve", declared, "Approve & publish", draft_approved),
    "retry a delivery": Case("retry", in_doubt, "Retry X", posted_to_x_again),
    "confirm a delivery": Case("confirm", in_doubt, "It's up on X", x_delivery_sent),
    "post a held calendar post now": Case(
        "calendar_resume", held_and_offered, "Post #1 now", tip_published
    ),
    "approve a calendar post": Case("calendar_approve", proposed, "Approve", tip_scheduled),
}
EXPECTED = {  # action → (drafter, approver, stranger)
    "approve a draft": (OWN, ALLOWED, NOT_AN_APPROVER),
    "retry a delivery": (ALLOWED, ALLOWED, NOT_AN_APPROVER),
    "confirm a delivery": (ALLOWED, ALLOWED, NOT_AN_APPROVER),
    "post a held calendar post now": (ALLOWED, ALLOWED, NOT_AN_APPROVER),
    "approve a calendar post": (OWN, ALLOWED, NOT_AN_APPROVER),
}
ROLES = {"drafter": DRAFTER, "approver": APPROVER, "stranger": STRANGER}
TABLE = [
    pytest.param(action, role, outcome, id=f"{action}-{role}")
    for action, outcomes in EXPECTED.items()
    for role, outcome in zip(ROLES, outcomes, strict=True)
]


def answer_text(answer: dict) -> str:
    """What the invoke response shows the clicker: a card, or a message."""
    value = answer["value"]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize(("action", "role", "outcome"), TABLE)
async def test_only_approvers_make_things_public(
    world: World, caplog: pytest.LogCaptureFixture, action: str, role: str, outcome: str
) -> None:
    case, person, teams = CASES[action], ROLES[role], world.teams
    message_id = await case.show(world)
    assert not case.public(world)
    caplog.set_level(logging.INFO)
    caplog.clear()
    posted_before = len(teams.connector.posts())

    answer = await teams.invoke(message_id, case.title, user=person)
    await teams.settle()
    await world.tick(seconds=1)  # anything it scheduled runs now

    with world.store.transaction() as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.action == f"{case.audit_action}_refused")
        ).all()
    shown = answer_text(answer)
    if outcome == ALLOWED:
        assert case.public(world), f"{role}'s click did not take effect"
        assert refused == [] and NOT_AN_APPROVER not in shown and OWN not in shown
        return
    assert not case.public(world), f"{role}'s click went public"
    assert outcome in shown  # on the card only the clicker sees
    new_posts = teams.connector.posts()[posted_before:]
    assert not [c for c in new_posts if outcome in json.dumps(c.activity)]  # nobody else told
    key = f"teams:{person[2]}"
    assert [(e.actor, e.detail["reason"]) for e in refused] == [
        (key, "own draft" if outcome == OWN else "not an approver")
    ]
    assert any(
        r.levelno == logging.WARNING and f"refused {case.audit_action} by {key}" in r.message
        for r in caplog.records
    )
    find_action(teams.connector.card(message_id), case.title)  # still there for an approver
