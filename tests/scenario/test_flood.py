"""Story: one person (or a stuck script) sends /outage again and again. Crier stops them at the
per-person limit with a clear message; everyone else's declarations go on, and everything it
acknowledged is drafted: nobody is told "very busy"."""

from __future__ import annotations

from sqlmodel import func, select

from bot.incidents.pace import DeclarationPace
from bot.storage.models import Incident
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.scenario.harness import SlackHarness


async def count_incidents(slack: SlackHarness) -> int:
    with slack.crier.core.store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(Incident)).one())


async def test_one_person_is_stopped_at_the_limit_and_the_others_go_on(
    slack: SlackHarness,
) -> None:
    limit = 5  # the default (the harness allows the stories more)
    core = slack.crier.core
    core.pace = DeclarationPace(most=limit, clock=core.clock)
    for n in range(limit):
        reply = await slack.command_reply(f"VPN: cannot connect {n}", user=ANALYST)
        assert reply == "Drafting the posts…"
    refused = await slack.command_reply("VPN: cannot connect again", user=ANALYST)
    assert f"declared {limit} incidents in the last minute" in refused
    assert "not saved" in refused and "very busy" not in refused
    other = await slack.command_reply("Email: outlook is down", user=APPROVER)
    assert other == "Drafting the posts…"

    await slack.settle()
    assert await count_incidents(slack) == limit + 1  # every acknowledged one, and no more
    assert len(slack.workspace.messages(COMMS)) == limit + 1  # each incident's thread
