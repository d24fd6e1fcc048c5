"""Notices that reach the incident's conversation on their own: after a restart, reminders, and
when the Bot Connector throttles or fails for a moment."""

from __future__ import annotations

import json

import aiohttp

from bot.config import CrierConfig
from bot.storage.models import ScheduledPost
from bot.storage.store import Store
from bot.views import Reminder, ReminderAction
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import ANALYST, APPROVER, THREAD, TeamsHarness, start_teams, texts


async def declare(teams: TeamsHarness) -> str:
    assert await teams.say("outage Blackboard: students cannot log in", user=ANALYST) == 202
    await teams.connector.wait_for_posts(2)
    await teams.settle()
    return teams.draft_ids()[0]


async def test_a_restarted_crier_still_writes_to_the_conversation(
    store: Store, config: CrierConfig, connector: FakeBotConnector
) -> None:
    async with aiohttp.ClientSession() as http:
        first, runner = await start_teams(
            store=store, config=config, connector=connector, http=http
        )
        draft = await declare(first)
        await runner.cleanup()  # Crier stops; everything it knew in memory is gone

        second, runner = await start_teams(
            store=store, config=config, connector=connector, http=http
        )
        try:
            answer = await second.click(draft, "Approve & publish", user=APPROVER)
            assert "Approved by" in texts(answer) and "Alex Approver" in texts(answer)
            # The outcome and the card updates come from the reference kept in the database.
            outcome = (await connector.wait_for_posts(3))[2]
            await second.settle()
            assert outcome.conversation_id == THREAD
            assert "is out on" in texts(outcome.cards[0])
            assert texts(connector.card(draft)).count("✅ sent") == 6  # five networks, the site
            second.cards_are_valid()
        finally:
            await runner.cleanup()


async def test_a_reminder_names_its_people_and_offers_its_buttons(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await declare(teams)
    reminder = Reminder(
        kind="next_update",
        text="The next public update is promised by 3:15 PM. Time to draft it?",
        mention_users=("teams:" + ANALYST[2],),
        mention_approvers=True,
        actions=(
            ReminderAction("post_update", "Post update", "1"),
            ReminderAction("snooze", "Snooze 15 min", "7:15"),
        ),
    )
    await teams.crier.core.remind(1, reminder)
    notice = connector.posts()[-1]
    assert notice.conversation_id == THREAD
    assert "Time to draft it?" in texts(notice.cards[0])
    mentioned = [e["mentioned"] for e in notice.activity["entities"]]
    assert mentioned[0] == {"id": ANALYST[0], "name": "Ana Lyst"}  # seen: by Teams id
    assert {m["id"] for m in mentioned[1:]} == set(teams.crier.core.config.approvals.teams_users)
    assert notice.activity["text"].startswith("<at>Ana Lyst</at> ")

    form = await teams.click(notice.id, "Post update", user=ANALYST)
    assert "Post an update" in texts(form)


async def test_throttling_and_passing_failures_are_retried(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    connector.fail_next(429, retry_after=0)
    connector.fail_next(500)
    draft = await declare(teams)
    failed = [c.status for c in connector.calls if c.status >= 400]
    assert failed == [429, 500]
    assert "Approve & publish" in texts(connector.card(draft))

    connector.fail_next(503, retry_after=0)  # the card update after approval
    await teams.click(draft, "Approve & publish", user=APPROVER)
    await connector.wait_for_posts(3)
    await teams.settle()
    assert texts(connector.card(draft)).count("✅ sent") == 6  # five networks, the site


async def test_a_refused_card_is_reported_not_lost(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    connector.fail_next(403, times=1)  # Teams refuses the incident's card: no retry helps
    assert await teams.say("outage Blackboard: students cannot log in", user=ANALYST) == 202
    told = await connector.wait_for_posts(1)
    assert "Incident #1 is saved, but Teams refused its card" in json.dumps(told[0].activity)
    assert [c.status for c in connector.calls].count(403) == 1


async def test_posts_held_by_the_crisis_pause_are_released_from_the_notice(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    draft = await declare(teams)
    form = await teams.click(draft, "Reject", user=APPROVER)
    await teams.click(draft, "Reject", user=APPROVER, inputs={"reason": "No"}, card=form)
    await teams.settle()  # the rejection's reply to the requester is posted first
    before = len(connector.posts())
    assert await teams.say("resolve", user=ANALYST) == 202
    (resolve_form,) = (await connector.wait_for_posts(before + 1))[before:]
    await teams.click(resolve_form.id, "Draft all-clear", user=ANALYST)  # closes: nothing public
    core = teams.crier.core
    with core.store.transaction() as session:
        for text in ("Tip: back up your files", "Tip: use the VPN"):
            session.add(
                ScheduledPost(
                    text=text,
                    channels=["x"],
                    due_at=core.clock.now(),
                    state="held",
                    created_by="teams:" + ANALYST[2],
                    held_by=1,
                )
            )
    held = Reminder(
        kind="calendar_held",
        text="While this incident was open, 2 scheduled post(s) were held.",
        actions=(
            ReminderAction("calendar_post", "Post #1 now", "1"),
            ReminderAction("calendar_skip", "Skip #1", "1"),
            ReminderAction("calendar_post", "Post #2 now", "2"),
            ReminderAction("calendar_skip", "Skip #2", "2"),
        ),
    )
    await core.settle()  # the closing's own updates first, so the notice is the last post
    await core.remind(1, held)
    notice = next(
        p for p in reversed(connector.posts()) if p.cards and "were held" in texts(p.cards[0])
    )
    answer = await teams.invoke(notice.id, "Post #1 now", user=APPROVER)
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    assert "Scheduled post #1 is being published" in answer["value"]
    assert "Scheduled post #1 is being published" in texts(connector.posts()[-1].cards[0])
    assert "Skip #2" in texts(connector.card(notice.id))  # the others' buttons stay
    again = await teams.invoke(notice.id, "Skip #1", user=APPROVER)
    assert "already" in again["value"]
    skipped = await teams.invoke(notice.id, "Skip #2", user=APPROVER)
    assert "Scheduled post #2 was skipped" in skipped["value"]
