"""Story: the Tech tips series across the night the clocks go forward (New York, Sunday 8 March
2026). Drafted on Thursday, the batch says Friday's tip goes out at 10:00 AM EST and Monday's
at 10:00 AM EDT; approved in Slack, each goes out at 10:00 on the wall clock — 15:00 UTC on
Friday, 14:00 UTC on Monday — not an hour early or late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.scheduling.calendar import ensure_series_drafting
from tests.clock import FakeClock
from tests.conftest import APPROVER
from tests.scenario.conftest import tick
from tests.scenario.harness import SlackHarness, as_text
from tests.scenario.test_calendar_series_in_slack import (  # noqa: F401 (config: a fixture)
    BANK,
    batch_messages,
    config,
    published,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))  # Thursday, 7:00 AM EST


async def until(slack: SlackHarness, clock: FakeClock, at: datetime) -> None:
    await tick(slack, clock, seconds=(at - clock.now()).total_seconds())
    await slack.settle()


async def test_tips_go_out_at_ten_on_the_wall_clock_across_the_spring_change(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    with slack.crier.core.store.transaction() as session:
        ensure_series_drafting(session, config=slack.crier.core.config, now=clock.now())
    await tick(slack, clock, seconds=0)
    await slack.workspace.wait_for("chat.postMessage", count=1)
    [batch] = batch_messages(slack)
    shown = as_text(batch)
    assert "Fri 6 Mar, 10:00 AM EST" in shown
    assert "Mon 9 Mar, 10:00 AM EDT" in shown and "Fri 13 Mar, 10:00 AM EDT" in shown
    await slack.click(batch, "calendar_batch_approve_all", user=APPROVER)
    await slack.workspace.wait_for("chat.update")

    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 10:00 EST
    await until(slack, clock, friday - timedelta(seconds=1))
    assert published(slack) == set()
    await until(slack, clock, friday)
    assert published(slack) == {BANK[0]}

    monday = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # 10:00 EDT: an hour earlier in UTC
    await until(slack, clock, monday - timedelta(seconds=1))
    assert published(slack) == {BANK[0]}
    await until(slack, clock, monday)
    assert published(slack) == {BANK[0], BANK[1]}
