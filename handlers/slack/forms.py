"""Slack's modal submissions as the core's requests, and core errors as field errors.

``Submission`` (``handlers.slack.modals``) reads the view state; ``bot.incidents.forms`` builds the
requests from it, the same way for every chat.
"""

from __future__ import annotations

from bot.errors import InvalidInput
from bot.incidents.forms import declare_request, edit_request, resolve_request, update_request
from handlers.slack.ids import TEXT_BLOCK_PREFIX

# The listeners call these as ``forms.declare_request(form, config)`` and so on.
__all__ = ["declare_request", "edit_request", "field_errors", "resolve_request", "update_request"]


def field_errors(error: InvalidInput, *, block_ids: list[str]) -> dict[str, str]:
    """Map the core's field names onto the modal's block ids (``x`` → ``text_x`` on edits).

    Slack refuses errors for blocks that are not in the view, so anything unmatched lands on
    the first input.
    """
    errors: dict[str, str] = {}
    for name, message in (error.fields or {"": error.message}).items():
        block_id = next((b for b in (name, f"{TEXT_BLOCK_PREFIX}{name}") if b in block_ids), None)
        target = block_id or (block_ids[0] if block_ids else name)
        errors[target] = (errors.get(target, "") + " " + message).strip()[:150]
    return errors
