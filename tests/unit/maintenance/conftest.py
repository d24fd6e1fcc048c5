"""The maintenance tests' core on a standing clock, the request they plan, and a step of time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.config import CrierConfig, Network
from bot.core import Core, build_core
from bot.maintenance.series import MaintenanceRequest
from bot.maintenance.window import local_window
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import OutboxPost
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER

NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # Sun 1 Mar, 10:00 AM EST
PLANNER, CHECKER = Actor("slack", ANALYST), Actor("slack", APPROVER)
CHANNELS = (Network.X, Network.MASTODON)


@pytest.fixture
async def core(store: Store, config: CrierConfig) -> AsyncIterator[Core]:
    core = build_core(settings=Settings(), config=config, store=store, clock=FakeClock(START))
    yield core
    await core.close()


def request(**changes: object) -> MaintenanceRequest:
    # Sun 8 Mar, 1:00 AM EST to 5:00 AM EDT: the clocks go forward at 2:00 in between.
    window = local_window(date(2026, 3, 8), time(1), date(2026, 3, 8), time(5), NEW_YORK)
    fields: dict[str, object] = {
        "services": ("Blackboard",),
        "title": "upgrading to the new version",
        "what_users_notice": "You cannot sign in to Blackboard.",
        "what_to_do": "Submit assignments early.",
        "window": window,
        "announce_at": None,
        "remind_before": timedelta(hours=1),
        "channels": (*CHANNELS, Network.SITE, Network.STATUSPAGE),
    }
    return MaintenanceRequest(**{**fields, **changes})  # type: ignore[arg-type]


async def run_due(core: Core, at: datetime) -> list[OutboxPost]:
    """Move the clock to ``at``, run what is due, publish; what the outbox got meanwhile."""
    clock = core.clock
    assert isinstance(clock, FakeClock)
    before = await core.store.read(lambda s: len(s.exec(select(OutboxPost)).all()))
    clock.advance(seconds=(at - clock.now()).total_seconds())
    await core.scheduler.run_once()
    await core.publishing.run_once()
    rows = await core.store.read(
        lambda s: list(s.exec(select(OutboxPost).order_by(col(OutboxPost.id))).all())
    )
    return rows[before:]
