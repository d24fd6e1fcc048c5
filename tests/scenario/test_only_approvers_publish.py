"""Only approvers make things public, whoever clicks where (issue 13).

Every button with a public effect, clicked in Slack by the post's drafter, by an approver and by
a stranger. The drafter is an approver who drafted (or proposed) the post: approving their own
work is refused (``allow_self_approval`` is off); sending again or confirming what someone else
approved is not. A drafter who is no approver is a stranger to all of these.

A refusal reaches only the person who clicked (an ephemeral message), is in the audit log and
in Crier's log, and nothing goes public. The core decides (``bot.incidents.approvers.Gate``); the
Teams twin of this table is tests/teams/test_only_approvers_publish.py.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import select

from bot.config import STARTER_CONFIG, CrierConfig
from bot.publishing.credentials import NetworkCredentials
from bot.storage.models import AuditEvent, Delivery, DeliveryState, Post, PostState, ScheduledPost
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS, OUTSIDER, make_config
from tests.fakes.networks.x import FakeX
from tests.fakes.slack_requests import text_input
from tests.scenario.conftest import tick
from tests.scenario.harness import JsonDict, SlackHarness, as_text, start_harness

DRAFTER, STRANGER = APPROVER_2, OUTSIDER
TIP = "Tip: MFA codes refresh every 30 seconds."
ALLOWED, NOT_AN_APPROVER, OWN = "allowed", "Only approvers", "another approver"


def x_config(fake: FakeX) -> CrierConfig:
    """The test config with X posting to the fake X (the other channels go to the outbox)."""
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels["x"] = {"enabled": True, "base_url": fake.base_url, "account": "northfieldit"}
    return make_config(channels=channels)


@dataclass
class World:
    slack: SlackHarness
    x: FakeX
    clock: FakeClock

    @property
    def store(self) -> Store:
        return self.slack.crier.core.store


@pytest.fixture
async def world(store: Store, workspace: SlackWorkspace) -> AsyncIterator[World]:
    clock = FakeClock()
    async with FakeX() as x, aiohttp.ClientSession() as http:
        slack, runner = await start_harness(
            store=store,
            config=x_config(x),  # type: ignore[arg-type]
            workspace=workspace,
            http=http,
            clock=clock,
            credentials=NetworkCredentials(x_bearer_token=SecretStr("x-user-token")),
            background=False,  # what is due runs when the test says (tick): no races
        )
        try:
            yield World(slack=slack, x=x, clock=clock)  # type: ignore[arg-type]
            slack.sent_blocks_are_valid()
        finally:
            await runner.cleanup()


def button(message: JsonDict, prefix: str) -> str:
    """The action id of the button whose id starts with ``prefix`` (``delivery_retry_`` …)."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if str(element.get("action_id", "")).startswith(prefix):
                return str(element["action_id"])
    raise AssertionError(f"no {prefix}… button in {as_text(message)[:400]}")


def now_shown(slack: SlackHarness, message: JsonDict) -> JsonDict:
    """The message as the channel shows it now (with its updates)."""
    thread = message.get("thread_ts")
    shown = slack.workspace.thread(COMMS, thread) if thread else slack.workspace.messages(COMMS)
    return next(m for m in shown if m["ts"] == message["ts"])


# --- getting each button in front of the clicker ------------------------------------------


async def declared(world: World, *, by: str = DRAFTER) -> JsonDict:
    """An incident declared by ``by``; its first draft's message."""
    slack = world.slack
    before = len(slack.workspace.calls_to("chat.postMessage"))
    await slack.command("Wi-Fi: eduroam drops connections", user=by)
    await slack.workspace.wait_for("chat.postMessage", count=before + 2)
    await slack.settle()
    return slack.thread()[0]


async def in_doubt(world: World) -> JsonDict:
    """The drafter's post, approved; X took it and the answer was lost: *unknown*."""
    draft = await declared(world)
    world.x.drop_next()
    await world.slack.click(draft, "draft_approve", user=APPROVER)
    await world.slack.settle()
    with world.store.transaction() as session:
        x = session.exec(select(Delivery).where(Delivery.channel == "x")).one()
    assert x.state == DeliveryState.UNKNOWN and world.x.tweets == {}
    return world.slack.thread()[0]


async def proposed(world: World, *, by: str = DRAFTER, minutes: int = 30) -> JsonDict:
    """A calendar post proposed by ``by`` with `/outage calendar`; its message for approvers."""
    slack = world.slack
    before, opened = len(slack.calendar_posts()), len(slack.workspace.calls_to("views.open"))
    await slack.command("calendar add", user=by)
    view = await slack.open_modal(count=opened + 1)
    due = (world.clock.now() + timedelta(minutes=minutes)).astimezone(
        slack.crier.core.config.organisation.zone
    )
    values = {
        "calendar_text": text_input(TIP),
        "calendar_date": {"type": "datepicker", "selected_date": due.date().isoformat()},
        "calendar_time": {"type": "timepicker", "selected_time": due.strftime("%H:%M")},
        "channels": {"type": "checkboxes", "selected_options": [{"value": "x"}]},
    }
    status, answer = await slack.submit(view, values, user=by)
    assert status == 200 and answer == {}
    await slack.settle()
    await tick(slack, world.clock, seconds=0)  # the approvers are shown it
    posts = slack.calendar_posts()
    assert len(posts) == before + 1
    return posts[-1]


