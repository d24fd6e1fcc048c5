"""`/outage calendar` in Slack: the content calendar's next two weeks, for the person who asked
only — each post under its day with its state, its series and the buttons it has now: *Approve*
and *Skip* while it waits for approval, *Skip* once scheduled, *Post now* and *Skip* while an
incident holds it. Anyone sees the buttons; the core's gate refuses whoever is not an approver.

A click answers the person and replaces their list with a fresh one (by the click's response
URL: the list is theirs alone, so ``chat.update`` cannot reach it)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import Block, PlainTextObject, SectionBlock
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core import Core
from bot.drafting.post_times import format_time
from bot.scheduling import calendar
from bot.scheduling.calendar import CalendarEntry, CalendarState
from handlers.slack.calendar_message import due_day
from handlers.slack.common import Click, does_once
from handlers.slack.ids import Action
from handlers.slack.messages import Message, button_row, note, render, section
from handlers.slack.text import escape, plain

log = logging.getLogger(__name__)
AHEAD = timedelta(days=14)
MOST_BLOCKS = 50
STATES = {
    CalendarState.PENDING: "⏳ waiting for approval",
    CalendarState.SCHEDULED: "✅ scheduled",
    CalendarState.HELD: "⏸️ held",
}
BUTTONS = {
    CalendarState.PENDING: {Action.LIST_APPROVE: "Approve", Action.LIST_SKIP: "Skip"},
    CalendarState.SCHEDULED: {Action.LIST_SKIP: "Skip"},
    CalendarState.HELD: {Action.LIST_POST_NOW: "Post now", Action.LIST_SKIP: "Skip"},
}
HELD = "Held back (each says by what)"


async def two_weeks(core: Core) -> list[CalendarEntry]:
    """Posts waiting for approval, scheduled, or held, due within ``AHEAD`` (held ones were
    due already: all of them), in the order they go out."""
    now = core.clock.now()
    found = await core.store.read(lambda s: calendar.upcoming(s, now=now, limit=500))
    return [e for e in found if e.state == CalendarState.HELD or e.due_at <= now + AHEAD]


def _day(entry: CalendarEntry, zone: ZoneInfo) -> str:
    if entry.state == CalendarState.HELD:
        return HELD
    local = entry.due_at.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B}"


def _post_blocks(entry: CalendarEntry, zone: ZoneInfo) -> list[Block]:
    """One post: its time, state, series and channels, its text (plain text: never pings),
    and its buttons."""
    state = STATES.get(entry.state, entry.state)
    if entry.state == CalendarState.HELD:
        when, state = due_day(entry, zone), f"{state} by {entry.held_until}"
    else:
        when = format_time(entry.due_at, zone)
    parts = [when, state, *([f"series {entry.series}"] if entry.series else [])]
    head = " · ".join([*parts, entry.channel_labels])
    text = SectionBlock(text=PlainTextObject(text=plain(f"{head}\n{entry.text}"), emoji=False))
    return [text, button_row(f"calendar_list_{entry.id}", entry.id, BUTTONS[entry.state])]


def list_message(entries: list[CalendarEntry], *, zone: ZoneInfo, now: datetime) -> Message:
    """The two weeks from ``now``, grouped by day (held posts first), and *Propose a post*."""
    until = (now + AHEAD).astimezone(zone)
    said = f"The content calendar's next two weeks, until {until:%a} {until.day} {until:%b}"
    blocks: list[Block] = [section(f"📅 *{escape(said)}*")]
    if not entries:
        blocks.append(note("Nothing is waiting for approval, scheduled or held."))
    room = MOST_BLOCKS - 2  # the line for posts left out, *Propose a post*
    day, shown = "", 0
    for entry in entries:
        heading = [section(f"*{escape(_day(entry, zone))}*")] if _day(entry, zone) != day else []
        more = heading + _post_blocks(entry, zone)
        if len(blocks) + len(more) > room:
            break
        blocks += more
        day, shown = _day(entry, zone), shown + 1
    if shown < len(entries):
        blocks.append(note(f"…and {len(entries) - shown} more, later."))
    blocks.append(button_row("calendar_propose", 0, {Action.CALENDAR_PROPOSE: "Propose a post"}))
    return render(blocks, f"{said}: {len(entries)} post(s)")


async def show_list(core: Core) -> Message:
    """`/outage calendar`'s answer, as the calendar is now."""
    zone = core.config.organisation.zone
    return list_message(await two_weeks(core), zone=zone, now=core.clock.now())


async def _refresh(click: Click) -> None:
    """Replace the person's list with a fresh one; a list that cannot be replaced (its URL
    expired, after 30 minutes) stays as it was, and the person was told what happened."""
    url = click.body.get("response_url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return
    message = await show_list(click.core)
    try:
        await AsyncWebhookClient(url).send(
            **message, replace_original=True, response_type="ephemeral"
        )
    except Exception as exc:
        log.warning("could not refresh a calendar list: %s", type(exc).__name__)


async def _approve(click: Click) -> str:
    entry = await click.core.content_calendar.approve(click.actor, click.number)
    await _refresh(click)
    return f"Approved scheduled post #{entry.id}: {entry.outcome}."


async def _skip(click: Click) -> str:
    """*Skip*: a held post is skipped as the all-clear's *Skip* does, any other by ``skip``."""
    calendar = click.core.content_calendar
    if (await calendar.entry(click.number)).state == CalendarState.HELD:
        entry = await calendar.resume(click.actor, click.number, publish=False)
    else:
        entry = await calendar.skip(click.actor, click.number)
    await _refresh(click)
    return f"Skipped scheduled post #{entry.id}: it will not be posted."


async def _post_now(click: Click) -> str:
    entry = await click.core.content_calendar.resume(click.actor, click.number, publish=True)
    await _refresh(click)
    return f"Scheduled post #{entry.id} is being published."


def register_calendar_list(app: AsyncApp) -> None:
    app.action(Action.LIST_APPROVE)(does_once(_approve))
    app.action(Action.LIST_SKIP)(does_once(_skip))
    app.action(Action.LIST_POST_NOW)(does_once(_post_now))
