"""Property: whatever follows `/outage`, the person gets a clear answer, Crier answers 200, and
an incident is written only with its draft — exactly when Crier said it is drafting.

Same pattern as ``test_buttons``: one app for every example, examples share the database.
"""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from bot.storage.models import Incident
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.fakes import slack_requests as req
from tests.hostile.checks import (
    PROPERTY,
    Mark,
    check_sent,
    check_whole,
    count,
    errors_logged,
    quiesce,
    told_since,
)
from tests.scenario.harness import SlackHarness

# Pieces people (and attackers) type: Slack markup, mentions, colons, services real and not,
# control characters, right-to-left marks, template syntax.
FRAGMENTS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0OUTSIDER>",
    "<!subteam^S0HOSTILE>",
    "<http://evil.example|click here>",
    "*bold*",
    "_x_",
    "~gone~",
    "`code`",
    "```",
    "&amp;",
    "&lt;",
    "&",
    "<",
    ">",
    ":",
    "::",
    " : ",
    ":wave:",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "\r\n",
    "\t",
    "Email",
    "email",
    "VPN",
    "Wi-Fi",
    "eduroam",
    "Blakboard",
    "Nonexistent Service",
    "list",
    "help",
    "calendar",
    "{{ 7*7 }}",
    "{% raw %}",
    "%s%n",
    "' OR 1=1 --",
    "💥",
    "ǅ",
]
command_texts = st.one_of(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=8).map("".join),
    st.text(max_size=200),
    st.builds(
        lambda service, summary: f"{service}: {summary}",
        st.sampled_from(["Email", "VPN", "bb", "Wi-Fi", "Nope"]),
        st.text(min_size=1, max_size=300),
    ),
    st.integers(140, 20_000).map(lambda n: "Email: " + "a" * n),
)


@PROPERTY
@given(text=command_texts, user=st.sampled_from([ANALYST, APPROVER]))
async def test_any_command_text_gets_a_clear_answer_and_writes_all_or_nothing(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, text: str, user: str
) -> None:
    caplog.clear()
    caplog.set_level(logging.WARNING)
    before = count(slack.crier.core.store, Incident)
    mark = Mark.of(slack.workspace)
    body = req.slash_command(
        "/outage",
        text,
        user_id=user,
        channel_id=COMMS,
        response_url=slack.workspace.new_response_url(),
    )

    status, answer = await slack.post(body)
    await quiesce(slack)

    assert status == 200, answer
    ack = json.loads(answer) if answer.strip() else {}
    said = [str(ack.get("text", "")), *told_since(slack.workspace, mark, user)]
    opened = [c for c in slack.workspace.calls[mark.calls :] if c.method == "views.open"]
    assert any(s.strip() for s in said) or opened, "the person got no answer"
    assert not errors_logged(caplog.records)
    check_sent(slack.workspace, mark, ack)
    check_whole(slack.crier.core.store)
    drafting = ack.get("text") == "Drafting the posts…"
    event("drafted" if drafting else "answered")
    assert count(slack.crier.core.store, Incident) - before == (1 if drafting else 0)
