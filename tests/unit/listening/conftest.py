"""Shared by the listening tests: one HTTP client (as Crier builds it, redacting nothing) and a
clock the fakes and the sources both read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
import pytest

from bot.config import Network
from bot.listening.heard import Watched
from bot.publishing.http import HttpClient
from bot.redaction import Redactor
from tests.clock import FakeClock


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(redact=Redactor([]), timeout=aiohttp.ClientTimeout(total=5.0))
    yield client
    await client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def seconds(clock: FakeClock) -> Callable[[], float]:
    """The clock as the fakes read it: unix seconds."""
    return lambda: clock.now().timestamp()


def watched(network: Network, external_id: str, at: datetime, url: str | None = None) -> Watched:
    return Watched(
        delivery_id=1, network=network, external_id=external_id, url=url, published_at=at
    )
