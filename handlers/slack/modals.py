"""Block Kit modals (declare, update, resolve, edit, reject) and reading their submissions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View as SlackView
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import CrierConfig, Network
from bot.drafting.post_times import EDIT_HINT
from bot.incidents.forms import OTHER, severity_choices, status_choices, texts_by_network
from bot.incidents.requests import DETAIL_MAX, SUMMARY_MAX
from bot.views import NETWORK_LABELS, IncidentView, PostView
from handlers.slack.ids import INPUT_ACTION, TEXT_BLOCK_PREFIX, Field, View
from handlers.slack.messages import note
from handlers.slack.text import escape, people_in, people_named, plain, plain_text

SLACK_INPUT_MAX = 3000  # plain_text_input's own ceiling
INT_MAX = 2**31 - 1  # ids are 32-bit integers in the database: a larger one names nothing


def text_input(
    field: str,
    label: str,
    *,
    multiline: bool = False,
    optional: bool = True,
    max_length: int = DETAIL_MAX,
    initial: str | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=INPUT_ACTION,
            multiline=multiline,
            max_length=max_length,
            initial_value=initial or None,
            placeholder=placeholder,
        ),
    )


def _select(
    field: Field,
    label: str,
    options: list[tuple[str, str]],
    *,
    initial: str | None = None,
    optional: bool = False,
) -> InputBlock:
    choices = [Option(value=value, label=text) for value, text in options]
    chosen = next((o for o in choices if o.value == initial), None)
    return InputBlock(
        block_id=field,
        label=label,
        optional=optional,
        element=StaticSelectElement(
            action_id=INPUT_ACTION, options=choices, initial_option=chosen, placeholder="Choose…"
        ),
    )


def modal(
    callback: View | None,
    title: str,
    submit: str | None,
    blocks: list[Block],
    metadata: dict[str, Any] | None,
    *,
    close: str = "Cancel",
) -> dict[str, Any]:
    """A form (or, without ``submit``, a message); ``metadata`` comes back with its submission
    (``Submission.metadata``)."""
    return SlackView(
        type="modal",
        callback_id=callback,
        title=title,
        submit=submit,
        close=close,
        blocks=blocks,
        private_metadata=json.dumps(metadata) if metadata else None,
    ).to_dict()


def _channel_inputs(config: CrierConfig, *, initial: tuple[Network, ...], hint: str) -> InputBlock:
    options = [Option(value=n.value, label=NETWORK_LABELS[n]) for n in config.enabled_channels]
    ticked = [o for o in options if o.value in {n.value for n in initial}]
    return InputBlock(
        block_id=Field.CHANNELS,
        label="Channels",
        optional=True,
        hint=hint,
        element=CheckboxesElement(
            action_id=INPUT_ACTION, options=options, initial_options=ticked or None
        ),
    )


def _service_inputs(config: CrierConfig, *, initial: str | None = None) -> list[Block]:
    """The catalog's services, and *Other* with a free name: a real outage of a service the
    catalog does not list is never blocked by it. ``initial``: the service chosen at first
    (one the catalog does not list is chosen as *Other*, with its name)."""
    services = [(s.name, s.name) for s in config.services][:99]  # a select holds 100 options
    listed = initial in {value for value, _ in services}
    other = initial[:60] if initial and not listed else None  # the name input's own limit
    return [
        _select(
            Field.SERVICE,
            "Service",
            [*services, (OTHER, "Other (not in the catalog)")],
            initial=OTHER if other else initial,
        ),
        text_input(
            Field.OTHER_SERVICE,
            "Service name, if Other",
            max_length=60,
            initial=other,
            placeholder="Zoom",
            hint="Its posts have no help link of their own: they point to your help page.",
        ),
    ]


def _incident_line(incident: IncidentView) -> ContextBlock:
    text = f"Incident #{incident.id} · {incident.service}: {incident.summary}"
    return note(plain(escape(text), limit=2000))


def declare_modal(
    config: CrierConfig,
    *,
    channel_id: str,
    summary: str = "",
    summary_hint: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    """The declare form; ``service``: chosen already (a surge of its mentions was declared)."""
    blocks: list[Block] = [
        *_service_inputs(config, initial=service),
        text_input(
            Field.SUMMARY,
            "What is wrong, in a few words",
            optional=False,
            max_length=SUMMARY_MAX,
            initial=summary,
            placeholder="students cannot log in",
            hint=summary_hint,
        ),
        _select(Field.SEVERITY, "Severity", severity_choices(config), optional=True),
        _select(Field.STATUS, "Status", status_choices(), initial="investigating"),
        text_input(
            Field.USERS_SEE,
            "What users see",
            multiline=True,
            placeholder="An error page after signing in",
        ),
        text_input(
            Field.DOING,
            "What we are doing",
            multiline=True,
            placeholder="Engineers are working with the vendor",
        ),
        text_input(
            Field.NEXT_UPDATE,
            "Next update in (minutes)",
            max_length=4,
            placeholder="30",
            hint="Leave empty for the severity's default.",
        ),
        _channel_inputs(config, initial=(), hint="Leave empty for the service's usual channels."),
    ]
    return modal(
        View.DECLARE, "Declare an outage", "Draft posts", blocks, {"channel_id": channel_id}
    )


def update_modal(incident: IncidentView, config: CrierConfig, *, channel_id: str) -> dict[str, Any]:
    blocks: list[Block] = [
        _incident_line(incident),
        _select(Field.STATUS, "Status", status_choices(), initial=incident.status),
        _select(Field.SEVERITY, "Severity", severity_choices(config), initial=incident.severity),
        text_input(
            Field.DOING, "What has changed / what we are doing", multiline=True, optional=False
        ),
        text_input(
            Field.USERS_SEE, "What users see now", multiline=True, initial=incident.what_users_see
        ),
        text_input(
            Field.NEXT_UPDATE,
            "Next update in (minutes)",
            max_length=4,
            initial=str(incident.next_update_minutes or ""),
        ),
        _channel_inputs(
            config,
            initial=incident.channels,
            hint="A change of severity or channels applies once this update is approved.",
        ),
    ]
    metadata = {"incident_id": incident.id, "channel_id": channel_id}
    return modal(View.UPDATE, "Post an update", "Draft update", blocks, metadata)


def resolve_modal(incident: IncidentView, *, channel_id: str) -> dict[str, Any]:
    blocks: list[Block] = [
        _incident_line(incident),
        text_input(
            Field.WHAT_HAPPENED,
            "What was fixed",
            multiline=True,
            placeholder="The sign-in service was restarted",
        ),
        text_input(
            Field.STILL_TROUBLE,
            "If people still have trouble",
            multiline=True,
            placeholder="Sign out, close the browser and sign in again",
        ),
        InputBlock(
            block_id=Field.FALSE_ALARM,
            label="False alarm?",
            optional=True,
            hint="The all-clear says so; with nothing published yet, the incident just closes.",
            element=CheckboxesElement(
                action_id=INPUT_ACTION,
                options=[Option(value="yes", label="It was a false alarm: nothing was wrong")],
            ),
        ),
    ]
    metadata = {"incident_id": incident.id, "channel_id": channel_id}
    return modal(View.RESOLVE, "Resolve the outage", "Draft all-clear", blocks, metadata)


def edit_modal(post: PostView, *, channel_id: str, revise: bool = False) -> dict[str, Any]:
    """The draft's texts to edit; with ``revise``, a rejected draft's, for its new revision."""
    saving = (
        "Saving makes a new revision of the rejected draft, which needs approval. "
        if revise
        else "Saving makes a new revision, which needs approval again. "
    )
    blocks: list[Block] = [note(saving + escape(EDIT_HINT))]
    for preview in post.previews:
        if len(preview.text) > SLACK_INPUT_MAX:  # Slack cannot edit it: keep it as drafted
            blocks.append(
                note(
                    f"*{preview.label}*: {len(preview.text)} characters is more than Slack can "
                    "edit here; it stays as drafted."
                )
            )
            continue
        blocks.append(
            text_input(
                f"{TEXT_BLOCK_PREFIX}{preview.network.value}",
                f"{preview.label} · {preview.length}",
                multiline=True,
                optional=False,
                max_length=SLACK_INPUT_MAX,
                initial=preview.text,
            )
        )
    metadata = {"post_id": post.id, "channel_id": channel_id}
    view, title = (View.REVISE, "Revise the draft") if revise else (View.EDIT, "Edit the draft")
    return modal(view, title, "Save revision", blocks, metadata)


def approve_modal(post: PostView, *, channel_id: str, thread_ts: str | None) -> dict[str, Any]:
    """ "Publish now?", for an approver only: who may not publish was refused before."""
    channels = ", ".join(p.label for p in post.previews)
    count = len(post.previews)
    text = f"This goes out to {count} public channel{'' if count == 1 else 's'} now: {channels}."
    blocks: list[Block] = [SectionBlock(text=PlainTextObject(text=text))]
    metadata = {"post_id": post.id, "channel_id": channel_id, "thread_ts": thread_ts}
    return modal(View.APPROVE, "Publish now?", "Publish", blocks, metadata, close="Not yet")


def reject_modal(post: PostView, *, channel_id: str) -> dict[str, Any]:
    blocks: list[Block] = [
        text_input(
            Field.REASON,
            "Why? The person who drafted it will see this.",
            multiline=True,
            optional=False,
            max_length=500,
        )
    ]
    metadata = {"post_id": post.id, "channel_id": channel_id}
    return modal(View.REJECT, "Reject the draft", "Reject", blocks, metadata)


def notice_modal(text: str) -> dict[str, Any]:
    """A form replaced by a message, for a refusal with no input of the form to show it on
    (Slack refuses errors for a block the view does not have)."""
    said = SectionBlock(text=PlainTextObject(text=text[:SLACK_INPUT_MAX] or "Not saved."))
    return modal(None, "Crier", None, [said], None, close="Close")


# --- reading submissions ------------------------------------------------------------------------


class Submission:
    """The values of a view submission, by block id, whatever the input type.

    Its texts are plain text (``plain_text``): a person mentioned (``<@U…>``) is named by the
    display name looked up in ``read``; without that, such a mention is refused on its field.
    """

    def __init__(self, view: dict[str, Any], people: Mapping[str, str] | None = None) -> None:
        self.people: Mapping[str, str] = people or {}
        # Read defensively: a value of the wrong type counts as not filled in.
        state = view.get("state")
        values = state.get("values") if isinstance(state, dict) else None
        self._values: dict[str, Any] = values if isinstance(values, dict) else {}
        raw = view.get("private_metadata")
        try:
            metadata = json.loads(raw) if isinstance(raw, str) and raw else {}
        except (ValueError, RecursionError):
            metadata = {}
        self.metadata: dict[str, Any] = metadata if isinstance(metadata, dict) else {}

    @classmethod
    async def read(cls, view: dict[str, Any], client: AsyncWebClient) -> Submission:
        """The submission, with the people its texts mention looked up (``users.info``)."""
        form = cls(view)
        typed = [form.raw(block_id).get("value") for block_id in form._values]
        mentioned = people_in(t for t in typed if isinstance(t, str))
        return cls(view, await people_named(client, mentioned)) if mentioned else form

    def raw(self, block_id: str) -> dict[str, Any]:
        """The input's state as Slack sent it (for date and time pickers)."""
        block = self._values.get(block_id)
        value = block.get(INPUT_ACTION) if isinstance(block, dict) else None
        return value if isinstance(value, dict) else {}

    def text(self, block_id: str) -> str:
        value = self.raw(block_id).get("value")
        return plain_text(value, self.people, field=block_id) if isinstance(value, str) else ""

    def choice(self, block_id: str) -> str | None:
        option = self.raw(block_id).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        return value if isinstance(value, str) else None

    def choices(self, block_id: str) -> list[str]:
        options = self.raw(block_id).get("selected_options")
        if not isinstance(options, list):
            return []
        return [
            o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)
        ]

    def texts_by_network(self) -> dict[Network, str]:
        return texts_by_network(self._values, self.text, prefix=TEXT_BLOCK_PREFIX)

    def metadata_int(self, key: str) -> int:
        """The id the form was opened with; 0 names nothing."""
        value = self.metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return 0
        return value if abs(value) <= INT_MAX else 0

    @property
    def channel_id(self) -> str:
        """The channel the form was opened from."""
        channel = self.metadata.get("channel_id")
        return channel if isinstance(channel, str) else ""