async def held_and_offered(world: World) -> JsonDict:
    """The drafter's tip, approved, held by an outage, offered again at its all-clear."""
    slack, clock = world.slack, world.clock
    await slack.click(await proposed(world), "calendar_approve", user=APPROVER)
    await slack.settle()
    draft = await declared(world, by=ANALYST)
    await slack.click(draft, "draft_approve", user=APPROVER)
    await slack.settle()
    await tick(slack, clock, minutes=30)
    assert any("Held a scheduled post" in as_text(m) for m in slack.thread())
    opened = len(slack.workspace.calls_to("views.open"))
    await slack.click(slack.root(), "incident_resolve", user=ANALYST)
    resolve = await slack.open_modal(count=opened + 1)
    await slack.submit(resolve, {}, user=ANALYST)
    await slack.settle()
    all_clear = next(m for m in reversed(slack.thread()) if "draft_approve" in as_text(m))
    await slack.click(all_clear, "draft_approve", user=APPROVER)
    await slack.settle()
    await tick(slack, clock, seconds=1)
    return next(m for m in reversed(slack.thread()) if "were held" in as_text(m))


# --- each action: the click, and whether something went public -------------------------------


@dataclass(frozen=True)
class Case:
    audit_action: str  # the refusal is audited as "<audit_action>_refused"
    show: Callable[[World], Awaitable[JsonDict]]  # the message with the button
    button: str  # its action id, or the prefix of one
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
    "approve a draft": Case("approve", declared, "draft_approve", draft_approved),
    "retry a delivery": Case("retry", in_doubt, "delivery_retry_", posted_to_x_again),
    "confirm a delivery": Case("confirm", in_doubt, "delivery_confirm_", x_delivery_sent),
    "post a held calendar post now": Case(
        "calendar_resume", held_and_offered, "calendar_post_now_", tip_published
    ),
    "approve a calendar post": Case(
        "calendar_approve", proposed, "calendar_approve", tip_scheduled
    ),
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


@pytest.mark.parametrize(("action", "role", "outcome"), TABLE)
async def test_only_approvers_make_things_public(
    world: World, caplog: pytest.LogCaptureFixture, action: str, role: str, outcome: str
) -> None:
    case, user, slack = CASES[action], ROLES[role], world.slack
    message = await case.show(world)
    assert not case.public(world)
    caplog.set_level(logging.INFO)
    caplog.clear()
    told_before = len(slack.workspace.ephemerals(user))

    status, _ = await slack.click(message, button(message, case.button), user=user)
    assert status == 200
    await slack.settle()
    await tick(slack, world.clock, seconds=1)  # anything it scheduled runs now

    with world.store.transaction() as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.action == f"{case.audit_action}_refused")
        ).all()
    told = [str(m.get("text", "")) for m in slack.workspace.ephemerals(user)[told_before:]]
    if outcome == ALLOWED:
        assert case.public(world), f"{role}'s click did not take effect"
        assert refused == [] and not [t for t in told if NOT_AN_APPROVER in t or OWN in t]
        return
    assert not case.public(world), f"{role}'s click went public"
    assert len(told) == 1 and outcome in told[0]  # only they see it
    assert all(e["user"] == user for e in slack.workspace.ephemerals()[-1:])
    assert [(e.actor, e.detail["reason"]) for e in refused] == [
        (f"slack:{user}", "own draft" if outcome == OWN else "not an approver")
    ]
    assert any(
        r.levelno == logging.WARNING and f"refused {case.audit_action} by slack:{user}" in r.message
        for r in caplog.records
    )
    assert button(now_shown(slack, message), case.button)  # still there for an approver


async def test_a_stranger_cannot_schedule_by_proposing(world: World) -> None:
    """`/outage calendar` by anyone proposes: nothing goes out until an approver approves."""
    await proposed(world, by=STRANGER, minutes=10)
    await tick(world.slack, world.clock, minutes=30)
    await world.slack.settle()
    assert world.x.tweets == {}
    with world.store.transaction() as session:
        assert session.exec(select(ScheduledPost)).one().state == "pending"


async def test_an_approver_rejects_a_proposed_post_and_it_never_goes_out(world: World) -> None:
    slack = world.slack
    message = await proposed(world, by=ANALYST, minutes=10)
    await slack.click(message, "calendar_reject", user=STRANGER)
    await slack.settle()
    assert "Only approvers" in str(slack.workspace.ephemerals(STRANGER)[-1]["text"])
    await slack.click(message, "calendar_reject", user=APPROVER)
    await slack.settle()
    shown = now_shown(slack, message)
    assert f"Rejected by <@{APPROVER}>" in as_text(shown) and "calendar_approve" not in as_text(
        shown
    )
    await slack.click(message, "calendar_approve", user=APPROVER_2)  # a stale button
    await slack.settle()
    assert "already rejected" in str(slack.workspace.ephemerals(APPROVER_2)[-1]["text"])
    await tick(slack, world.clock, minutes=30)
    assert world.x.tweets == {}
