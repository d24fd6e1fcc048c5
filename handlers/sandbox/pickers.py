"""Slack's date and time pickers played by the browser's own fields, and what Slack sends for them.

    datepicker      <input type="date">            {"selected_date": "2026-12-10"}
    timepicker      <input type="time">            {"selected_time": "10:00"} (+ "timezone")
    datetimepicker  <input type="datetime-local">  {"selected_date_time": 1797001200}

Slack's client only ever sends a real day or time, or ``null`` when nothing was picked; so does
the sandbox, whatever reached its API. A datetimepicker is a moment: Slack reads it in the person's
own time zone, the sandbox in the one zone its people have, the organisation's (crier.yml).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from handlers.sandbox.mrkdwn import escape

JsonDict = dict[str, Any]

# element type -> the browser's input type
INPUT_TYPES = {"datepicker": "date", "timepicker": "time", "datetimepicker": "datetime-local"}
# the keys that hold a picked value in ``view.state.values``
PICKED_KEYS = ("selected_date", "selected_time", "selected_date_time")
_MINUTE = "%Y-%m-%dT%H:%M"  # what a datetime-local field holds (no seconds at its default step)


def _day(raw: object) -> str | None:
    try:
        return date.fromisoformat(raw).isoformat() if isinstance(raw, str) else None
    except ValueError:
        return None


def _clock(raw: object) -> str | None:
    try:  # a field with a step under a minute adds seconds; Slack's picker has none
        return time.fromisoformat(raw).strftime("%H:%M") if isinstance(raw, str) else None
    except ValueError:
        return None


def _moment(raw: object, zone: ZoneInfo) -> int | None:
    if not isinstance(raw, str) or "T" not in raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if local.tzinfo is not None:  # the field never sends an offset
        return None
    return int(local.replace(tzinfo=zone).timestamp())


def initial_value(element: JsonDict, zone: ZoneInfo) -> str:
    """The field's starting value, from the element's initial_date / _time / _date_time."""
    kind = element.get("type")
    if kind == "datepicker":
        return _day(element.get("initial_date")) or ""
    if kind == "timepicker":
        return _clock(element.get("initial_time")) or ""
    seconds = element.get("initial_date_time")
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        return datetime.fromtimestamp(seconds, tz=zone).strftime(_MINUTE)
    return ""


def picker_field(element: JsonDict, dom_id: str, zone: ZoneInfo) -> str:
    """The browser's field for a picker; ``dom_id`` (escaped) is what its label points at."""
    kind = str(element.get("type"))
    value = escape(initial_value(element, zone))
    return f'<input id="{dom_id}" type="{INPUT_TYPES[kind]}" value="{value}">'


def picker_state(element: JsonDict, raw: object, zone: ZoneInfo) -> JsonDict:
    """What Slack puts in ``view.state.values`` for a picker, given the field's value."""
    kind = str(element.get("type"))
    if kind == "datepicker":
        return {"type": kind, "selected_date": _day(raw)}
    if kind == "timepicker":
        state: JsonDict = {"type": kind, "selected_time": _clock(raw)}
        if isinstance(element.get("timezone"), str):
            state["timezone"] = element["timezone"]
        return state
    return {"type": kind, "selected_date_time": _moment(raw, zone)}
