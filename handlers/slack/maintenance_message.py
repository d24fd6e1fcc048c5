"""A planned maintenance in Slack: the series for the approvers (*Approve all* / *Reject*), an
extension or a cancellation (*Approve* / *Reject*), and the question once its window has ended
(*Complete* / *Extend by…*). Each is drawn again without those buttons, saying who decided, once
someone has answered. The series' message keeps *Edit* / *Cancel maintenance* while the
maintenance waits for approval or for its window.

The posts' texts are people's words and go out as they read here: shown as plain text, so nothing
in them pings or links in Slack.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from bot.config import Network
from bot.drafting.post_times import MARK, format_duration, format_time, shown
from bot.maintenance.drafting import KIND_LABELS
from bot.maintenance.series import MaintenanceShown, MaintenanceView, SeriesPost, ShowReason
from bot.maintenance.window import describe_window
from bot.storage.models import MaintenanceState
from bot.views import NETWORK_LABELS
from handlers.slack.calendar_message import who
from handlers.slack.ids import Action
from handlers.slack.messages import Message, note, render, section
from handlers.slack.text import escape, plain

EXTEND_BY = (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2))
TIMES_LEGEND = f"{MARK} marks the time Crier sets when the post goes out."
HEADER_MAX = 150  # Slack's limit on a header's text


def extend_action(by: timedelta) -> str:
    """The action id of *Extend by …*: ``maintenance_extend_60`` (its minutes)."""
    return f"{Action.MAINTENANCE_EXTEND}_{int(by.total_seconds() // 60)}"


def review_block(maintenance: MaintenanceView) -> str:
    """The block id of a series' buttons: it names the revision the approver was shown, so a
    click on a series edited since approves nothing (``shown_revision``)."""
    return f"maintenance_{maintenance.id}_r{maintenance.revision}"


def shown_revision(block_id: str) -> int | None:
    found = re.fullmatch(r"maintenance_\d+_r(\d+)", block_id)
    return int(found.group(1)) if found else None


def day_and_time(at: datetime, zone: ZoneInfo) -> str:
    """ "Tue 20 Jan, 10:00 PM EST": a post may go out days from now."""
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {format_time(at, zone)}"


def maintenance_message(
    shown: MaintenanceShown, *, zone: ZoneInfo, approvers: str = "", outcome: str | None = None
) -> Message:
    """What Slack shows for ``shown.reason``; ``approvers``: the mentions that ask for a decision;
    ``outcome``: the answer given (then no buttons, and nobody is asked again)."""
    maintenance = shown.maintenance
    if shown.reason == ShowReason.REVIEW:
        return _review(maintenance, zone=zone, approvers=approvers, outcome=outcome)
    if shown.reason == ShowReason.CHANGE and shown.change is not None:
        return _change(maintenance, shown.change, zone=zone, approvers=approvers, outcome=outcome)
    if shown.reason == ShowReason.OVERDUE:
        return _overdue(maintenance, zone=zone, outcome=outcome)
    said = outcome or f"This maintenance is {maintenance.state.replace('_', ' ')}."
    return render([*_head(maintenance, zone), note(said)], _summary(maintenance))


def _head(maintenance: MaintenanceView, zone: ZoneInfo) -> list[Block]:
    title = f"🛠 Planned maintenance: {', '.join(maintenance.services)} — {maintenance.title}"
    channels = ", ".join(_label(c) for c in maintenance.channels)
    return [
        HeaderBlock(text=PlainTextObject(text=plain(title, limit=HEADER_MAX), emoji=True)),
        section(
            f"*Window:* {escape(describe_window(maintenance.window, zone))}\n"
            f"*Channels:* {escape(channels)}"
        ),
    ]


def _summary(maintenance: MaintenanceView) -> str:
    """The message's text, for notifications (escaped: it quotes the planner's words)."""
    services = ", ".join(maintenance.services)
    return escape(f"Planned maintenance #{maintenance.id}: {services} — {maintenance.title}")


def _review(
    maintenance: MaintenanceView, *, zone: ZoneInfo, approvers: str, outcome: str | None
) -> Message:
    blocks = _head(maintenance, zone)
    if outcome is None and approvers:
        blocks.append(section(f"{approvers}: please approve or reject its posts."))
    for post in maintenance.posts:
        blocks += _post_blocks(maintenance, post, zone, when=_when(post, zone))
    blocks.append(note(f"Planned by {who(maintenance.created_by)} · {TIMES_LEGEND}"))
    if outcome is not None:
        blocks.append(section(outcome))
        blocks += _changes(maintenance)
    else:
        first = next((p.due_at for p in maintenance.posts if p.due_at is not None), None)
        start = f", the first at {day_and_time(first, zone)}" if first else ""
        sure = ConfirmObject(
            title="Approve every post?",
            text=f"Each post goes out at its time{start}. No one is asked again.",
            confirm="Approve all",
            deny="Not yet",
        )
        blocks.append(
            _buttons(
                review_block(maintenance),
                [
                    _button(Action.MAINTENANCE_APPROVE, "Approve all", maintenance.id, sure),
                    _button(Action.MAINTENANCE_REJECT, "Reject", maintenance.id),
                ],
            )
        )
        blocks += _changes(maintenance)
    return render(blocks, _summary(maintenance) + " waits for approval")


def _changes(maintenance: MaintenanceView) -> list[Block]:
    """*Edit* and *Cancel maintenance*, while it waits for approval or for its window (the core
    refuses them to whoever may not, and an edit once the window has begun)."""
    if maintenance.state not in (MaintenanceState.PENDING, MaintenanceState.SCHEDULED):
        return []
    sure = ConfirmObject(
        title="Cancel this maintenance?",
        text="If its announcement is out, a short cancellation is drafted for an approver; "
        "otherwise it is called off at once and none of its posts go out.",
        confirm="Cancel maintenance",
        deny="Keep it",
    )
    edit = ButtonElement(text="Edit", action_id=Action.MAINTENANCE_EDIT, value=str(maintenance.id))
    cancel = _button(Action.MAINTENANCE_CANCEL, "Cancel maintenance", maintenance.id, sure)
    return [
        _buttons(f"maintenance_{maintenance.id}_edit", [edit, cancel]),
        note("*Edit* drafts the series again, for approval again."),
    ]


def _change(
    maintenance: MaintenanceView,
    change: SeriesPost,
    *,
    zone: ZoneInfo,
    approvers: str,
    outcome: str | None,
) -> Message:
    kind = KIND_LABELS[change.kind]
    blocks = _head(maintenance, zone)
    if outcome is None and approvers:
        blocks.append(section(f"{approvers}: please approve or reject this {kind}."))
    blocks += _post_blocks(maintenance, change, zone, when="goes out when approved")
    blocks.append(note(f"Planned by {who(maintenance.created_by)} · {TIMES_LEGEND}"))
    if outcome is not None:
        blocks.append(section(outcome))
    else:
        blocks.append(
            _buttons(
                f"maintenance_change_{change.id}",
                [
                    _button(Action.CHANGE_APPROVE, "Approve", change.id),
                    _button(Action.CHANGE_REJECT, "Reject", change.id),
                ],
            )
        )
    return render(blocks, _summary(maintenance) + f": an {kind} waits for approval")


def _overdue(maintenance: MaintenanceView, *, zone: ZoneInfo, outcome: str | None) -> Message:
    ended = day_and_time(maintenance.window.ends_at, zone)
    blocks = _head(maintenance, zone)
    blocks.append(
        section(f"{who(maintenance.created_by)}, the window ended at {ended}: is the work done?")
    )
    if outcome is not None:
        blocks.append(section(outcome))
    else:
        complete = _button(Action.MAINTENANCE_COMPLETE, "Complete", maintenance.id)
        extends = [
            ButtonElement(
                text=f"Extend by {_duration(by)}",
                action_id=extend_action(by),
                value=str(maintenance.id),
            )
            for by in EXTEND_BY
        ]
        blocks.append(_buttons(f"maintenance_end_{maintenance.id}", [complete, *extends]))
        blocks.append(
            note(
                "*Complete* publishes the approved completion now; an extension is shown to the "
                "approvers first."
            )
        )
    return render(blocks, _summary(maintenance) + f": the window ended at {ended}")


def _post_blocks(
    maintenance: MaintenanceView, post: SeriesPost, zone: ZoneInfo, *, when: str
) -> list[Block]:
    """One post: what it is and when it goes out, then its text (once when every channel's is
    the same, else each with the channels it is for)."""
    at = post.due_at or maintenance.window.ends_at
    by_text: dict[str, list[str]] = {}
    for channel, text in post.texts.items():
        by_text.setdefault(text, []).append(_label(channel))
    blocks: list[Block] = [note(f"*{KIND_LABELS[post.kind].capitalize()}* · {escape(when)}")]
    for text, channels in by_text.items():
        if len(by_text) > 1:
            blocks.append(note(escape(", ".join(channels))))
        filled = shown(text, zone=zone, at=at, next_update_minutes=None)
        blocks.append(SectionBlock(text=PlainTextObject(text=plain(filled), emoji=False)))
    return blocks


def _when(post: SeriesPost, zone: ZoneInfo) -> str:
    if post.due_at is None:
        return "when you mark it complete"
    return day_and_time(post.due_at, zone)


def _label(channel: str) -> str:
    try:
        return NETWORK_LABELS[Network(channel)]
    except ValueError:
        return channel


def _duration(by: timedelta) -> str:
    return "30 min" if by == timedelta(minutes=30) else format_duration(by)


def _button(
    action: Action, text: str, value: int, confirm: ConfirmObject | None = None
) -> ButtonElement:
    approves = action in (
        Action.MAINTENANCE_APPROVE,
        Action.CHANGE_APPROVE,
        Action.MAINTENANCE_COMPLETE,
    )
    refuses = "reject" in action or action == Action.MAINTENANCE_CANCEL
    style = "primary" if approves else "danger" if refuses else None
    return ButtonElement(
        text=text, action_id=action, value=str(value), style=style, confirm=confirm
    )


def _buttons(block_id: str, elements: list[ButtonElement]) -> ActionsBlock:
    return ActionsBlock(block_id=block_id, elements=list(elements))
