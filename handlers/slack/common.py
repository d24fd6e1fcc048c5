"""What every Slack listener shares: who acted, where, and how answers reach them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.errors import CrierError, InvalidInput
from bot.ports import Actor
from bot.scheduling.work import ReplyTo
from bot.storage.store import is_unreachable
from handlers.slack import deliveries, forms, modals
from handlers.slack.modals import INT_MAX
from handlers.slack.presenter import PLATFORM, SlackPresenter
from handlers.slack.text import escape

log = logging.getLogger(__name__)
T = TypeVar("T")
Listener = Callable[..., Awaitable[Any]]  # bolt hands it the arguments it names
OOPS = (
    "Something went wrong on Crier's side and nothing was published. "
    "The details are in Crier's log; please try again."
)
DATABASE_DOWN = (
    "Crier could not reach its database, so nothing was saved or published. "
    "Please try again in a minute."
)


CORE, PRESENTER = "crier_core", "crier_presenter"


def provide(core: Core, presenter: SlackPresenter) -> Any:
    """Middleware: put the core and the presenter in every listener's context."""

    async def middleware(context: AsyncBoltContext, next: Any) -> Any:
        context[CORE], context[PRESENTER] = core, presenter
        return await next()

    return middleware


def core_of(context: AsyncBoltContext) -> Core:
    core = context[CORE]
    assert isinstance(core, Core)
    return core


def presenter_of(context: AsyncBoltContext) -> SlackPresenter:
    presenter = context[PRESENTER]
    assert isinstance(presenter, SlackPresenter)
    return presenter


def actor_of(user: dict[str, Any]) -> Actor:
    return Actor(
        platform=PLATFORM,
        user_id=str(user.get("id", "")),
        name=user.get("username") or user.get("name"),
    )


def to_int(value: Any) -> int | None:
    """A button's value as a number; None if it is not one the database could hold."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if abs(number) <= INT_MAX else None


def where(body: dict[str, Any]) -> tuple[str, str | None]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    return str(channel), container.get("thread_ts") or container.get("message_ts")


@asynccontextmanager
async def failures_told_to(tell: Callable[[str], Awaitable[None]]) -> AsyncIterator[None]:
    """For the work after an ack: whatever fails reaches the person, not only the log."""
    try:
        yield
    except CrierError as exc:
        log.info("refused: %s", exc.message)
        await tell(escape(exc.message))  # it may quote what the person typed
    except Exception as exc:
        await tell(unexpected_failure(exc, "listener failed"))


def reply_to(body: dict[str, Any], *, channel: str | None = None) -> ReplyTo:
    """Where to answer the person who sent this interaction (or command)."""
    found, thread = where(body)
    user = body.get("user") or {}
    return ReplyTo(
        platform=PLATFORM,
        channel=channel or found,
        user=str(user.get("id", "") if isinstance(user, dict) else ""),
        thread=thread,
    )


def unexpected_failure(exc: Exception, what: str) -> str:
    """Log an unexpected failure; what the person is told about it."""
    if is_unreachable(exc):
        log.error("%s: the database could not be reached: %s", what, getattr(exc, "orig", exc))
        return DATABASE_DOWN
    log.exception(what)
    return OOPS


def input_blocks(view: dict[str, Any]) -> list[str]:
    blocks = view.get("blocks")
    return [
        b["block_id"]
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("block_id"), str)
    ]


async def submit(ack: AsyncAck, view: dict[str, Any], work: Callable[[], Awaitable[T]]) -> T | None:
    """A modal submission: errors go back onto the form's fields, success closes it."""
    try:
        result = await deliveries.once(work)  # None: a second delivery, which closes the form
    except CrierError as exc:
        await refuse(ack, view, exc if isinstance(exc, InvalidInput) else InvalidInput(exc.message))
        return None
    except Exception as exc:
        await refuse(ack, view, InvalidInput(unexpected_failure(exc, "modal submission failed")))
        return None
    await ack()
    return result


async def refuse(ack: AsyncAck, view: dict[str, Any], error: InvalidInput) -> None:
    """Errors on the form's own inputs; a form without inputs (Slack refuses an error for a
    block the view does not have) is replaced by the message instead."""
    blocks = input_blocks(view)
    if blocks:
        await ack(response_action="errors", errors=forms.field_errors(error, block_ids=blocks))
        return
    said = " ".join(error.fields.values()) if error.fields else error.message
    await ack(response_action="update", view=modals.notice_modal(said))


def teller(
    presenter: SlackPresenter, body: dict[str, Any], *, channel: str | None = None
) -> Callable[[str], Awaitable[None]]:
    found, thread = where(body)
    channel = channel or found
    user = str((body.get("user") or {}).get("id", ""))

    async def tell(message: str) -> None:
        await presenter.tell(channel_id=channel, user_id=user, text=message, thread_ts=thread)

    return tell


async def open_modal(client: AsyncWebClient, trigger_id: Any, view: dict[str, Any]) -> None:
    await client.views_open(trigger_id=str(trigger_id or ""), view=view)


@dataclass(frozen=True)
class Click:
    """A button click: the core, who clicked, the button's value, and the request it came in."""

    core: Core
    actor: Actor
    value: str
    body: dict[str, Any]
    client: AsyncWebClient

    @property
    def number(self) -> int:
        """The value as the id it names; 0 names nothing."""
        return to_int(self.value) or 0

    @property
    def channel(self) -> str:
        return where(self.body)[0]


def _click(
    body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> Click:
    value = str(action.get("value", ""))
    return Click(core_of(context), actor_of(body["user"]), value, body, client)


def opens_form(form_for: Callable[[Click], Awaitable[dict[str, Any]]]) -> Listener:
    """A button that opens a modal: the view ``form_for`` builds, or the refusal it raises
    (an incident already closed, a draft already decided) told to the person who clicked."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        async with failures_told_to(teller(presenter_of(context), body)):
            view = await form_for(_click(body, action, client, context))
            if await deliveries.first_time():
                await open_modal(client, body.get("trigger_id"), view)

    return listener


def does_once(work: Callable[[Click], Awaitable[str | None]]) -> Listener:
    """A button whose ``work`` is done once, however often Slack delivers the click; what
    ``work`` returns (if anything) is said to the person who clicked."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        tell = teller(presenter_of(context), body)
        async with failures_told_to(tell):
            if await deliveries.first_time():
                said = await work(_click(body, action, client, context))
                if said:
                    await tell(said)

    return listener


def submits(work: Callable[[Core, Actor, modals.Submission], Awaitable[Any]]) -> Listener:
    """A modal's submission: ``work`` done once; its refusals shown on the form's fields."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        core, form = core_of(context), await modals.Submission.read(view, client)
        await submit(ack, view, lambda: work(core, actor_of(body["user"]), form))

    return listener
