"""What every Slack listener shares: who acted, where, and how answers reach them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.errors import OOPS, CrierError, InvalidInput
from bot.ports import Actor
from bot.scheduling.work import ReplyTo
from bot.storage.store import is_unreachable
from handlers.slack import deliveries, modals
from handlers.slack.ids import TEXT_BLOCK_PREFIX
from handlers.slack.modals import INT_MAX
from handlers.slack.presenter import PLATFORM, SlackPresenter
from handlers.slack.text import escape

log = logging.getLogger(__name__)
Listener = Callable[..., Awaitable[Any]]  # bolt hands it the arguments it names
Tell = Callable[[str], Awaitable[Any]]  # says something to the person who acted
DATABASE_DOWN = (
    "Crier could not reach its database, so nothing was saved or published. "
    "Please try again in a minute."
)


def provide(core: Core, presenter: SlackPresenter) -> Any:
    """Middleware: the core and the presenter in every listener's context, from where bolt
    hands them to the listeners that name them (``core``, ``presenter``), as it hands ``ack``."""

    async def middleware(context: AsyncBoltContext, next: Any) -> Any:
        context["core"], context["presenter"] = core, presenter
        return await next()

    return middleware


def actor_of(user: dict[str, Any]) -> Actor:
    return Actor(
        platform=PLATFORM,
        user_id=str(user.get("id", "")),
        name=user.get("username") or user.get("name"),
    )


def where(body: dict[str, Any]) -> tuple[str, str | None]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    return str(channel), container.get("thread_ts") or container.get("message_ts")


@asynccontextmanager
async def failures_told_to(tell: Tell) -> AsyncIterator[None]:
    """For the work after an ack: whatever fails reaches the person, not only the log."""
    try:
        yield
    except CrierError as exc:
        log.info("refused: %s", exc.message)
        await tell(escape(exc.message))  # it may quote what the person typed
    except Exception as exc:
        await tell(unexpected_failure(exc, "listener failed"))


def reply_to(body: dict[str, Any]) -> ReplyTo:
    channel, thread = where(body)
    user = body.get("user") or {}
    return ReplyTo(
        platform=PLATFORM,
        channel=channel,
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


def field_errors(error: InvalidInput, *, block_ids: list[str]) -> dict[str, str]:
    """Map the core's field names onto the modal's block ids (``x`` → ``text_x`` on edits).

    Slack refuses errors for blocks that are not in the view, so anything unmatched lands on
    the first input.
    """
    errors: dict[str, str] = {}
    for name, message in (error.fields or {"": error.message}).items():
        block_id = next((b for b in (name, f"{TEXT_BLOCK_PREFIX}{name}") if b in block_ids), None)
        target = block_id or (block_ids[0] if block_ids else name)
        errors[target] = (errors.get(target, "") + " " + message).strip()[:150]
    return errors


async def refuse(ack: AsyncAck, view: dict[str, Any], exc: Exception, what: str) -> None:
    """The core's refusal, or an unexpected failure (logged as ``what``), as errors on the
    form's own inputs; a form without inputs (Slack refuses an error for a block the view does
    not have) is replaced by the message instead."""
    if isinstance(exc, InvalidInput):
        error = exc
    else:
        said = exc.message if isinstance(exc, CrierError) else unexpected_failure(exc, what)
        error = InvalidInput(said)
    blocks = input_blocks(view)
    if blocks:
        await ack(response_action="errors", errors=field_errors(error, block_ids=blocks))
        return
    said = " ".join(error.fields.values()) if error.fields else error.message
    await ack(response_action="update", view=modals.notice_modal(said))


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
        """The value as the id it names; 0 names nothing, as a number the database cannot hold."""
        try:
            number = int(self.value)
        except ValueError:
            return 0
        return number if abs(number) <= INT_MAX else 0

    @property
    def channel(self) -> str:
        return where(self.body)[0]


def _on_click(act: Callable[[Click, Tell], Awaitable[None]]) -> Listener:
    """A button's listener: acked at once, then ``act`` given the click and a way to tell the
    person who clicked, who is also told whatever fails."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        core: Core,
        presenter: SlackPresenter,
    ) -> None:
        await ack()
        tell = partial(presenter.tell, reply_to(body))
        async with failures_told_to(tell):
            value = str(action.get("value", ""))
            await act(Click(core, actor_of(body["user"]), value, body, client), tell)

    return listener


def opens_form(form_for: Callable[[Click], Awaitable[dict[str, Any]]]) -> Listener:
    """A button that opens a modal: the view ``form_for`` builds, or the refusal it raises
    (an incident already closed, a draft already decided) told to the person who clicked."""

    async def open_form(click: Click, tell: Tell) -> None:
        view = await form_for(click)
        if await deliveries.first_time():
            trigger = str(click.body.get("trigger_id") or "")
            await click.client.views_open(trigger_id=trigger, view=view)

    return _on_click(open_form)


def does_once(work: Callable[[Click], Awaitable[str | None]]) -> Listener:
    """A button whose ``work`` is done once, however often Slack delivers the click; what
    ``work`` returns (if anything) is said to the person who clicked."""

    async def do_once(click: Click, tell: Tell) -> None:
        if await deliveries.first_time():
            said = await work(click)
            if said:
                await tell(said)

    return _on_click(do_once)


def submits(work: Callable[[Core, Actor, modals.Submission], Awaitable[Any]]) -> Listener:
    """A modal's submission: ``work`` done once, however often Slack delivers it; its refusals
    shown on the form's fields, else the form closes and what ``work`` returns, if a sentence,
    is said to the person in the channel the form was opened from."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        core: Core,
        presenter: SlackPresenter,
    ) -> None:
        actor, form = actor_of(body["user"]), await modals.Submission.read(view, client)
        try:  # a second delivery only closes the form
            said = await work(core, actor, form) if await deliveries.first_time() else None
        except Exception as exc:
            await refuse(ack, view, exc, "modal submission failed")
            return
        await ack()
        if isinstance(said, str):
            await presenter.tell(ReplyTo(PLATFORM, form.channel_id, actor.user_id), said)

    return listener
