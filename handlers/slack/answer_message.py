"""A public answer to a reply Crier heard, in Slack: one message in the incident's thread (for a
mention of no incident, in the comms channel), posted when the answer is drafted and updated as
it is edited, decided and sent.

What the public wrote and the answer's words go in plain_text objects (a ``<!channel>`` in
either stays those characters); only Crier's own words and the people who decided (their
mention) are mrkdwn. The words are ``bot.chat.answering``'s.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.chat.answering import (
    answer_head,
    decision,
    delivery_line,
    length_line,
    open_label,
    other_state,
    sent_link,
    their_label,
    waiting_line,
)
from bot.chat.heard_lines import item_line, open_link
from bot.listening.answers import AnswerView
from bot.storage.models import PostState
from handlers.slack.ids import Action
from handlers.slack.messages import Message, note, render
from handlers.slack.text import escape, mention, plain

HEADER_MAX = 150  # Slack's limit on a header's text
REPLY_LIMIT = 1500  # of the reply answered: its link leads to all of it
BLOCK = re.compile(r"answer_\d+_r(\d+)")


def review_block(answer: AnswerView) -> str:
    """The block id of the answer's buttons: it names the revision the approver was shown, so an
    approval of words edited since is refused (``shown_revision``)."""
    return f"answer_{answer.id}_r{answer.revision}"


def shown_revision(block_id: str) -> int | None:
    found = BLOCK.fullmatch(block_id)
    return int(found.group(1)) if found else None


def _plain(text: str, *, limit: int = 3000) -> SectionBlock:
    """A paragraph of someone's words, as written (Slack reads no markup in plain_text)."""
    return SectionBlock(text=PlainTextObject(text=plain(text.strip() or "(no text)", limit=limit)))


def _small(text: str) -> ContextBlock:
    return ContextBlock(elements=[PlainTextObject(text=plain(text, limit=2000), emoji=False)])


def _link(url: str, label: str) -> str:
    """A mrkdwn link whose address cannot end it early: ``|`` would start the label."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def answered_blocks(answer: AnswerView, zone: ZoneInfo) -> list[Block]:
    """The reply answered: who wrote it, where and when (with its link), and its words."""
    heard = answer.heard
    meta: list[PlainTextObject | MarkdownTextObject] = [
        PlainTextObject(text=plain(item_line(heard, zone), limit=1000), emoji=False)
    ]
    url = open_link(heard)
    if url:
        meta.append(MarkdownTextObject(text=_link(url, their_label(heard))))
    return [ContextBlock(elements=meta), _plain(heard.text, limit=REPLY_LIMIT)]


def _decided_blocks(answer: AnswerView) -> list[Block]:
    """While it waits, its buttons; after, who decided and what became of it."""
    if answer.state == PostState.PENDING:
        value = str(answer.id)
        buttons = [
            ButtonElement(
                text="Approve", action_id=Action.ANSWER_APPROVE, value=value, style="primary"
            ),
            ButtonElement(text="Edit", action_id=Action.ANSWER_EDIT, value=value),
            ButtonElement(
                text="Reject", action_id=Action.ANSWER_REJECT, value=value, style="danger"
            ),
        ]
        return [
            note(escape(waiting_line(answer))),
            ActionsBlock(block_id=review_block(answer), elements=buttons),
        ]
    decided = decision(answer)
    if decided is None:
        return [note(escape(other_state(answer)))]
    icon, said = decided
    line = f"{icon} {said} {mention(answer.decided_by)}"
    if answer.state == PostState.REJECTED:
        reason = answer.reject_reason or "no reason given"
        return [note(plain(f"{line}: {escape(reason)}", limit=2000))]
    outcome = escape(delivery_line(answer))
    url = sent_link(answer)
    if url:
        outcome += f" · {_link(url, open_label(answer))}"
    return [note(line), SectionBlock(text=MarkdownTextObject(text=plain(outcome)))]


def answer_message(answer: AnswerView, *, zone: ZoneInfo) -> Message:
    """The answer in its incident's thread (or the comms channel): what it answers, its words
    with their length against the network's rule, and its approval (or its outcome)."""
    head = answer_head(answer)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=plain(head, limit=HEADER_MAX))),
        *answered_blocks(answer, zone),
        note(f"Crier's answer, drafted by {mention(answer.requested_by)}:"),
        _plain(answer.text),
        _small(length_line(answer)),
        *_decided_blocks(answer),
    ]
    # The notification's text names nobody the public named: it is read as markup.
    text = f"↩️ Answer #{answer.id} on {escape(answer.network.value)}: {answer.state}"
    return render(blocks, text)
