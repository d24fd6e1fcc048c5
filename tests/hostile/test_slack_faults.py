"""Slack's Web API answering 429 and 5xx: Crier's messages to the thread are retried, not lost.

Slack's side alone is at fault here, so these run on SQLite only (the database plays no part).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.slack.ids import Action
from tests.conftest import ANALYST, APPROVER
from tests.hostile.checks import eventually, quiesce
from tests.scenario.harness import SlackHarness, as_text


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crier.db'}"


def refused(slack: SlackHarness, method: str) -> list[int]:
    return [c.status for c in slack.workspace.calls_to(method) if not c.ok]


async def test_the_thread_survives_rate_limits_and_server_errors(slack: SlackHarness) -> None:
    workspace = slack.workspace
    # Three refusals in a row, of both kinds, before each kind of message gets through (the
    # client's retry budget: 5 for a 429 with Retry-After, 3 for a 5xx, counted together).
    workspace.server_error_next("chat.postMessage", status=502)
    workspace.rate_limit_next("chat.postMessage", retry_after=0, times=2)
    await slack.command("Email: outlook is down", user=ANALYST)
    await workspace.wait_for("chat.postMessage", count=2, ok=True, timeout=15)
    assert refused(slack, "chat.postMessage") == [502, 429, 429]
    assert "Email: outlook is down" in json.dumps(slack.root())
    assert Action.APPROVE in json.dumps(slack.thread()[0])

    workspace.server_error_next("chat.update", status=500)
    workspace.rate_limit_next("chat.update", retry_after=0, times=2)
    workspace.server_error_next("chat.postMessage", status=504)
    workspace.rate_limit_next("chat.postMessage", retry_after=0)
    await slack.click(slack.thread()[0], Action.APPROVE, user=APPROVER)
    await eventually(
        lambda: any("is out on" in m.get("text", "") for m in slack.thread()), "the outcome reply"
    )
    await quiesce(slack)

    assert refused(slack, "chat.update") == [500, 429, 429]
    assert refused(slack, "chat.postMessage")[-2:] == [504, 429]
    draft = slack.thread()[0]
    assert "Approved by <@U0APPROVER1>" in json.dumps(draft)  # every update arrived
    assert "✅ sent" in as_text(draft) and "Publishing…" not in as_text(draft)
    assert "is out on" in slack.thread()[-1]["text"]  # and the outcome reply was posted once
    assert sum("is out on" in m.get("text", "") for m in slack.thread()) == 1
