"""Answering in public, in Slack: *Reply* on a reply Crier heard opens the form that drafts an
answer; the answer's message (``answer_message``) carries *Approve*, *Edit* (the form, filled
in, which saves a new revision) and *Reject* (a form asking why).

Who may, and whether the words may go out on the network, is the core's to say
(``core.answers``): a refusal of a click is told to the clicker alone, a refusal of a form shows
on its field. The answer's message is shown and updated by the core's work queue after each
change, in every chat, so these listeners only call and acknowledge.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import Block, ContextBlock, PlainTextObject, SectionBlock

from bot.chat.answering import (
    FORM_HINT,
    REASON_LABEL,
    form_label,
    form_title,
    not_waiting,
    to_whom,
)
from bot.config import CrierConfig
from bot.core import Core
from bot.errors import Conflict
from bot.listening.answers import TEXT_MAX, AnswerView
from bot.listening.views import HeardView
from bot.ports import Actor
from bot.storage.models import PostState
from handlers.slack.answer_message import shown_revision
from handlers.slack.common import Click, does_once, opens_form, submits
from handlers.slack.ids import ANSWER_TEXT, Action, Field, View
from handlers.slack.modals import SLACK_INPUT_MAX, Submission, modal, text_input
from handlers.slack.text import plain

REASON_MAX = 500


def answer_modal(
    config: CrierConfig,
    heard: HeardView,
    *,
    channel_id: str,
    editing: AnswerView | None = None,
) -> dict[str, Any]:
    """The form that answers ``heard``: the reply as written, then the answer's words, labelled
    with the network's rule; ``editing``: a waiting answer, its words filled in."""
    said = heard.text.strip() or "(no text)"
    blocks: list[Block] = [
        ContextBlock(elements=[PlainTextObject(text=plain(to_whom(heard), limit=2000))]),
        SectionBlock(text=PlainTextObject(text=plain(said, limit=2000), emoji=False)),
        text_input(
            ANSWER_TEXT,
            form_label(config, heard.network),
            multiline=True,
            optional=False,
            max_length=min(TEXT_MAX, SLACK_INPUT_MAX),
            initial=editing.text if editing else None,
            hint=FORM_HINT,
        ),
    ]
    if editing is None:
        metadata = {"heard_id": heard.id, "channel_id": channel_id}
        return modal(View.ANSWER, form_title(heard), "Save answer", blocks, metadata)
    metadata = {"answer_id": editing.id, "channel_id": channel_id}
    return modal(View.ANSWER_EDIT, "Edit the answer", "Save revision", blocks, metadata)


def reject_modal(answer: AnswerView, *, channel_id: str) -> dict[str, Any]:
    blocks: list[Block] = [
        text_input(Field.REASON, REASON_LABEL, multiline=True, max_length=REASON_MAX)
    ]
    metadata = {"answer_id": answer.id, "channel_id": channel_id}
    return modal(View.ANSWER_REJECT, "Reject the answer", "Reject", blocks, metadata)


async def _reply_form(click: Click) -> dict[str, Any]:
    heard = await click.core.answers.heard(click.number)
    return answer_modal(click.core.config, heard, channel_id=click.channel)


async def _waiting(click: Click) -> AnswerView:
    answer = await click.core.answers.view(click.number)
    if answer.state != PostState.PENDING:
        raise Conflict(not_waiting(answer))
    return answer


async def _edit_form(click: Click) -> dict[str, Any]:
    answer = await _waiting(click)
    return answer_modal(click.core.config, answer.heard, channel_id=click.channel, editing=answer)


async def _reject_form(click: Click) -> dict[str, Any]:
    answer = await _waiting(click)
    await click.core.answers.ensure_may_reject(click.actor, answer.id)
    return reject_modal(answer, channel_id=click.channel)


async def _propose(core: Core, actor: Actor, form: Submission) -> None:
    await core.answers.propose(actor, form.metadata_int("heard_id"), form.text(ANSWER_TEXT))


async def _edit(core: Core, actor: Actor, form: Submission) -> None:
    await core.answers.edit(actor, form.metadata_int("answer_id"), form.text(ANSWER_TEXT))


async def _reject(core: Core, actor: Actor, form: Submission) -> None:
    reason = form.text(Field.REASON) or None
    await core.answers.reject(actor, form.metadata_int("answer_id"), reason)


async def _approve(click: Click) -> None:
    """*Approve*, of the revision the message showed (its block id): words edited since are
    refused by the core."""
    actions = click.body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    block_id = action.get("block_id") if isinstance(action, dict) else None
    seen = shown_revision(block_id) if isinstance(block_id, str) else None
    await click.core.answers.approve(click.actor, click.number, revision=seen)


def register_answers(app: AsyncApp) -> None:
    app.action(Action.HEARD_REPLY)(opens_form(_reply_form))
    app.view(View.ANSWER)(submits(_propose))
    app.action(Action.ANSWER_APPROVE)(does_once(_approve))
    app.action(Action.ANSWER_EDIT)(opens_form(_edit_form))
    app.view(View.ANSWER_EDIT)(submits(_edit))
    app.action(Action.ANSWER_REJECT)(opens_form(_reject_form))
    app.view(View.ANSWER_REJECT)(submits(_reject))
