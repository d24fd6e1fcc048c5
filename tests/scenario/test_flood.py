"""Story: a flood of requests. Crier keeps answering at once; what it cannot take on it says so
(nothing saved, try again), and an approval still goes through, ahead of new declarations."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.models import Incident, OutboxPost
from tests.backlog import flooded
from tests.conftest import ANALYST, APPROVER
from tests.scenario.harness import SlackHarness


async def test_a_full_backlog_turns_new_outages_away_but_not_approvals(slack: SlackHarness) -> None:
    await slack.command("Email: outlook is down", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.settle()
    draft = slack.thread()[0]

    core = slack.crier.core
    async with flooded(core):
        reply = await slack.command_reply("VPN: cannot connect", user=ANALYST)
        assert "very busy" in reply and "not saved" in reply
        status, _ = await slack.click(draft, "draft_approve", user=APPROVER)
        assert status == 200  # acked at once; the approval waits for its turn, it is not refused
        await asyncio.sleep(0.2)
        with core.store.transaction() as session:
            assert session.exec(select(OutboxPost)).all() == []  # still waiting

    await slack.workspace.wait_for("chat.postMessage", count=3)  # the outcome reply
    await slack.settle()
    with core.store.transaction() as session:
        assert len(session.exec(select(Incident)).all()) == 1  # the refused one was not saved
        assert len(session.exec(select(OutboxPost)).all()) == 4  # Email's four channels
