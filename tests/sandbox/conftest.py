"""A started sandbox: the simulated workspace, Crier and the page, on free ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest

from bot.config import STARTER_CONFIG, load_config
from bot.settings import Settings
from handlers.sandbox.app import Sandbox

T = TypeVar("T")


async def start_sandbox(database_url: str) -> Sandbox:
    sandbox = Sandbox(
        config=load_config(STARTER_CONFIG),
        database_url=database_url,
        port=0,
        settings=Settings(),
    )
    await sandbox.start()
    return sandbox


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """The sandbox as ``crier sandbox`` runs it, on SQLite in the test's folder."""
    started = await start_sandbox(f"sqlite:///{tmp_path / 'crier-sandbox.db'}")
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline per wait reads best in tests
) -> T:
    """Poll ``check`` until it returns something truthy, as the page does."""
    async with asyncio.timeout(timeout):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.05)
