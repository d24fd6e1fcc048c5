"""``crier maintenance list`` and ``export``: what is planned, and one's record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.config import STARTER_CONFIG, CrierConfig, load_config
from bot.core import Core, build_core
from bot.maintenance.window import local_window
from bot.settings import Settings
from bot.storage.store import Store
from handlers.main import main
from tests.clock import FakeClock
from tests.unit.maintenance.conftest import CHECKER, PLANNER, request, run_due


@pytest.fixture
def starter() -> CrierConfig:
    return load_config(STARTER_CONFIG)


@pytest.fixture
async def today(store: Store, starter: CrierConfig) -> AsyncIterator[Core]:
    """A core on today's date: the CLI lists by the real clock."""
    core = build_core(
        settings=Settings(), config=starter, store=store, clock=FakeClock(datetime.now(UTC))
    )
    yield core
    await core.close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("CRIER_DATABASE_URL", database_url)
    monkeypatch.setenv("CRIER_CONFIG", str(STARTER_CONFIG))
    monkeypatch.chdir(tmp_path)
    return database_url


async def test_list_and_export(
    today: Core, starter: CrierConfig, env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = starter.organisation.zone
    day = (datetime.now(zone) + timedelta(days=10)).date()
    window = local_window(day, time(2), day, time(6), zone)
    planned = await today.maintenance.propose(PLANNER, request(window=window, remind_before=None))
    await today.maintenance.approve(CHECKER, planned.id)
    await run_due(today, window.starts_at - timedelta(days=3))

    assert main(["maintenance", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"#{planned.id} · {day:%a %d %b} 02:00 to {day:%a %d %b} 06:00" in listing
    assert "Blackboard: upgrading to the new version · scheduled" in listing

    assert main(["maintenance", "export", str(planned.id)]) == 0
    record = capsys.readouterr().out
    assert record.startswith(f"# Maintenance #{planned.id}: Blackboard — upgrading")
    assert "slack:U0ANALYST1 propose" in record and "slack:U0APPROVER1 approve" in record
    assert "### The announcement on X: sent" in record
    assert "> Planned maintenance · 2:00 AM" in record
    assert main(["maintenance", "export", "99"]) == 1
