"""Adaptive Card 1.5 elements as plain dicts: cards are data, built here and nowhere else.

Text Crier writes goes in ``TextBlock``s; text people wrote (summaries, drafts, reasons, names)
goes in a ``RichTextBlock``'s ``TextRun``, which Teams never reads as markdown::

    card([heading("Incident #3"), plain("Blackboard: *not* bold")], actions=[...])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.teams.ids import CARD_VERSION

Element = dict[str, Any]
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
TEXT_LIMIT = 2000  # per block shown on a card; Teams refuses messages past about 28 KB


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """Shorten for display, saying how much was left out."""
    if len(text) <= limit:
        return text
    note = f"… ({len(text) - limit + 40} more characters)"
    return text[: limit - len(note)] + note


def _with(element: Element, **optional: Any) -> Element:
    """``element`` with those of ``optional`` that are set: an unset one (False, "", None)
    is left out, and Teams reads its default."""
    element.update({key: value for key, value in optional.items() if value})
    return element


def card(
    body: list[Element], *, actions: list[Element] | None = None, summary: str = ""
) -> Element:
    """A top-level card; ``summary`` is what clients without card support show."""
    built: Element = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": CARD_VERSION}
    built["body"] = body
    return _with(built, actions=actions, fallbackText=summary)


def heading(text: str, *, size: str = "Medium") -> Element:
    """Crier's own words as a heading."""
    return {"type": "TextBlock", "text": text, "weight": "Bolder", "size": size, "wrap": True}


def note(text: str, *, subtle: bool = False, color: str | None = None) -> Element:
    """Crier's own words (never user text: TextBlock reads markdown)."""
    block: Element = {"type": "TextBlock", "text": text, "wrap": True}
    return _with(block, isSubtle=subtle, size="Small" if subtle else None, color=color)


def run(
    text: str, *, bold: bool = False, color: str | None = None, size: str | None = None
) -> Element:
    """A ``TextRun``: shown exactly as written, markdown and all."""
    element: Element = {"type": "TextRun", "text": text}
    return _with(element, weight="Bolder" if bold else None, color=color, size=size)


def plain(
    text: str,
    *,
    bold: bool = False,
    color: str | None = None,
    size: str | None = None,
    limit: int = TEXT_LIMIT,
) -> Element:
    """User text, as plain text."""
    return line(run(clip(text, limit), bold=bold, color=color, size=size))


def line(*inlines: Element, separator: bool = False) -> Element:
    return _with({"type": "RichTextBlock", "inlines": list(inlines)}, separator=separator)


def labelled(label: str, value: str) -> Element:
    """``Label: value`` with the value as plain text."""
    return line(run(f"{label}: ", bold=True), run(clip(value, 500)))


def banner(message: str, *, color: str = "Attention") -> Element:
    """A message for the person who acted, above the card it came with."""
    style = "attention" if color == "Attention" else "good"
    return {
        "type": "Container",
        "style": style,
        "items": [plain(message, color=color)],
    }


def with_banner(body: list[Element], message: str | None) -> list[Element]:
    return [banner(message), *body] if message else body


def execute(
    title: str, verb: str, data: Mapping[Any, Any] | None = None, *, style: str | None = None
) -> Element:
    action: Element = {"type": "Action.Execute", "title": title, "verb": verb}
    keyed = {str(key): value for key, value in (data or {}).items()}
    return _with(action, data=keyed, style=style)


def open_url(title: str, url: str) -> Element:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def text_input(
    input_id: str,
    label: str,
    *,
    value: str = "",
    multiline: bool = False,
    max_length: int | None = None,
    required: bool = False,
    placeholder: str = "",
) -> Element:
    return _with(
        {"type": "Input.Text", "id": input_id, "label": label},
        value=value,
        isMultiline=multiline,
        maxLength=max_length,
        isRequired=required,
        errorMessage=f"{label} is required." if required else None,
        placeholder=placeholder,
    )


def choice_set(
    input_id: str,
    label: str,
    choices: list[tuple[str, str]],
    *,
    value: str = "",
    multi: bool = False,
    required: bool = False,
    expanded: bool = False,
    placeholder: str = "",
) -> Element:
    element: Element = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "label": label,
        "choices": [{"title": title, "value": key} for key, title in choices],
        "style": "expanded" if expanded else "compact",
    }
    return _with(
        element,
        value=value,
        isMultiSelect=multi,
        isRequired=required,
        errorMessage=f"Pick a {label.lower()}." if required else None,
        placeholder=placeholder,
    )


def date_input(input_id: str, label: str, *, value: str = "", required: bool = False) -> Element:
    """A day picker; it sends ``YYYY-MM-DD``."""
    return _with(
        {"type": "Input.Date", "id": input_id, "label": label},
        value=value,
        isRequired=required,
        errorMessage="Pick a day." if required else None,
    )


def time_input(input_id: str, label: str, *, value: str = "", required: bool = False) -> Element:
    """A time picker; it sends ``HH:MM``, on the clock of whoever reads the label."""
    return _with(
        {"type": "Input.Time", "id": input_id, "label": label},
        value=value,
        isRequired=required,
        errorMessage="Pick a time." if required else None,
    )
