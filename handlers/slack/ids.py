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
    # A recurring series' batch, one message: each post's *Approve* / *Skip*, and *Approve all*.
    BATCH_APPROVE = "calendar_batch_approve"  # value: the post
    BATCH_SKIP = "calendar_batch_skip"  # value: the post
    BATCH_APPROVE_ALL = "calendar_batch_approve_all"  # value: the batch
    # `/outage calendar`'s two weeks, seen by one person: each post's buttons, and the form.
    LIST_APPROVE = "calendar_list_approve"
    LIST_SKIP = "calendar_list_skip"  # a held post is skipped as the all-clear's *Skip* does
    LIST_POST_NOW = "calendar_list_post_now"
    CALENDAR_PROPOSE = "calendar_propose"  # opens the form that proposes a post
    OPEN_LINK = "delivery_open_link"
    MAINTENANCE_APPROVE = "maintenance_approve"  # the whole series
    MAINTENANCE_REJECT = "maintenance_reject"
    MAINTENANCE_COMPLETE = "maintenance_complete"
    MAINTENANCE_EXTEND = "maintenance_extend"  # indexed: ``maintenance_extend_60`` (minutes)
    MAINTENANCE_EDIT = "maintenance_edit"  # opens the form, filled in, that edits it
    MAINTENANCE_CANCEL = "maintenance_cancel"
    CHANGE_APPROVE = "maintenance_change_approve"  # an extension or a cancellation
    CHANGE_REJECT = "maintenance_change_reject"
    # A surge of mentions with no open incident: the declare form, its service chosen (value).
    SPIKE_DECLARE = "mention_spike_declare"
    # A reply Crier heard: *Reply* opens the form that answers it in public (value: the reply).
    HEARD_REPLY = "heard_reply"
    # An answer waiting for approval (value: the answer; the block id names its revision).
    ANSWER_APPROVE = "answer_approve"
    ANSWER_EDIT = "answer_edit"
    ANSWER_REJECT = "answer_reject"


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
    MAINTENANCE = "maintenance_plan_form"
    MAINTENANCE_EDIT = "maintenance_edit_form"  # the same form, filled in, for one maintenance
    ANSWER = "answer_form"  # an answer to a reply Crier heard
    ANSWER_EDIT = "answer_edit_form"  # the same form, filled in, for a waiting answer
    ANSWER_REJECT = "answer_reject_form"


class MaintenanceField(StrEnum):
    """Block ids of `/outage maintenance`'s form: the core's names (``InvalidInput.fields``)
    where it has one for the input, so its refusal shows on that input."""

    SERVICES = "services"
    TITLE = "title"
    NOTICE = "what_users_notice"
    BEFOREHAND = "what_to_do"
    START_DAY = "maintenance_start_day"
    START_TIME = "maintenance_start_time"
    END_DAY = "maintenance_end_day"
    END_TIME = "maintenance_end_time"
    ANNOUNCE = "maintenance_announce"
    REMIND = "maintenance_remind"
    CHANNELS = "channels"


ANSWER_TEXT = "answer"  # the answer form's input: the name the core's InvalidInput gives it
INPUT_ACTION = "value"
TEXT_BLOCK_PREFIX = "text_"  # edit modal: one block per channel, "text_x", "text_mastodon" …
