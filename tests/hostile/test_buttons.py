"""Property: whatever a button click carries, Crier answers 200, tells the person, writes
nothing half-way and logs no unhandled error.

One app serves every example: the fixtures start it once per test (hence the suppressed
function-scoped-fixture health check) and pytest-asyncio runs each example on the same event
loop. Examples share the database on purpose: clicks on drafts that earlier examples approved,
rejected or edited are part of what is tested, and the invariants hold whatever came before.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from handlers.slack.common import actor_of
from handlers.slack.ids import Action
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS, OUTSIDER
from tests.fakes import slack_requests as req
from tests.heard_rows import PINGING, heard_rows
from tests.hostile.checks import PROPERTY, Mark, check_sent, check_whole, errors_logged, quiesce
from tests.scenario.harness import SlackHarness

# Crier's action ids: buttons that may appear several times in a message carry an index.
INDEXED = {Action.SNOOZE, Action.RETRY, Action.CALENDAR_POST, Action.CALENDAR_SKIP}
INDEXED.add(Action.MAINTENANCE_EXTEND)  # by its minutes: maintenance_extend_60
INDEXED |= {a for a in Action if a.name == "CONFIRM"}  # *It is up*, on a delivery in doubt
HANDLED = [a.value for a in Action if a not in INDEXED and a != Action.OPEN_LINK] + [
    f"{a.value}_{n}" for a in INDEXED for n in (0, 7)
]
ACTION_IDS = HANDLED + [a.value for a in INDEXED] + [Action.OPEN_LINK.value]
ID_VALUES = ["1", "2", "3", "0", "-1", "999999", str(2**31), str(2**63), "9" * 40, "٣", "²"]
JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.just({}),
    st.booleans(),
)
# Parts of the payload a hostile or broken sender might drop or replace.
PATHS = [
    ("user",),
    ("user", "id"),
    ("container",),
    ("container", "channel_id"),
    ("channel",),
    ("actions",),
    ("actions", 0),
    ("actions", 0, "value"),
    ("actions", 0, "action_id"),
    ("trigger_id",),
    ("response_url",),
    ("message",),
    ("type",),
]

values = st.one_of(
    st.sampled_from(ID_VALUES),
    st.builds(lambda job, minutes: f"{job}:{minutes}", st.sampled_from(ID_VALUES), st.integers()),
    st.text(max_size=40),
    st.text(min_size=2000, max_size=2500),
)
action_ids = st.one_of(st.sampled_from(ACTION_IDS), st.text(max_size=30))
clickers = st.sampled_from([ANALYST, APPROVER, APPROVER_2, OUTSIDER])
damage = st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(st.just(...), JUNK)), max_size=3)


def damaged(payload: dict[str, Any], changes: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    """The payload with parts removed (``...``) or replaced by junk."""
    payload = copy.deepcopy(payload)
    for path, shared_junk in changes:
        # A copy each time: junk put in twice, then written into, must not contain itself.
        junk = copy.deepcopy(shared_junk)
        node: Any = payload
        for key in path[:-1]:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        else:
            last = path[-1]
            if isinstance(node, dict) and junk is ...:
                node.pop(last, None)
            elif isinstance(node, list) and isinstance(last, int) and last < len(node):
                if junk is ...:
                    node.pop(last)
                else:
                    node[last] = junk
            elif isinstance(node, dict):
                node[last] = junk
    return payload


@pytest.fixture
async def declared(slack: SlackHarness) -> SlackHarness:
    """Two incidents with pending drafts (posts 1 and 2), a reply heard to the first (1) and a
    public answer to it waiting for approval (1), for the clicks to land on."""
    for text in ("Email: outlook is down", "VPN: cannot connect"):
        await slack.command(text, user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=4)
    core = slack.crier.core
    (heard,) = heard_rows(core.store, [PINGING], incident_id=1)
    await core.answers.propose(actor_of({"id": ANALYST}), heard.id, "Only Outlook is down.")
    await slack.settle()
    return slack


@PROPERTY
@given(action_id=action_ids, value=values, user=clickers, changes=damage)
# Found by a run on 2026-12-01: an empty trigger_id passed the guard and broke views.open.
@example(
    action_id=Action.POST_UPDATE.value, value="1", user=ANALYST, changes=[(("trigger_id",), "")]
)
# Answering: the form on the reply heard, and the answer's own buttons on the waiting answer.
@example(action_id=Action.HEARD_REPLY.value, value="1", user=OUTSIDER, changes=[])
@example(action_id=Action.ANSWER_EDIT.value, value="1", user=APPROVER, changes=[])
@example(action_id=Action.ANSWER_REJECT.value, value="1", user=ANALYST, changes=[])
@example(action_id=Action.ANSWER_APPROVE.value, value="1", user=ANALYST, changes=[])
@example(action_id=Action.ANSWER_APPROVE.value, value="1", user=APPROVER, changes=[])
async def test_any_click_is_answered_and_leaves_the_database_whole(
    declared: SlackHarness,
    caplog: pytest.LogCaptureFixture,
    action_id: str,
    value: str,
    user: str,
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    slack = declared
    caplog.clear()
    caplog.set_level(logging.INFO)
    root = slack.root()
    body = req.block_action(
        action_id=action_id,
        value=value,
        block_id="post_1",
        user_id=user,
        channel_id=COMMS,
        message_ts=root["ts"],
        thread_ts=root["ts"],
        response_url=slack.workspace.new_response_url(),
    )
    payload = damaged(req.interaction_payload(body), changes)
    mark = Mark.of(slack.workspace)

    status, answer = await slack.post(urlencode({"payload": json.dumps(payload)}))
    await quiesce(slack)

    intact = not changes
    known = action_id in HANDLED
    assert status == 200 if (intact and known) else status < 500, (status, answer)
    assert not errors_logged(caplog.records)
    check_sent(slack.workspace, mark)
    check_whole(slack.crier.core.store)
    if intact and known:  # the person sees something: an ephemeral, a modal, the draft changing
        assert slack.workspace.calls[mark.calls :], "the click went unanswered"
