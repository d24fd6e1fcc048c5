"""Read what a card sent (its action's data, inputs merged in); ``bot.incidents.forms`` builds the
core's requests from it, the same way for every chat."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from bot.config import Network
from bot.incidents.forms import texts_by_network
from handlers.teams.ids import TEXT_PREFIX, Data


class Submission:
    """The data of an ``Action.Execute``: Crier's own keys and the form's inputs (strings)."""

    def __init__(self, data: Mapping[str, Any] | None) -> None:
        self.data: dict[str, Any] = dict(data or {})

    def text(self, key: str) -> str:
        value = self.data.get(key)
        return value if isinstance(value, str) else ""

    def choice(self, key: str) -> str | None:
        """A single select arrives as the picked option's value."""
        return self.text(key) or None

    def choices(self, key: str) -> list[str]:
        """A multi-select arrives as one comma-separated string."""
        return [part.strip() for part in self.text(key).split(",") if part.strip()]

    def day(self, key: str, problems: dict[str, str]) -> date | None:
        """A date picker's day; None, with a problem noted under it, if none was picked."""
        try:
            return date.fromisoformat(self.text(key).strip())
        except ValueError:
            problems[key] = "Pick a day."
            return None

    def time_of_day(self, key: str, problems: dict[str, str]) -> time | None:
        """A time picker's time, to the minute; None, with a problem noted, if none was picked."""
        try:
            return time.fromisoformat(self.text(key).strip()).replace(second=0, microsecond=0)
        except ValueError:
            problems[key] = "Pick a time."
            return None

    def networks(self, key: str, problems: dict[str, str]) -> tuple[Network, ...]:
        """The channels ticked; a value that names no channel is noted as a problem."""
        known = {n.value: n for n in Network}
        picked = self.choices(key)
        if any(value not in known for value in picked):
            problems[key] = "Pick from these."
        return tuple(known[value] for value in picked if value in known)

    def number(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool):
            return 0
        if isinstance(value, int):
            return value
        text = str(value or "").strip()
        return int(text) if text.isdigit() else 0

    def texts_by_network(self) -> dict[Network, str]:
        """The edit form's texts: one input a channel, ``text_x``, ``text_mastodon`` …"""
        return texts_by_network(self.data, self.text, prefix=TEXT_PREFIX)

    @property
    def inputs(self) -> dict[str, Any]:
        """What the person typed, to show the form again with it."""
        own = {str(d) for d in Data}
        return {k: v for k, v in self.data.items() if k not in own}
