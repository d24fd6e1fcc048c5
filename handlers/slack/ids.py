"""Every action_id, callback_id and block_id Crier uses in Slack, defined once."""

from __future__ import annotations

import re
from enum import StrEnum

from bot.incidents.forms import FormField

Field = FormField  # block ids of modal inputs (the action id inside each is INPUT_ACTION)
COMMAND = "/outage"


class Action(StrEnum):
    POST_UPDATE = "incident_post_update"
    RESOLVE = "incident_resolve"
    APPROVE = "draft_approve"
    EDIT = "draft_edit"
    REJECT = "draft_reject"
    REVISE = "draft_revise"  # on a rejected draft: a new revision, from the edit form
    RETRY = "delivery_retry"
    CONFIRM = "delivery_confirm"
    SNOOZE = "reminder_snooze"
    CALENDAR_POST = "calendar_post_now"
    CALENDAR_SKIP = "calendar_skip"
    CALENDAR_APPROVE = "calendar_approve"
    CALENDAR_REJECT = "calendar_reject"
    OPEN_LINK = "delivery_open_link"


def indexed(action: Action) -> re.Pattern[str]:
    """The action ids of a button a message may carry several of: ``{action}_{index}``."""
    return re.compile(f"^{action}_\\d+$")


class View(StrEnum):
    DECLARE = "incident_declare"
    UPDATE = "incident_update"
    RESOLVE = "incident_resolve_form"
    EDIT = "draft_edit_form"
    REJECT = "draft_reject_form"
    REVISE = "draft_revise_form"
    APPROVE = "draft_approve_form"  # "Publish now?": shown only to who may publish
    CALENDAR = "calendar_add_form"


INPUT_ACTION = "value"
TEXT_BLOCK_PREFIX = "text_"  # edit modal: one block per channel, "text_x", "text_mastodon" …
