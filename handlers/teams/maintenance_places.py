"""Where a planned maintenance lives in Teams, and who the Teams people around it are.

The core hands a chat ``where`` as one string (``bot.maintenance.desk``). In Slack that is a
channel id; Teams cannot write to a conversation by its id alone, so Teams' ``where`` is the
whole conversation reference of the message that planned it (or asked for a change), as JSON. It
also names who sent that message, so the cards can say "Ana Lyst" rather than an object id. The
core keeps the ``where`` it was planned from (``MaintenanceView.planned_where``): the question
at the window's end is asked there.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.teams.anchors import People


def planned_from(reference: dict[str, Any]) -> str:
    """A Teams conversation reference as the core's ``where``."""
    return json.dumps(reference, sort_keys=True, separators=(",", ":"))


def reference_in(where: object) -> dict[str, Any] | None:
    """The conversation reference in a ``where`` (None: another chat's, or none)."""
    if not isinstance(where, str) or not where.startswith("{"):
        return None
    try:
        reference = json.loads(where)
    except ValueError:
        return None
    if not isinstance(reference, dict) or not reference.get("serviceUrl"):
        return None
    conversation = reference.get("conversation")
    return reference if isinstance(conversation, dict) and conversation.get("id") else None


def _person(reference: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
    """Who sent the message a reference was taken from, as ``People`` keeps them."""
    user = reference.get("user")
    if not isinstance(user, dict) or not user.get("name"):
        return None
    user_id = str(user.get("aadObjectId") or user.get("id") or "")
    return user_id, {"name": str(user["name"])[:100], "id": str(user.get("id") or "")}


def people_in(references: list[dict[str, Any]]) -> People:
    """The names of those who sent these messages (a later one wins)."""
    return People(dict(p for p in map(_person, references) if p is not None))
