"""The declare, update, resolve and edit forms: one builder in the core (``bot.incidents.forms``),
so the same form filled in on Slack or on Teams makes the same request, or the same field errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.config import CrierConfig, Network, Severity
from bot.errors import InvalidInput
from bot.incidents import forms
from bot.incidents.forms import FormField
from bot.incidents.requests import DeclareRequest, EditRequest, ResolveRequest, UpdateRequest
from bot.storage.models import IncidentStatus
from handlers.slack import ids as slack_ids
from handlers.slack import listeners as slack_listeners
from handlers.slack.common import field_errors
from handlers.slack.modals import Submission as SlackSubmission
from handlers.teams import actions as teams_actions
from handlers.teams.submissions import Submission as TeamsSubmission
from tests.conftest import make_config

# What a person filled in, platform-free: a text, the option picked, or the options picked.
Filled = dict[str, str | list[str]]
SELECTS = {FormField.SERVICE, FormField.SEVERITY, FormField.STATUS}


def slack_view(filled: Filled) -> dict[str, Any]:
    """The view Slack submits: ``state.values[block_id]["value"]``, by input type."""
    values: dict[str, Any] = {}
    for name, value in filled.items():
        if isinstance(value, list):
            state: dict[str, Any] = {"selected_options": [{"value": v} for v in value]}
        elif name in SELECTS:
            state = {"selected_option": {"value": value}}
        else:
            state = {"type": "plain_text_input", "value": value}
        values[name] = {slack_ids.INPUT_ACTION: state}
    return {"state": {"values": values}}


def teams_data(filled: Filled) -> dict[str, Any]:
    """The data a card's Action.Execute sends: every input a string, a multi-select joined."""
    return {k: ",".join(v) if isinstance(v, list) else v for k, v in filled.items()}


def both(build: Callable[[Any], object], filled: Filled) -> tuple[object, object]:
    """What Slack's parser and Teams' parser make of the same form."""
    return build(SlackSubmission(slack_view(filled))), build(TeamsSubmission(teams_data(filled)))


def both_refuse(build: Callable[[Any], object], filled: Filled) -> tuple[InvalidInput, ...]:
    errors = []
    for form in (SlackSubmission(slack_view(filled)), TeamsSubmission(teams_data(filled))):
        with pytest.raises(InvalidInput) as caught:
            build(form)
        errors.append(caught.value)
    return tuple(errors)


DECLARE: Filled = {
    FormField.SERVICE: "Blackboard",
    FormField.SUMMARY: "Students cannot log in",
    FormField.SEVERITY: "sev2",
    FormField.STATUS: "identified",
    FormField.USERS_SEE: "An error page",
    FormField.DOING: "Restarting the servers",
    FormField.NEXT_UPDATE: "30 min",
    FormField.CHANNELS: ["x", "mastodon", "x"],
}


def test_a_declaration_reads_the_same_on_slack_and_teams(config: CrierConfig) -> None:
    slack, teams = both(lambda form: forms.declare_request(form, config), DECLARE)

    assert (
        slack
        == teams
        == DeclareRequest(
            service="Blackboard",
            summary="Students cannot log in",
            severity=Severity.SEV2,
            status=IncidentStatus.IDENTIFIED,
            what_users_see="An error page",
            what_we_are_doing="Restarting the servers",
            next_update_minutes=30,
            channels=(Network.X, Network.MASTODON),
        )
    )


def test_a_bare_declaration_takes_the_defaults_on_both(config: CrierConfig) -> None:
    filled: Filled = {FormField.SERVICE: "Email", FormField.SUMMARY: "Down"}

    slack, teams = both(lambda form: forms.declare_request(form, config), filled)

    assert slack == teams == DeclareRequest(service="Email", summary="Down")


