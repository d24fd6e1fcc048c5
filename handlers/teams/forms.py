"""The forms, as cards: declare, update, resolve, edit and reject.

A form that comes back with an error (``again``) keeps what the person typed and shows the
core's message on top and each field's problem under that field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config import CrierConfig, Network
from bot.drafting.post_times import EDIT_HINT
from bot.incidents.forms import OTHER, severity_choices, status_choices
from bot.incidents.requests import DETAIL_MAX, SUMMARY_MAX
from bot.storage.models import IncidentStatus
from bot.views import NETWORK_LABELS, IncidentView, PostView
from handlers.teams.elements import (
    Element,
    banner,
    card,
    choice_set,
    execute,
    heading,
    note,
    plain,
    text_input,
)
from handlers.teams.ids import IN_ROOT, TEXT_PREFIX, Data, Field, Verb

EDIT_MAX = 5000  # longer texts stay as drafted: a card past ~28 KB is refused by Teams
REASON_MAX = 500
FALSE_ALARM_TICKED = "yes"  # a one-box multi-select: a toggle would send "false" when unticked


class Form:
    """Builds one form's body: inputs with the person's values and the core's field errors."""

    def __init__(
        self,
        values: Mapping[str, Any] | None = None,
        errors: Mapping[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        self.values = {k: str(v) for k, v in (values or {}).items() if v is not None}
        self.errors = dict(errors or {})
        self.body: list[Element] = [banner(message)] if message else []

    def value(self, field: str, default: str = "") -> str:
        return self.values.get(field, default)

    def add(self, element: Element, *error_keys: str) -> None:
        self.body.append(element)
        for key in error_keys or (str(element.get("id", "")),):
            if key in self.errors:
                self.body.append(plain(self.errors[key], color="Attention"))

    def hint(self, text: str | None) -> None:
        if text:
            self.body.append(note(text, subtle=True))

    def text(
        self, field: str, label: str, *, default: str = "", also: str = "", **options: Any
    ) -> None:
        """What the person typed, else ``default``; of ``DETAIL_MAX`` characters unless
        ``max_length`` says otherwise. The errors of ``field`` and of ``also`` go under it."""
        options.setdefault("max_length", DETAIL_MAX)
        self.add(text_input(field, label, value=self.value(field, default), **options), field, also)

    def paragraph(self, field: str, label: str, placeholder: str = "", **options: Any) -> None:
        """A multi-line ``text``."""
        self.text(field, label, multiline=True, placeholder=placeholder, **options)

    def choice(
        self,
        field: str,
        label: str,
        choices: list[tuple[str, str]],
        *,
        default: str = "",
        **options: Any,
    ) -> None:
        """What the person picked, else ``default``."""
        self.add(choice_set(field, label, choices, value=self.value(field, default), **options))

    def channels(
        self, field: str, label: str, offered: list[Network], *, ticked: list[Network]
    ) -> None:
        """Tick boxes for ``offered`` channels, ``ticked`` ones ticked unless the person
        changed them."""
        choices = [(n.value, NETWORK_LABELS[n]) for n in offered]
        default = ",".join(n.value for n in ticked)
        self.choice(field, label, choices, default=default, multi=True, expanded=True)


def declare_form(
    config: CrierConfig,
    *,
    again: Form | None = None,
    summary_hint: str | None = None,
    service: str | None = None,
) -> Element:
    """The declare form; ``service``: chosen already (a surge of its mentions was declared;
    one the catalog does not list is chosen as *Other*, with its name)."""
    form = again or Form()
    form.body.append(heading("Declare an outage", size="Large"))
    # *Other* with a free name: a service the catalog does not list is never blocked by it.
    listed = [s.name for s in config.services]
    other = service[:60] if service and service not in listed else ""
    chosen = OTHER if other else service or ""
    services = [(name, name) for name in listed] + [(OTHER, "Other (not in the catalog)")]
    form.choice(
        Field.SERVICE, "Service", services, default=chosen, required=True, placeholder="Choose…"
    )
    form.text(
        Field.OTHER_SERVICE,
        "Service name, if Other",
        default=other,
        max_length=60,
        placeholder="Zoom",
    )
    form.hint("Its posts have no help link of their own: they point to your help page.")
    form.text(
        Field.SUMMARY,
        "What is wrong, in a few words",
        max_length=SUMMARY_MAX,
        required=True,
        placeholder="students cannot log in",
    )
    form.hint(summary_hint)
    usual = "The service's usual severity"
    form.choice(Field.SEVERITY, "Severity", severity_choices(config), placeholder=usual)
    form.choice(
        Field.STATUS, "Status", status_choices(), default=IncidentStatus.INVESTIGATING.value
    )
    _details(form)
    label = "Channels (leave empty for the service's usual ones)"
    form.channels(Field.CHANNELS, label, config.enabled_channels, ticked=[])
    actions = [execute("Draft posts", Verb.DECLARE, style="positive")]
    return card(form.body, actions=actions, summary="Declare an outage")


def _details(form: Form, incident: IncidentView | None = None) -> None:
    """For an update of ``incident``, what changed is required and the rest starts as it is."""
    doing = "What has changed / what we are doing" if incident else "What we are doing"
    working = "Engineers are working with the vendor"
    form.paragraph(Field.DOING, doing, working, required=incident is not None)
    users_see = incident.what_users_see if incident else ""
    error_page = "An error page after signing in"
    form.paragraph(Field.USERS_SEE, "What users see", error_page, default=users_see)
    next_update = str(incident.next_update_minutes or "") if incident else ""
    form.text(
        Field.NEXT_UPDATE,
        "Next update in (minutes)",
        default=next_update,
        max_length=4,
        placeholder="30",
    )


def _incident_actions(incident: IncidentView, verb: Verb, title: str, place: str) -> list[Element]:
    data: dict[str, Any] = {Data.INCIDENT_ID: incident.id, Data.PLACE: place}
    actions = [execute(title, verb, data, style="positive")]
    if place == IN_ROOT:
        actions.append(execute("Cancel", Verb.SHOW_INCIDENT, {Data.INCIDENT_ID: incident.id}))
    return actions


def update_form(
    incident: IncidentView,
    *,
    config: CrierConfig,
    place: str = "",
    again: Form | None = None,
) -> Element:
    form = again or Form()
    form.body += [heading("Post an update"), plain(f"Incident #{incident.id} · {incident.title}")]
    form.choice(Field.STATUS, "Status", status_choices(), default=incident.status)
    form.choice(Field.SEVERITY, "Severity", severity_choices(config), default=incident.severity)
    _details(form, incident)
    channels = config.enabled_channels
    form.channels(Field.CHANNELS, "Channels", channels, ticked=list(incident.channels))
    form.hint("A change of severity or channels applies once this update is approved.")
    actions = _incident_actions(incident, Verb.UPDATE, "Draft update", place)
    return card(form.body, actions=actions, summary="Post an update")


def resolve_form(
    incident: IncidentView,
    *,
    place: str = "",
    again: Form | None = None,
) -> Element:
    form = again or Form()
    form.body += [
        heading("Resolve the outage"),
        plain(f"Incident #{incident.id} · {incident.title}"),
    ]
    form.paragraph(Field.WHAT_HAPPENED, "What was fixed", "The sign-in service was restarted")
    trouble = "Sign out, close the browser and sign in again"
    form.paragraph(Field.STILL_TROUBLE, "If people still have trouble", trouble)
    form.choice(
        Field.FALSE_ALARM,
        "False alarm?",
        [(FALSE_ALARM_TICKED, "It was a false alarm: nothing was wrong")],
        multi=True,
        expanded=True,
    )
    form.hint("The all-clear says so; with nothing published yet, the incident just closes.")
    actions = _incident_actions(incident, Verb.RESOLVE, "Draft all-clear", place)
    return card(form.body, actions=actions, summary="Resolve the outage")


def edit_form(
    post: PostView,
    *,
    again: Form | None = None,
    revise: bool = False,
) -> Element:
    """The draft's texts to edit; with ``revise``, a rejected draft's, for its new revision."""
    form = again or Form()
    title = "Revise the draft" if revise else "Edit the draft"
    saving = (
        "Saving makes a new revision of the rejected draft, which needs approval. "
        if revise
        else "Saving makes a new revision, which needs approval again. "
    )
    form.body.append(heading(title))
    form.hint(saving + EDIT_HINT)
    for preview in post.previews:
        input_id = f"{TEXT_PREFIX}{preview.network.value}"
        if len(preview.text) > EDIT_MAX:
            too_long = f"{len(preview.text)} characters is more than a card can edit"
            form.body.append(note(f"{preview.label}: {too_long}; it stays as drafted."))
            continue
        label = f"{preview.label} · {preview.length}"
        also = preview.network.value  # the core names a text's problems by its network
        form.paragraph(
            input_id, label, default=preview.text, also=also, max_length=EDIT_MAX, required=True
        )
    data = {Data.POST_ID: post.id}
    actions = [
        execute("Save revision", Verb.REVISE if revise else Verb.EDIT, data, style="positive"),
        execute("Cancel", Verb.SHOW_DRAFT, data),
    ]
    return card(form.body, actions=actions, summary=title)


def reject_form(
    post: PostView,
    *,
    again: Form | None = None,
) -> Element:
    form = again or Form()
    form.body.append(heading("Reject the draft"))
    why = "Why? The person who drafted it will see this."
    form.paragraph(Field.REASON, why, max_length=REASON_MAX, required=True)
    data = {Data.POST_ID: post.id}
    actions = [
        execute("Reject", Verb.REJECT, data, style="destructive"),
        execute("Cancel", Verb.SHOW_DRAFT, data),
    ]
    return card(form.body, actions=actions, summary="Reject the draft")
