"""Story (issue 20), against a fake Mastodon instance over HTTP with Crier's real publisher and
reading side: a surge of angry mentions of eduroam reaches the comms channel as one alert with
*Declare outage*; the analyst declares from it, an approver publishes; people reply to the post
and their replies reach the incident's thread once; *Reply* beside one drafts an answer, which
another approver approves; it goes out on Mastodon once, as a reply to that person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest

from bot.config import CrierConfig
from bot.storage.store import Store
from handlers.slack.ids import Action
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS
from tests.fakes import slack_requests as req
from tests.fakes.networks.mastodon import FakeMastodon
from tests.fakes.slack import SlackWorkspace
from tests.listening_setup import listening_story, surge_of_mentions
from tests.scenario.conftest import tick
from tests.scenario.harness import SlackHarness, as_text, start_harness
from tests.scenario.test_answer_in_slack import click_reply
from tests.scenario.test_forms_in_slack import checkboxes
from tests.scenario.test_heard_in_slack import plain_texts
from tests.scenario.test_revise_and_resolve import open_from


@pytest.fixture
async def story(
    store: Store, config: CrierConfig, workspace: SlackWorkspace
) -> AsyncIterator[tuple[SlackHarness, FakeMastodon, FakeClock]]:
    start = partial(start_harness, store=store, workspace=workspace)
    async with listening_story(start, config) as story:
        yield story


async def run(slack: SlackHarness, clock: FakeClock, **delta: float) -> None:
    """Move the clock; run the polls, the publishing and the chat updates that came due."""
    await tick(slack, clock, **delta)
    while await slack.crier.core.publishing.run_once():
        pass
    await tick(slack, clock, seconds=0)


async def test_a_surge_becomes_an_incident_whose_replies_are_answered_once(
    story: tuple[SlackHarness, FakeMastodon, FakeClock],
) -> None:
    slack, mastodon, clock = story
    await run(slack, clock)  # the first look: nobody has said anything
    surge_of_mentions(mastodon, clock)
    await run(slack, clock, minutes=3)
    [alert] = [m for m in slack.workspace.messages(COMMS) if "Mentions of Wi-Fi" in as_text(m)]
    assert "14 posts" in plain_texts(alert)
    await run(slack, clock, minutes=3)  # the same surge, a poll later: no second alert
    assert len([m for m in slack.workspace.messages(COMMS) if "Mentions of" in as_text(m)]) == 1

    form = await open_from(slack, alert, Action.SPIKE_DECLARE, user=ANALYST)
    values = {
        "service": req.static_select("Wi-Fi"),
        "summary": req.text_input("eduroam keeps dropping"),
        "channels": checkboxes("mastodon"),
    }
    status, answer = await slack.submit(form, values, user=ANALYST)
    assert (status, answer) == (200, {})
    await run(slack, clock)
    draft = slack.thread()[-1]
    status, _ = await slack.click(draft, "draft_approve", user=APPROVER)
    assert status == 200
    await run(slack, clock)
    [post] = [s for s in mastodon.posted if s["account"]["acct"] == "it"]  # Crier's own
    assert "eduroam keeps dropping" in post["text"]

    asked = mastodon.add_reply(str(post["id"]), "Is the VPN down too?", author="ann")
    await run(slack, clock, minutes=3)
    await run(slack, clock, minutes=3)  # read again: shown once
    heard = [m for m in slack.thread() if "Is the VPN down too?" in plain_texts(m)]
    assert len(heard) == 1

    form = await click_reply(slack, heard[0], user=APPROVER)
    status, saved = await slack.submit(
        form, {"answer": req.text_input("No, only eduroam is down.")}, user=APPROVER
    )
    assert status == 200 and not saved.get("errors"), saved
    await run(slack, clock)
    [waiting] = [m for m in slack.thread() if "Answer to" in plain_texts(m)]
    status, _ = await slack.click(waiting, Action.ANSWER_APPROVE, user=APPROVER_2)
    assert status == 200
    await run(slack, clock)
    await run(slack, clock, minutes=3)
    answers = [s for s in mastodon.posted if s.get("in_reply_to_id") == asked["id"]]
    assert all(a["account"]["acct"] == "it" for a in answers)
    assert [a["text"] for a in answers] == ["No, only eduroam is down."]
    [shown] = [m for m in slack.thread() if "Answer to" in plain_texts(m)]
    assert "Approved by" in as_text(shown) and "Open on Mastodon" in as_text(shown)
