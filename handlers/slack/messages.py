"""Block Kit for Crier's messages in the comms channel: the incident root and each draft.

Built with slack_sdk's block models, whose validators enforce Slack's limits on ``to_dict``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.drafting.post_times import LEGEND, has_placeholder, shown
from bot.incidents import labels
from bot.storage.models import DeliveryState, PostState
from bot.views import DeliveryView, IncidentView, PostView, Reminder
from handlers.slack.ids import Action
from handlers.slack.text import SECTION_LIMIT, escape, mention, plain, when

Message = dict[str, Any]
STYLES = {
    Action.APPROVE: "primary",
    Action.REJECT: "danger",
    Action.CALENDAR_APPROVE: "primary",
    Action.CALENDAR_REJECT: "danger",
}


def render(blocks: list[Block], text: str) -> Message:
    """A message: its blocks, and ``text`` for notifications and clients without blocks."""
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def note(text: str) -> ContextBlock:
    """A line of small print (markdown)."""
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def section(text: str) -> SectionBlock:
    """A paragraph (markdown)."""
    return SectionBlock(text=MarkdownTextObject(text=text))


def fields(*pairs: tuple[str, str]) -> SectionBlock:
    """Labelled values side by side (markdown: each label in bold)."""
    return SectionBlock(fields=[MarkdownTextObject(text=f"*{k}*\n{v}") for k, v in pairs])


def button_row(
    block_id: str, value: int, labels: dict[Action, str], confirm: ConfirmObject | None = None
) -> ActionsBlock:
    """A row of buttons on one thing (``value``, its id), each styled as ``STYLES`` says;
    ``confirm`` is asked before the first one acts."""
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(
                text=text,
                action_id=action,
                value=str(value),
                style=STYLES.get(action),
                confirm=confirm if i == 0 else None,
            )
            for i, (action, text) in enumerate(labels.items())
        ],
    )


def incident_root(incident: IncidentView, *, zone: ZoneInfo) -> Message:
    """The incident's message in the comms channel, with the buttons for its thread."""
    status = labels.status(incident.status)
    title = f"{labels.incident_mark(incident)} {incident.service}: {incident.summary}"
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=plain(title, limit=150), emoji=True)),
        fields(
            ("Severity", escape(incident.severity_label)),
            ("Status", status),
            ("Declared by", mention(incident.declared_by)),
            ("Channels", labels.channels(incident.channels)),
        ),
        note(
            f"Incident #{incident.id} · declared {when(incident.declared_at, zone)}"
            + (f" · resolved {when(incident.resolved_at, zone)}" if incident.resolved_at else "")
        ),
    ]
    if incident.is_open:
        choices = {Action.POST_UPDATE: "Post update", Action.RESOLVE: "Resolve"}
        blocks.append(button_row(f"incident_{incident.id}", incident.id, choices))
    return render(blocks, text=f"{status}: {escape(incident.service)}: {escape(incident.summary)}")


def _preview_blocks(post: PostView, *, zone: ZoneInfo, now: datetime) -> list[Block]:
    """Each channel's text: once sent, exactly what the network received; before, the draft
    as it would go out now, each time set at publishing marked
    (``bot.drafting.post_times.shown``)."""
    blocks: list[Block] = []
    sent = {d.network: d.text for d in post.deliveries if d.text is not None}
    for preview in post.previews:
        published = sent.get(preview.network)
        if published is not None:
            head = f"*{preview.label}* · published text"
            body = published
        else:
            verdict = f"⚠️ {escape(preview.problem)}" if preview.problem else preview.length
            edited = " · edited" if preview.edited else ""
            notes = "".join(f" · {escape(remark)}" for remark in preview.notes)
            head = f"*{preview.label}* · {verdict}{edited}{notes}"
            body = shown(
                preview.text, zone=zone, at=now, next_update_minutes=post.next_update_minutes
            )
        blocks.append(note(plain(head)))
        blocks += _text_sections(body)
    if post.state == PostState.PENDING and any(has_placeholder(p.text) for p in post.previews):
        blocks.append(note(escape(LEGEND)))
    return blocks


# A section holds 3,000 characters: a longer text takes several, up to this many, so the
# thread shows it whole (a message holds 50 blocks, for up to eight channels).
_SECTIONS_PER_TEXT = 3


def _text_sections(text: str) -> list[Block]:
    """``text`` as plain-text sections, whole when it fits in ``_SECTIONS_PER_TEXT`` of them."""
    pieces: list[str] = []
    rest = text
    while rest and len(pieces) < _SECTIONS_PER_TEXT:
        cut = len(rest) if len(rest) <= SECTION_LIMIT else rest.rfind("\n", 0, SECTION_LIMIT)
        cut = cut if cut > 0 else SECTION_LIMIT
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        pieces[-1] = plain(pieces[-1] + rest)  # says how much more there is
    return [SectionBlock(text=PlainTextObject(text=piece, emoji=False)) for piece in pieces]