def test_update_and_resolve_read_the_same_on_both(config: CrierConfig) -> None:
    update: Filled = {FormField.USERS_SEE: "Slow pages", FormField.NEXT_UPDATE: "45"}
    resolve: Filled = {FormField.WHAT_HAPPENED: "A disk filled", FormField.STILL_TROUBLE: "Call"}

    assert (
        both(lambda form: forms.update_request(form, config), update)
        == (UpdateRequest(IncidentStatus.IDENTIFIED, "Slow pages", "", 45),) * 2
    )
    assert both(forms.resolve_request, resolve) == (ResolveRequest("A disk filled", "Call"),) * 2


def test_an_update_may_change_severity_and_channels_and_an_all_clear_be_a_false_alarm(
    config: CrierConfig,
) -> None:
    update: Filled = {
        FormField.SEVERITY: "sev1",
        FormField.CHANNELS: ["x", "mastodon"],
    }
    assert (
        both(lambda form: forms.update_request(form, config), update)
        == (
            UpdateRequest(
                IncidentStatus.IDENTIFIED,
                severity=Severity.SEV1,
                channels=(Network.X, Network.MASTODON),
            ),
        )
        * 2
    )
    false_alarm: Filled = {FormField.FALSE_ALARM: ["yes"]}
    assert both(forms.resolve_request, false_alarm) == (ResolveRequest(false_alarm=True),) * 2


def test_other_service_is_declared_by_its_free_name(config: CrierConfig) -> None:
    other: Filled = DECLARE | {FormField.SERVICE: forms.OTHER, FormField.OTHER_SERVICE: "Zoom"}
    for declared in both(lambda form: forms.declare_request(form, config), other):
        assert isinstance(declared, DeclareRequest)
        assert declared.service == "Zoom" and declared.unlisted
    (unnamed, _) = both_refuse(
        lambda form: forms.declare_request(form, config), DECLARE | {FormField.SERVICE: forms.OTHER}
    )
    assert unnamed.fields == {"other_service": "Name the service (it is not in the catalog)."}


def test_an_edit_keeps_one_text_a_channel_on_both() -> None:
    filled: Filled = {"text_x": "Short", "text_mastodon": "Longer", "text_myspace": "No", "x": "?"}

    assert (
        both(forms.edit_request, filled)
        == (EditRequest({Network.X: "Short", Network.MASTODON: "Longer"}),) * 2
    )


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({FormField.SERVICE: ""}, {"service": "Pick a service."}),
        ({FormField.STATUS: "on fire"}, {"status": "Pick a status."}),
        ({FormField.CHANNELS: ["myspace"]}, {"channels": "Unknown channel."}),
        ({FormField.CHANNELS: ["linkedin"]}, {"channels": "Only enabled channels can be used."}),
        (
            {FormField.NEXT_UPDATE: "soon"},
            {"next_update_minutes": "A whole number of minutes, like 30."},
        ),
        ({FormField.NEXT_UPDATE: "2"}, {"next_update_minutes": "Between 5 and 1440 minutes."}),
    ],
)
def test_bad_input_gets_the_same_field_errors_on_both(
    config: CrierConfig, change: Filled, fields: dict[str, str]
) -> None:
    slack, teams = both_refuse(lambda form: forms.declare_request(form, config), DECLARE | change)

    assert slack.fields == teams.fields == fields
    assert str(slack) == str(teams)


def test_the_slack_modal_shows_the_core_error_on_its_block() -> None:
    (error, _) = both_refuse(
        lambda form: forms.update_request(form, make_config()), {FormField.STATUS: "on fire"}
    )

    errors = field_errors(error, block_ids=[slack_ids.Field.USERS_SEE, "status"])

    assert errors == {"status": "Pick a status."}


def test_the_listeners_and_card_actions_still_find_the_builders() -> None:
    for module in (slack_listeners.forms, teams_actions):
        assert module.declare_request is forms.declare_request
        assert module.update_request is forms.update_request
        assert module.resolve_request is forms.resolve_request
        assert module.edit_request is forms.edit_request
