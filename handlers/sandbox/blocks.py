"""Block Kit as HTML: the blocks of a message, and a modal view as a form.

Buttons carry their block and action ids for the page's script; what they do is decided on the
server from the stored message, as Slack would, never from what the page sends.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from handlers.sandbox.mrkdwn import Names, escape, link, plain_to_html, text_object, text_of
from handlers.sandbox.pickers import INPUT_TYPES, PICKED_KEYS, picker_field, picker_state

JsonDict = dict[str, Any]


def _attr(value: object) -> str:
    return escape(str(value))


def _confirm(confirm: object) -> str:
    if not isinstance(confirm, dict):
        return ""
    dialog = {
        "title": text_of(confirm.get("title")) or "Are you sure?",
        "text": text_of(confirm.get("text")),
        "confirm": text_of(confirm.get("confirm")) or "Yes",
        "deny": text_of(confirm.get("deny")) or "Cancel",
        "style": str(confirm.get("style", "")),
    }
    return f' data-confirm="{_attr(json.dumps(dialog))}"'


def button(element: JsonDict, block_id: str, names: Names) -> str:
    """A button: primary and danger styles, an optional confirm dialog, or a link."""
    style = element.get("style")
    css = "bk-btn" + (f" bk-{style}" if style in ("primary", "danger") else "")
    label = text_object(element.get("text"), names)
    url = element.get("url")
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return link(url, label).replace("<a ", f'<a class="{css}" ', 1)
    return (
        f'<button type="button" class="{css}" data-block-id="{_attr(block_id)}" '
        f'data-action-id="{_attr(element.get("action_id", ""))}"'
        f"{_confirm(element.get('confirm'))}>{label}</button>"
    )


def _element(element: object, block_id: str, names: Names) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        return button(element, block_id, names)
    if kind in ("mrkdwn", "plain_text"):
        return f'<span class="bk-ctx-text">{text_object(element, names)}</span>'
    placeholder = text_of(element.get("placeholder")) or str(kind)
    return f'<span class="bk-unsupported" title="not playable here">[{escape(placeholder)}]</span>'


def _section(block: JsonDict, names: Names) -> str:
    parts = []
    if block.get("text"):
        parts.append(f'<div class="bk-text">{text_object(block["text"], names)}</div>')
    fields = block.get("fields") or []
    if fields:
        cells = "".join(f'<div class="bk-field">{text_object(f, names)}</div>' for f in fields)
        parts.append(f'<div class="bk-fields">{cells}</div>')
    accessory = block.get("accessory")
    if accessory:
        side = _element(accessory, str(block.get("block_id", "")), names)
        return f'<div class="bk-section bk-with-accessory"><div>{"".join(parts)}</div>{side}</div>'
    return f'<div class="bk-section">{"".join(parts)}</div>'


def block_html(block: object, names: Names) -> str:
    """One block of a message (or a modal's non-input block)."""
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    block_id = str(block.get("block_id", ""))
    if kind == "header":
        return f'<div class="bk-header">{text_object(block.get("text"), names)}</div>'
    if kind == "section":
        return _section(block, names)
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind in ("context", "actions"):
        items = "".join(_element(e, block_id, names) for e in block.get("elements") or [])
        return f'<div class="bk-{kind}">{items}</div>'
    return f'<div class="bk-unsupported">[{escape(str(kind))} block]</div>'


def blocks_html(blocks: list[Any], names: Names) -> str:
    return "".join(block_html(b, names) for b in blocks)


# --- modals -----------------------------------------------------------------------------------

# The elements Crier's modals use, as the browser's fields (the pickers: handlers.sandbox.pickers).


def _options(element: JsonDict) -> list[JsonDict]:
    return [o for o in element.get("options") or [] if isinstance(o, dict)]


def _input_control(element: JsonDict, dom_id: str, names: Names, zone: ZoneInfo) -> str:
    kind = element.get("type")
    if kind == "plain_text_input":
        initial = str(element.get("initial_value") or "")
        attrs = f'id="{dom_id}" placeholder="{_attr(text_of(element.get("placeholder")))}"'
        if element.get("max_length"):
            attrs += f' maxlength="{int(element["max_length"])}"'
        if element.get("multiline"):
            return f'<textarea {attrs} rows="4">{escape(initial)}</textarea>'
        return f'<input {attrs} type="text" value="{_attr(initial)}">'
    if kind == "static_select":
        initial_option = element.get("initial_option")
        selected = initial_option.get("value") if isinstance(initial_option, dict) else None
        options = "".join(
            f'<option value="{_attr(o.get("value", ""))}"'
            f"{' selected' if o.get('value') == selected else ''}>"
            f"{escape(text_of(o.get('text')))}</option>"
            for o in _options(element)
        )
        empty = escape(text_of(element.get("placeholder")) or "Choose…")
        return f'<select id="{dom_id}"><option value="">{empty}</option>{options}</select>'
    if kind == "checkboxes":
        chosen = {
            o.get("value") for o in element.get("initial_options") or [] if isinstance(o, dict)
        }
        rows = []
        for option in _options(element):
            value = option.get("value", "")
            note = option.get("description")
            rows.append(
                f'<label class="bk-choice"><input type="checkbox" name="{dom_id}" '
                f'value="{_attr(value)}"{" checked" if value in chosen else ""}> '
                f"{text_object(option.get('text'), names)}"
                + (f"<small>{text_object(note, names)}</small>" if note else "")
                + "</label>"
            )
        return f'<div id="{dom_id}" class="bk-choices">{"".join(rows)}</div>'
    if kind in INPUT_TYPES:  # the browser's own date and time fields stand in for Slack's
        return picker_field(element, dom_id, zone)
    return f'<div class="bk-unsupported">[{escape(str(kind))}: not playable in the sandbox]</div>'


def _input(block: JsonDict, view_id: str, names: Names, zone: ZoneInfo) -> str:
    element = block["element"] if isinstance(block.get("element"), dict) else {}
    block_id = str(block.get("block_id", ""))
    dom_id = f"in-{view_id}-{block_id}"
    optional = ' <span class="bk-optional">(optional)</span>' if block.get("optional") else ""
    hint = block.get("hint")
    return (
        f'<div class="bk-input" data-block-id="{_attr(block_id)}" '
        f'data-action-id="{_attr(element.get("action_id", ""))}" '
        f'data-type="{_attr(element.get("type", ""))}">'
        f'<label class="bk-label" for="{_attr(dom_id)}">'
        f"{text_object(block.get('label'), names)}{optional}</label>"
        f"{_input_control(element, escape(dom_id), names, zone)}"
        + (f'<div class="bk-hint">{text_object(hint, names)}</div>' if hint else "")
        + '<div class="bk-error" hidden></div></div>'
    )


def view_html(view: JsonDict, names: Names, zone: ZoneInfo) -> str:
    """A modal as a form: its title, blocks (inputs become fields), Cancel and Submit; ``zone``:
    the people's time zone, in which a datetimepicker's moment is shown."""
    view_id = str(view.get("id", ""))
    body = "".join(
        _input(b, view_id, names, zone) if b.get("type") == "input" else block_html(b, names)
        for b in view.get("blocks") or []
        if isinstance(b, dict)
    )
    close = text_of(view.get("close")) or "Cancel"
    submit = view.get("submit")
    submit_button = (
        f'<button type="submit" class="bk-btn bk-primary">{plain_to_html(text_of(submit))}</button>'
        if submit
        else ""
    )
    return (
        f'<form class="modal" data-view-id="{_attr(view_id)}" novalidate>'
        f'<header class="modal-head"><h2>{plain_to_html(text_of(view.get("title")))}</h2>'
        '<button type="button" class="modal-x" data-close aria-label="Close">&times;</button>'
        "</header>"
        f'<div class="modal-body">{body}</div>'
        f'<div class="modal-error" hidden></div>'
        f'<footer class="modal-foot"><button type="button" class="bk-btn" data-close>'
        f"{plain_to_html(close)}</button>{submit_button}</footer></form>"
    )


def input_state(element: JsonDict, raw: object, zone: ZoneInfo) -> JsonDict:
    """What Slack puts in ``view.state.values`` for one input, given what the person entered;
    ``zone``: the person's time zone, in which a datetimepicker's day and time are read."""
    kind = str(element.get("type", ""))
    if kind == "static_select":
        chosen = next((o for o in _options(element) if o.get("value") == raw and raw), None)
        return {"type": kind, "selected_option": chosen}
    if kind == "checkboxes":
        wanted = raw if isinstance(raw, list) else []
        return {
            "type": kind,
            "selected_options": [o for o in _options(element) if o.get("value") in wanted],
        }
    if kind in INPUT_TYPES:
        return picker_state(element, raw, zone)
    return {"type": kind, "value": raw if isinstance(raw, str) and raw != "" else None}


def is_empty(state: JsonDict) -> bool:
    """Whether an input was left empty (Slack refuses that for a required input)."""
    filled = ("value", "selected_option", "selected_options", *PICKED_KEYS)
    return all(state.get(name) in (None, "", []) for name in filled)


def input_blocks(view: JsonDict) -> list[JsonDict]:
    """The view's input blocks that have an element."""
    return [
        b
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("element"), dict)
    ]


def find_button(message: JsonDict, block_id: str, action_id: str) -> JsonDict | None:
    """The button ``action_id`` in block ``block_id`` of a stored message."""
    for block in message.get("blocks") or []:
        if not isinstance(block, dict) or block.get("block_id") != block_id:
            continue
        candidates = [*(block.get("elements") or []), block.get("accessory")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element if element.get("type") == "button" else None
    return None
