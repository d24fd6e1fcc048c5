"""A maintenance's posts, drafted from ``templates/maintenance_*/`` for each channel.

What a person typed is one sentence each (what users will notice, what to do beforehand) and the
window; the templates say the rest. Nothing is shortened: a series is drafted days ahead, so a
text over a network's limit is refused with the channel, the post and by how much, and the
person shortens their words (an incident's first post, by contrast, is shortened to go at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import CrierConfig, Network
from bot.drafting.drafter import Drafter, as_sentence
from bot.drafting.post_times import TIME, format_duration, format_time, has_placeholder, widest
from bot.drafting.textrules import check_text
from bot.errors import InvalidInput
from bot.maintenance.window import SeriesKind, Window, describe_window
from bot.views import NETWORK_LABELS

KIND_LABELS = {
    SeriesKind.ANNOUNCE: "announcement",
    SeriesKind.REMINDER: "reminder",
    SeriesKind.START: "start",
    SeriesKind.COMPLETE: "completion",
    SeriesKind.EXTENDED: "extension",
    SeriesKind.CANCELLED: "cancellation",
}


@dataclass(frozen=True)
class MaintenanceFacts:
    services: tuple[str, ...]  # catalog names
    title: str
    what_users_notice: str
    what_to_do: str
    window: Window


def draft(
    drafter: Drafter,
    config: CrierConfig,
    kind: SeriesKind,
    facts: MaintenanceFacts,
    *,
    channels: tuple[Network, ...],
    due_at: datetime | None,
) -> dict[str, str]:
    """Each channel's text of one post of the series; InvalidInput when one does not fit."""
    context = _context(config, facts, kind=kind, due_at=due_at)
    zone = config.organisation.zone
    texts: dict[str, str] = {}
    for network in channels:
        text = drafter.render_folder(kind.value, network, context)
        channel = config.channels.get(network)
        limit = channel.max_characters if channel is not None else None
        check = check_text(network, widest(text, zone), max_characters=limit)
        if not check.ok:
            raise InvalidInput(
                f"The {KIND_LABELS[kind]} for {NETWORK_LABELS[network]} would not fit "
                f"({check.problem}): shorten what users will notice or what to do."
            )
        texts[network.value] = text
    return texts


def _context(
    config: CrierConfig, facts: MaintenanceFacts, *, kind: SeriesKind, due_at: datetime | None
) -> dict[str, Any]:
    for typed in (facts.title, facts.what_users_notice, facts.what_to_do):
        if has_placeholder(typed):
            raise InvalidInput(f"Write times out: {TIME} is where Crier puts the time it posts.")
    zone = config.organisation.zone
    window = facts.window
    ends = format_time(window.ends_at, zone)
    if window.ends_at.astimezone(zone).date() != window.starts_at.astimezone(zone).date():
        end = window.ends_at.astimezone(zone)
        ends = f"{end:%a} {end.day} {end:%b}, {ends}"
    first = config.find_service(facts.services[0]) if facts.services else None
    help_url = (first.help_url if first else None) or config.organisation.help_url
    starts_in = ""
    if due_at is not None and kind is SeriesKind.REMINDER:
        starts_in = "in " + format_duration(max(window.starts_at - due_at, timedelta(0)))
    return {
        "org": config.organisation.display_name,
        "services": _joined(facts.services),
        "title": " ".join(facts.title.split()).rstrip("."),
        "window": "on " + describe_window(window, zone),
        "ends": ends,
        "starts_in": starts_in,
        "what_users_notice": as_sentence(facts.what_users_notice),
        "what_to_do": as_sentence(facts.what_to_do),
        "help_url": help_url,
        "stamp_time": TIME,
    }


def _joined(names: tuple[str, ...]) -> str:
    """ "Blackboard", "Blackboard and Moodle", "Blackboard, Moodle and Wi-Fi"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
