"""Slack retrying an event (``X-Slack-Retry-Num``) gets it handled once: @Crier answers a
mention with its help, once, however many times Slack delivers the mention."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import func
from sqlmodel import select

from bot.storage.models import ProcessedEvent
from handlers.slack.help import HELP
from tests.conftest import ANALYST, COMMS
from tests.fakes import slack_requests as req
from tests.hostile.checks import quiesce
from tests.scenario.harness import SECRET, SlackHarness

JSON = "application/json"


def mention(event_id: str, ts: str) -> str:
    """An ``app_mention`` event callback, as Slack's Events API delivers it."""
    return json.dumps(
        {
            "token": req.VERIFICATION_TOKEN,
            "team_id": req.DEFAULT_TEAM_ID,
            "api_app_id": req.DEFAULT_APP_ID,
            "event": {
                "type": "app_mention",
                "user": ANALYST,
                "text": f"<@{req.DEFAULT_BOT_USER_ID}> how does this work?",
                "ts": ts,
                "channel": COMMS,
                "event_ts": ts,
            },
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(float(ts)),
            "authorizations": [
                {"team_id": req.DEFAULT_TEAM_ID, "user_id": req.DEFAULT_BOT_USER_ID, "is_bot": True}
            ],
        }
    )


async def deliver(slack: SlackHarness, body: str, attempt: int) -> int:
    """One delivery of an event; Slack signs each retry afresh, with its own timestamp."""
    retry = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
    status, _ = await req.post_signed(
        slack.http,
        slack.url,
        body,
        secret=SECRET,
        timestamp=int(time.time()) - 10 + attempt,
        content_type=JSON,
        extra_headers=retry if attempt else None,
    )
    return status


def answers(slack: SlackHarness) -> list[dict]:
    return [c.args for c in slack.workspace.calls_to("chat.postMessage", ok=True)]


def processed(slack: SlackHarness) -> int:
    with slack.crier.core.store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(ProcessedEvent)).one())


async def test_an_event_delivered_three_times_is_handled_once(slack: SlackHarness) -> None:
    body = mention("Ev0RETRIED01", "1700000000.000100")
    statuses = [await deliver(slack, body, attempt) for attempt in range(3)]
    await quiesce(slack)
    assert statuses == [200, 200, 200]
    [answer] = answers(slack)
    assert answer["text"] == HELP and answer["thread_ts"] == "1700000000.000100"
    assert processed(slack) == 1


async def test_retries_arriving_together_are_handled_once(slack: SlackHarness) -> None:
    """Two replicas (here: concurrent requests) may get the first delivery and a retry at once."""
    body = mention("Ev0TOGETHER1", "1700000001.000200")
    statuses = await asyncio.gather(*(deliver(slack, body, attempt) for attempt in range(3)))
    await quiesce(slack)
    assert list(statuses) == [200, 200, 200]
    assert len(answers(slack)) == 1
    other = mention("Ev0ANOTHER01", "1700000002.000300")  # a different event is its own
    assert await deliver(slack, other, 0) == 200
    await quiesce(slack)
    assert len(answers(slack)) == 2 and processed(slack) == 2
