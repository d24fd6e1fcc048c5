"""The routes anyone may call without a signature or a token: ``GET /outbox/{id}``, the status
cards, ``/healthz``. Whatever the path holds: a 404 or an answer, never a 5xx or a traceback.

Found live against ``crier serve`` (issue 14): ``GET /outbox/99999999999999999999999`` was a 500
with a traceback, as the id went to the database whole (SQLite's integers end at 2**63, and
PostgreSQL's integer column at 2**31).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest

from bot.storage.models import OutboxPost
from tests.hostile.checks import quiesce
from tests.scenario.harness import SlackHarness

ODD_IDS = [
    "99999999999999999999999",
    "9223372036854775808",  # 2**63: past SQLite's integers
    "2147483648",  # 2**31: past PostgreSQL's integer column
    "10000000000",  # 10**10
    "-1",
    "-9223372036854775809",
    "0",
    "+1",
    "1_0",
    "0x1",
    "1e3",
    "%D9%A3",  # an Arabic-Indic digit three, which int() reads as 3
    "%201",
    "9" * 5000,
]


@pytest.fixture
def slack(slack_alone: SlackHarness) -> SlackHarness:
    return slack_alone


@pytest.mark.parametrize("entry_id", ODD_IDS, ids=lambda i: i[:24])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_an_odd_outbox_id_is_not_found(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, entry_id: str, method: str
) -> None:
    caplog.set_level(logging.INFO)
    base = urlsplit(slack.url)
    url = f"{base.scheme}://{base.netloc}/outbox/{entry_id}"
    async with slack.http.request(method, url) as answer:
        assert answer.status == 404, (answer.status, await answer.text())
    await quiesce(slack)
    troubles = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not troubles, [r.getMessage() for r in troubles]


async def test_an_outbox_entry_is_shown_by_its_id(slack: SlackHarness) -> None:
    """The other side of the check above: a real id still finds its entry."""
    with slack.crier.core.store.transaction() as session:
        entry = OutboxPost(network="x", text="Email is down <b>", idempotency_key="outbox-route-1")
        session.add(entry)
        session.flush()
        entry_id = entry.id
    base = urlsplit(slack.url)
    async with slack.http.get(f"{base.scheme}://{base.netloc}/outbox/{entry_id}") as answer:
        assert answer.status == 200
        assert "Email is down &lt;b&gt;" in await answer.text()