def _delivery_line(delivery: DeliveryView, zone: ZoneInfo) -> str:
    line = f"*{delivery.label}* — {labels.delivery(delivery.state)}"
    if delivery.state == DeliveryState.SENT and delivery.url:
        line += f" · <{escape(delivery.url)}|view post>"
    if delivery.state == DeliveryState.RETRYING and delivery.next_attempt_at:
        line += f" at {when(delivery.next_attempt_at, zone)}"
    if delivery.error and delivery.state != DeliveryState.SENT:
        line += f" — {escape(plain(delivery.error, limit=300))}"
    if delivery.publisher_label and "dry run" in delivery.publisher_label:
        line += " _(dry run)_"
    return line


def _decision_blocks(post: PostView, zone: ZoneInfo) -> list[Block]:
    decided = when(post.decided_at, zone) if post.decided_at else ""
    if post.state == PostState.PENDING:
        # No confirm dialog here: Slack would show it to everyone, approver or not, before
        # Crier hears of the click. Crier asks who may publish (``modals.approve_modal``) and
        # refuses the others at once.
        row = {Action.APPROVE: "Approve & publish", Action.EDIT: "Edit", Action.REJECT: "Reject"}
        return [button_row(f"post_{post.id}", post.id, row)]
    if post.state == PostState.SUPERSEDED:
        return [note("✏️ Replaced by a newer revision below.")]
    if post.state == PostState.REJECTED:
        rejected: list[Block] = [
            section(
                f"🚫 Rejected by {mention(post.decided_by)} {decided}: "
                f"{escape(plain(post.reject_reason or '', limit=2000))}"
            )
        ]
        if post.revisable:  # gone once revised, redrafted or resolved
            rejected.append(button_row(f"post_{post.id}", post.id, {Action.REVISE: "Revise"}))
        return rejected
    blocks: list[Block] = [
        note(f"✅ Approved by {mention(post.decided_by)} {decided}"),
        section(
            plain("\n".join(_delivery_line(d, zone) for d in post.deliveries) or "Publishing…")
        ),
    ]
    # Without an idempotency key only a person can tell whether the post is up: *It's up*.
    buttons = [
        ButtonElement(text=f"{text} {d.label}", action_id=f"{action}_{d.id}", value=str(d.id))
        for action, text, states in (
            (Action.RETRY, "Retry", (DeliveryState.FAILED, DeliveryState.UNKNOWN)),
            (Action.CONFIRM, "It's up on", (DeliveryState.UNKNOWN,)),
        )
        for d in post.deliveries
        if d.state in states
    ]
    if buttons:
        blocks.append(ActionsBlock(block_id=f"retry_{post.id}", elements=buttons[:25]))
    return blocks


def draft_message(post: PostView, *, zone: ZoneInfo, now: datetime) -> Message:
    """A draft in the incident's thread: each channel's text, then its decision or outcome."""
    kind = labels.kind(post.kind)
    status = labels.status(post.status)
    head = (
        f"*{kind}* · status _{status}_ · revision {post.revision} · drafted by "
        f"{mention(post.requested_by)}"
    )
    blocks: list[Block] = [section(head)]
    blocks += _preview_blocks(post, zone=zone, now=now)
    if post.state == PostState.PENDING and not post.publishable:
        problems = escape("; ".join(post.problems))
        said = f"⚠️ *Cannot be published yet:* {problems}. Use *Edit* to shorten it."
        blocks.append(section(said))
    blocks.append(DividerBlock())
    blocks += _decision_blocks(post, zone)
    return render(blocks, text=f"{kind} for incident #{post.incident_id}: {post.state}")


def outcome_message(post: PostView) -> Message:
    """A thread reply once every channel has an outcome, so people are notified."""
    text = labels.outcome(post, retry_hint="See the draft above to retry.")
    return render([section(escape(text))], text=text)


REMINDER_BUTTON = {"post_update": Action.POST_UPDATE, "resolve": Action.RESOLVE}
# Buttons of which a reminder may carry several: their action ids get the button's index.
REMINDER_BUTTON_PREFIX = {
    "snooze": Action.SNOOZE,
    "calendar_post": Action.CALENDAR_POST,
    "calendar_skip": Action.CALENDAR_SKIP,
}


def reminder_message(reminder: Reminder, *, mentions: str) -> Message:
    """A reminder in the thread: who it is for, what is due, and its buttons."""
    text = f"{mentions} {escape(reminder.text)}".strip()
    blocks: list[Block] = [section(plain(f"⏰ {text}"))]
    if reminder.details:
        blocks.append(fields(*((escape(k), escape(v)) for k, v in reminder.details[:10])))
    buttons = [
        ButtonElement(
            text=action.label,
            action_id=REMINDER_BUTTON.get(action.kind)
            or f"{REMINDER_BUTTON_PREFIX[action.kind]}_{index}",
            value=action.value,
        )
        for index, action in enumerate(reminder.actions[:25])
    ]
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return render(blocks, text=text)
