"""A public answer to a reply Crier heard, in Teams: its card in the incident's conversation, or
where notices go for a mention of no incident (posted when the answer is drafted, replaced as it
is edited, decided and sent), and the forms that draft, edit and reject it, each answered to the
clicker alone.

What the public wrote, the answer's words and people's names go in ``TextRun``s (never markdown,
never a mention); Crier's own words may go in ``TextBlock``s. The words are
``bot.chat.answering``'s.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.chat.answering import (
    FORM_HINT,
    REASON_LABEL,
    answer_head,
    decision,
    delivery_line,
    form_label,
    form_title,
    length_line,
    open_label,
    other_state,
    sent_link,
    their_label,
    to_whom,
    waiting_line,
)
from bot.config import CrierConfig
from bot.listening.answers import TEXT_MAX, AnswerView
from bot.listening.views import HeardView
from bot.storage.models import PostState
from handlers.teams.anchors import People
from handlers.teams.elements import (
    Element,
    banner,
    card,
    execute,
    heading,
    line,
    note,
    open_url,
    plain,
    run,
    with_banner,
)
from handlers.teams.forms import REASON_MAX, Form
from handlers.teams.heard_card import REPLY_LIMIT, fit, item_rows
from handlers.teams.ids import ANSWER_TEXT, Data, Field, Verb

# Bytes (as JSON) of the reply answered and of the answer on one card: Teams refuses a message
# past ~28 KB, and text that is not ASCII takes several bytes a character.
REPLY_BUDGET = 6_000
ANSWER_BUDGET = 14_000


def _summary(answer: AnswerView) -> str:
    """What clients without cards show: no name the public wrote."""
    return f"Answer #{answer.id} on {answer.network.value}: {answer.state}"


def _decided(answer: AnswerView, people: People) -> tuple[list[Element], list[Element]]:
    """Below the answer: its buttons while it waits; after, who decided and what came of it."""
    if answer.state == PostState.PENDING:
        asked = {Data.ANSWER_ID: answer.id}
        actions = [
            execute("Approve", Verb.ANSWER_APPROVE, {**asked, Data.REVISION: answer.revision}),
            execute("Edit", Verb.ANSWER_EDIT_FORM, asked),
            execute("Reject", Verb.ANSWER_REJECT_FORM, asked, style="destructive"),
        ]
        return [note(waiting_line(answer), subtle=True)], actions
    decided = decision(answer)
    if decided is None:
        return [note(other_state(answer))], []
    icon, said = decided
    who = line(run(f"{icon} {said} "), run(people.name(answer.decided_by), bold=True))
    if answer.state == PostState.REJECTED:
        return [who, plain(answer.reject_reason or "No reason given.")], []
    body = [who, plain(delivery_line(answer))]
    url = sent_link(answer)
    return body, [open_url(open_label(answer), url)] if url else []


def answer_card(
    answer: AnswerView, *, zone: ZoneInfo, people: People, message: str | None = None
) -> Element:
    """The answer in its incident's conversation: what it answers, its words with their length
    against the network's rule, and its approval (or its outcome); ``message``: a refusal, for
    the clicker, above it."""
    drafted = line(
        run("Crier's answer, drafted by "), run(people.name(answer.requested_by), bold=True)
    )
    body: list[Element] = [
        line(run(answer_head(answer), bold=True, size="Medium")),
        *item_rows(answer.heard, zone=zone, budget=REPLY_BUDGET, link=their_label(answer.heard)),
        drafted,
        plain(fit(answer.text, limit=TEXT_MAX, budget=ANSWER_BUDGET), limit=TEXT_MAX),
        plain(length_line(answer), size="Small"),
    ]
    below, actions = _decided(answer, people)
    return card(with_banner(body + below, message), actions=actions, summary=_summary(answer))


def heard_alone_card(heard: HeardView, *, zone: ZoneInfo, message: str | None = None) -> Element:
    """One reply with *Reply*, for the clicker: where its form was (cancelled, or saved with
    ``message`` saying so)."""
    body = item_rows(heard, zone=zone, budget=REPLY_BUDGET, reply=True)
    if message:
        body = [banner(message, color="Good"), *body]
    return card(body, summary=f"A reply on {heard.network_label}")


def answer_form(
    config: CrierConfig,
    heard: HeardView,
    *,
    again: Form | None = None,
    editing: AnswerView | None = None,
) -> Element:
    """The form that answers ``heard``: the reply as written, then the answer's words, labelled
    with the network's rule; ``editing``: a waiting answer, its words filled in."""
    form = again or Form()
    form.body += [
        heading("Edit the answer" if editing else form_title(heard)),
        plain(to_whom(heard), size="Small"),
        plain(heard.text.strip() or "(no text)", limit=REPLY_LIMIT),
    ]
    label = form_label(config, heard.network)
    default = editing.text if editing else ""
    form.paragraph(ANSWER_TEXT, label, default=default, max_length=TEXT_MAX, required=True)
    form.hint(FORM_HINT)
    if editing is None:
        asked = {Data.HEARD_ID: heard.id}
        actions = [
            execute("Save answer", Verb.ANSWER_PROPOSE, asked, style="positive"),
            execute("Cancel", Verb.HEARD_SHOW, asked),
        ]
    else:
        shown = {Data.ANSWER_ID: editing.id}
        actions = [
            execute("Save revision", Verb.ANSWER_EDIT, shown, style="positive"),
            execute("Cancel", Verb.ANSWER_SHOW, shown),
        ]
    return card(form.body, actions=actions, summary=form_title(heard))


def reject_form(answer: AnswerView, *, again: Form | None = None) -> Element:
    form = again or Form()
    form.body.append(heading("Reject the answer"))
    form.paragraph(Field.REASON, REASON_LABEL, max_length=REASON_MAX)
    shown = {Data.ANSWER_ID: answer.id}
    actions = [
        execute("Reject", Verb.ANSWER_REJECT, shown, style="destructive"),
        execute("Cancel", Verb.ANSWER_SHOW, shown),
    ]
    return card(form.body, actions=actions, summary="Reject the answer")
