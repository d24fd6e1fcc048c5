"""Property: whatever a modal submission holds — any strings, missing or mistyped inputs, huge
values, broken private_metadata — Crier answers 200 with field errors or closes the form, and
writes all of a use case or nothing.

Same pattern as ``test_buttons``: one app for every example, examples share the database.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from bot.config import Network, Severity
from bot.storage.models import Incident, IncidentStatus, Post
from handlers.slack import answers, modals
from handlers.slack.answers import answer_modal
from handlers.slack.calendar import calendar_modal
from handlers.slack.common import OOPS, actor_of, input_blocks
from handlers.slack.ids import INPUT_ACTION, Field, View
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.fakes import slack_requests as req
from tests.heard_rows import PINGING, heard_rows
from tests.hostile.checks import (
    PROPERTY,
    Mark,
    check_sent,
    check_whole,
    count,
    errors_logged,
    quiesce,
)
from tests.scenario.harness import SlackHarness, check_view

JsonDict = dict[str, Any]
JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
    st.booleans(),
    st.just({}),
)
IDS = st.one_of(
    st.sampled_from([1, 2, 3, 0, -1, 999_999, 2**31, 2**63, True]),
    st.sampled_from(["1", None, 1.5, [], {}]),
)
OPTION_VALUES = {
    Field.SERVICE: ["Email", "VPN", "Nonexistent"],
    Field.SEVERITY: [s.value for s in Severity] + ["sev9"],
    Field.STATUS: [s.value for s in IncidentStatus] + ["on fire"],
}
texts = st.one_of(st.text(max_size=60), st.text(min_size=900, max_size=1200), st.just("30"))
huge = st.integers(3_000, 60_000).map(lambda n: "x" * n)


GOOD = {
    Field.SERVICE: req.static_select("Email"),
    Field.SEVERITY: req.static_select("sev2"),
    Field.STATUS: req.static_select("identified"),
    Field.NEXT_UPDATE: req.text_input("45"),
    Field.CHANNELS: {"type": "checkboxes", "selected_options": []},
    Field.CALENDAR_DATE: {"type": "datepicker", "selected_date": "2031-02-03"},
    Field.CALENDAR_TIME: {"type": "timepicker", "selected_time": "10:00"},
}


def good_state_for(block_id: str) -> st.SearchStrategy[Any]:
    """What a person filling in the form properly would send, in any words."""
    if block_id in GOOD:
        return st.just({INPUT_ACTION: GOOD[block_id]})
    words = st.text(st.characters(codec="utf-8"), min_size=1, max_size=80)
    return st.builds(req.text_input, words).map(lambda s: {INPUT_ACTION: s})


def state_for(block_id: str) -> st.SearchStrategy[Any]:
    """A plausible state for an input (of the right kind or not), or junk."""
    plausible: st.SearchStrategy[Any]
    if block_id in OPTION_VALUES:
        plausible = st.builds(
            req.static_select, st.one_of(st.sampled_from(OPTION_VALUES[block_id]), st.text())
        )
    elif block_id == Field.CHANNELS:
        plausible = st.lists(
            st.one_of(st.sampled_from([n.value for n in Network]), st.text(max_size=5)),
            max_size=3,
        ).map(lambda vs: {"type": "checkboxes", "selected_options": [{"value": v} for v in vs]})
    elif block_id == Field.CALENDAR_DATE:
        plausible = st.sampled_from(["2031-02-03", "2031-02-30", "1999-01-01", "x"]).map(
            lambda d: {"type": "datepicker", "selected_date": d}
        )
    elif block_id == Field.CALENDAR_TIME:
        plausible = st.sampled_from(["10:00", "25:61", ""]).map(
            lambda t: {"type": "timepicker", "selected_time": t}
        )
    else:
        plausible = st.builds(req.text_input, st.one_of(texts, huge, st.none()))
    wrapped = plausible.map(lambda s: {INPUT_ACTION: s})
    return st.one_of(wrapped, wrapped, JUNK, JUNK.map(lambda j: {INPUT_ACTION: j}))


@st.composite
def submissions(draw: st.DrawFn, views: list[JsonDict]) -> JsonDict:
    view = copy.deepcopy(draw(st.sampled_from(views)))
    values: JsonDict = {}
    filled_in = draw(st.booleans())  # as a person would, or anyhow
    for block_id in input_blocks(view):
        if filled_in:
            values[block_id] = draw(good_state_for(block_id))
        elif draw(st.booleans()) or block_id in (Field.SUMMARY, Field.DOING, Field.REASON):
            values[block_id] = draw(state_for(block_id))
    if draw(st.integers(0, 9)) == 0:
        values[draw(st.text(max_size=12))] = draw(JUNK)
    view["state"] = {"values": values}
    metadata = draw(st.integers(0, 5))
    if metadata == 1:
        key = "post_id" if "post_id" in view.get("private_metadata", "") else "incident_id"
        view["private_metadata"] = json.dumps({key: draw(IDS), "channel_id": COMMS})
    elif metadata == 2:
        view["private_metadata"] = draw(st.one_of(st.text(), st.just("[" * 5000), huge))
    elif metadata == 3:
        view["private_metadata"] = draw(JUNK)
    damage = draw(st.integers(0, 11))
    if damage == 0:
        view["state"] = draw(JUNK)
    elif damage == 1:
        view["blocks"] = draw(JUNK)
    elif damage == 2:
        view["callback_id"] = draw(st.text(max_size=20))
    return view


@pytest.fixture
async def forms(slack: SlackHarness) -> tuple[SlackHarness, list[JsonDict]]:
    """Every form Crier shows, for two incidents with pending drafts."""
    for text in ("Email: outlook is down", "VPN: cannot connect"):
        await slack.command(text, user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=4)
    core, config = slack.crier.core, slack.crier.core.config
    views = [modals.declare_modal(config, channel_id=COMMS)]
    views.append(calendar_modal(config, today=core.clock.now().date()))
    for number in (1, 2):
        incident, post = await core.incident(number), await core.post(number)
        views += [
            modals.update_modal(incident, config, channel_id=COMMS),
            modals.resolve_modal(incident, channel_id=COMMS),
            modals.edit_modal(post, channel_id=COMMS),
            modals.reject_modal(post, channel_id=COMMS),
        ]
    # Answering a reply heard to the first incident's posts: its form, and a waiting answer's.
    (heard,) = heard_rows(core.store, [PINGING], incident_id=1)
    answer = await core.answers.propose(actor_of({"id": ANALYST}), heard.id, "Only Outlook.")
    views += [
        answer_modal(config, heard, channel_id=COMMS),
        answer_modal(config, heard, channel_id=COMMS, editing=answer),
        answers.reject_modal(answer, channel_id=COMMS),
    ]
    return slack, views


@PROPERTY
@given(data=st.data(), user=st.sampled_from([ANALYST, APPROVER]))
async def test_any_submission_gets_field_errors_or_closes_and_writes_all_or_nothing(
    forms: tuple[SlackHarness, list[JsonDict]],
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
    user: str,
) -> None:
    slack, views = forms
    view = data.draw(submissions(views))
    caplog.clear()
    caplog.set_level(logging.WARNING)
    store = slack.crier.core.store
    incidents, posts = count(store, Incident), count(store, Post)
    mark = Mark.of(slack.workspace)
    payload = req.interaction_payload(
        req.view_submission(view=view, values={}, user_id=user)  # values come from view["state"]
    )
    payload["view"]["state"] = view["state"]

    status, answer = await slack.post(urlencode({"payload": json.dumps(payload)}))
    await quiesce(slack)

    handled = isinstance(view.get("callback_id"), str) and view["callback_id"] in set(View)
    assert status == 200 if handled else status < 500, (status, answer)
    reply = json.loads(answer) if answer.strip() else {}
    event(f"{view.get('callback_id')!s:.20}: {'refused' if reply else 'closed'} ({status})")
    assert not errors_logged(caplog.records)
    check_sent(slack.workspace, mark)
    check_whole(store)
    if handled and reply and not input_blocks(view):  # refused, and no input to say it on:
        assert reply.get("response_action") == "update", reply  # the form becomes the message
        check_view(reply["view"])
        assert OOPS not in json.dumps(reply["view"])
        assert (count(store, Incident), count(store, Post)) == (incidents, posts)
    elif handled and reply:  # refused: each error on an input of the form, saying what is wrong
        assert reply.get("response_action") == "errors", reply
        errors = reply["errors"]
        assert errors and all(isinstance(e, str) and e.strip() for e in errors.values())
        assert not any(OOPS in e for e in errors.values()), errors
        assert set(errors) <= set(input_blocks(view)), (errors, input_blocks(view))
        assert (count(store, Incident), count(store, Post)) == (incidents, posts)
    elif handled and view["callback_id"] == View.DECLARE:  # accepted: the incident and its draft
        assert count(store, Incident) == incidents + 1
