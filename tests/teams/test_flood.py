"""A flood in Teams: a new outage is turned away with a clear answer; an approval waits its turn."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.models import Incident, OutboxPost
from tests.backlog import flooded
from tests.teams.harness import ANALYST, APPROVER, TeamsHarness, texts


async def test_a_full_backlog_turns_an_outage_away_and_lets_an_approval_wait(
    teams: TeamsHarness,
) -> None:
    assert await teams.say("outage Blackboard: students cannot log in", user=ANALYST) == 201
    await teams.connector.wait_for_posts(2)
    await teams.settle()
    draft = teams.draft_ids()[0]

    core = teams.crier.core
    async with flooded(core):
        before = len(teams.connector.posts())
        assert await teams.say("outage VPN: cannot connect", user=ANALYST) == 201
        posts = await teams.connector.wait_for_posts(before + 1)
        assert "very busy" in posts[-1].activity["text"]
        approving = asyncio.create_task(teams.click(draft, "Approve & publish", user=APPROVER))
        await asyncio.sleep(0.2)
        assert not approving.done()  # waiting for its turn, not refused
    assert "Approved by" in texts(await approving)
    await teams.settle()
    with core.store.transaction() as session:
        assert len(session.exec(select(Incident)).all()) == 1
        assert session.exec(select(OutboxPost)).all()
