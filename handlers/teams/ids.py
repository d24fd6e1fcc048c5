"""Every card verb, input id and anchor purpose Crier uses in Teams, defined once."""

from __future__ import annotations

from enum import StrEnum

from bot.incidents.forms import FormField

Field = FormField  # input ids on the cards; they arrive merged into the action data
PLATFORM = "teams"
CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ERROR_CONTENT_TYPE = "application/vnd.microsoft.error"


class Command(StrEnum):
    """What people type to the bot (after its @mention)."""

    OUTAGE = "outage"
    UPDATE = "update"
    RESOLVE = "resolve"
    LIST = "list"
    MAINTENANCE = "maintenance"
    CALENDAR = "calendar"
    HELP = "help"


class Verb(StrEnum):
    """``Action.Execute`` verbs: each arrives as an ``adaptiveCard/action`` invoke."""

    DECLARE = "crier.declare"
    # A surge of mentions with no open incident: the declare form, its service chosen.
    DECLARE_FORM = "crier.declare.form"
    UPDATE_FORM = "crier.update.form"
    UPDATE = "crier.update"
    RESOLVE_FORM = "crier.resolve.form"
    RESOLVE = "crier.resolve"
    SHOW_INCIDENT = "crier.incident.show"
    APPROVE = "crier.draft.approve"
    EDIT_FORM = "crier.draft.edit.form"
    EDIT = "crier.draft.edit"
    REJECT_FORM = "crier.draft.reject.form"
    REJECT = "crier.draft.reject"
    REVISE_FORM = "crier.draft.revise.form"  # on a rejected draft: its texts, to revise
    REVISE = "crier.draft.revise"
    SHOW_DRAFT = "crier.draft.show"
    RETRY = "crier.delivery.retry"
    CONFIRM = "crier.delivery.confirm"
    SNOOZE = "crier.reminder.snooze"
    CALENDAR_POST = "crier.calendar.post"
    CALENDAR_SKIP = "crier.calendar.skip"
    CALENDAR_APPROVE = "crier.calendar.approve"
    CALENDAR_REJECT = "crier.calendar.reject"
    # A recurring series' batch, and the next two weeks ("calendar"): each card shows them again.
    CALENDAR_ENTRY_APPROVE = "crier.calendar.entry.approve"
    CALENDAR_ENTRY_SKIP = "crier.calendar.entry.skip"
    CALENDAR_APPROVE_ALL = "crier.calendar.batch.approve"
    CALENDAR_HELD_POST = "crier.calendar.held.post"
    CALENDAR_HELD_SKIP = "crier.calendar.held.skip"
    CALENDAR_FORM = "crier.calendar.form"  # *Propose a post*: the form
    CALENDAR_PROPOSE = "crier.calendar.propose"
    MAINTENANCE_PLAN = "crier.maintenance.plan"
    MAINTENANCE_APPROVE = "crier.maintenance.approve"  # the whole series
    MAINTENANCE_REJECT = "crier.maintenance.reject"
    MAINTENANCE_CHANGE_APPROVE = "crier.maintenance.change.approve"  # an extension, a cancellation
    MAINTENANCE_CHANGE_REJECT = "crier.maintenance.change.reject"
    MAINTENANCE_COMPLETE = "crier.maintenance.complete"
    MAINTENANCE_EXTEND = "crier.maintenance.extend"
    MAINTENANCE_EDIT_FORM = "crier.maintenance.edit.form"  # *Edit*: the form, filled in
    MAINTENANCE_EDIT = "crier.maintenance.edit"
    MAINTENANCE_CANCEL = "crier.maintenance.cancel"
    # A reply Crier heard: *Reply* brings the form that answers it in public, for the clicker.
    HEARD_REPLY_FORM = "crier.heard.reply.form"
    HEARD_SHOW = "crier.heard.show"  # *Cancel* on that form: the reply again
    ANSWER_PROPOSE = "crier.answer.propose"
    ANSWER_APPROVE = "crier.answer.approve"
    ANSWER_EDIT_FORM = "crier.answer.edit.form"
    ANSWER_EDIT = "crier.answer.edit"
    ANSWER_REJECT_FORM = "crier.answer.reject.form"
    ANSWER_REJECT = "crier.answer.reject"
    ANSWER_SHOW = "crier.answer.show"  # *Cancel* on its forms: the answer's card again


class Data(StrEnum):
    """Keys Crier puts in an action's ``data`` (never an input id)."""

    INCIDENT_ID = "incidentId"
    POST_ID = "postId"
    DELIVERY_ID = "deliveryId"
    SNOOZE = "snooze"
    SCHEDULED_POST_ID = "scheduledPostId"
    BATCH_ID = "batchId"  # on a batch's card; the next two weeks' buttons have none
    MAINTENANCE_ID = "maintenanceId"
    REVISION = "revision"  # the maintenance's series as the card showed it
    CHANGE_ID = "maintenancePostId"  # an extension or a cancellation waiting for approval
    EXTEND_MINUTES = "extendMinutes"
    SERVICE = "declareService"  # *Declare outage* on a surge: the service to choose
    HEARD_ID = "heardId"  # a reply Crier heard, to answer
    ANSWER_ID = "answerId"  # an answer to one (its REVISION: as the card showed it)
    # "root": the form replaced the incident's card for one person; else it is its own message.
    PLACE = "place"


class CalendarField(StrEnum):
    """The form that proposes a calendar post."""

    TEXT = "text"  # the names the core's InvalidInput gives, so a problem shows under its input
    DAY = "calendar_day"
    TIME = "calendar_time"
    CHANNELS = "channels"


class MaintenanceField(StrEnum):
    """The maintenance form's inputs; those the core checks carry the names its
    ``InvalidInput`` gives them, so each problem shows under its input."""

    SERVICES = "services"
    TITLE = "title"
    NOTICE = "what_users_notice"
    TO_DO = "what_to_do"
    START_DAY = "start_day"
    START_TIME = "start_time"
    END_DAY = "end_day"
    END_TIME = "end_time"
    ANNOUNCE = "announce"
    REMIND = "remind"
    CHANNELS = "channels"


ANSWER_TEXT = "answer"  # the answer form's input: the name the core's InvalidInput gives it
TEXT_PREFIX = "text_"  # the edit form: one input per channel, "text_x", "text_mastodon" …
ROOT = "root"  # the incident's card: where its conversation reference is kept
NAMES = "names"  # display names of the Teams people who acted on the incident
IN_ROOT = "root"
