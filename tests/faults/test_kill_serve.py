"""``crier serve`` killed (SIGKILL) moments after it acknowledged ``/outage`` commands,
approvals and Teams messages: started again on the same database, it does every one of them,
exactly once.

The real thing in its own process (``crier serve --port 0``, signed HTTP requests), against a
fake Slack whose ``chat.postMessage`` is slow, so that most of what was acked is still to do
when the kill comes. Each acknowledged piece of work is a row before the answer
(bot/scheduling/work.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text

from bot.config import STARTER_CONFIG
from bot.storage.store import normalise_database_url
from handlers.sandbox.requests import post_signed
from handlers.sandbox.workspace import SlackWorkspace
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_requests import slash_command, view_submission
from tests.processes import CRIER, wait_until
from tests.scenario.harness import SECRET, TOKEN
from tests.teams.harness import ANALYST as TEAMS_ANALYST
from tests.teams.harness import BOT, CHANNEL, TENANT, THREAD

FIRST = 50  # incidents drafted before the kill, whose drafts are approved just before it
OUTAGES = 50  # /outage commands acknowledged just before the kill
TEAMS = 20  # Teams messages declaring outages, acknowledged just before the kill
LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")


def one(database_url: str, query: str) -> Any:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar_one()
    finally:
        engine.dispose()


def teams_message(connector: FakeBotConnector, n: int) -> dict[str, Any]:
    """A message to the bot in the Teams channel, as Teams sends it (its id Teams' own)."""
    teams_id, name, aad = TEAMS_ANALYST
    mention = "<at>Crier</at>"
    return {
        "id": f"teams-message-{n}",
        "type": "message",
        "channelId": "msteams",
        "serviceUrl": connector.service_url,
        "from": {"id": teams_id, "name": name, "aadObjectId": aad},
        "recipient": dict(BOT),
        "conversation": {"id": THREAD, "conversationType": "channel", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}, "channel": {"id": CHANNEL}},
        "text": f"{mention} outage Email: no mail in hall {n}",
        "textFormat": "plain",
        "entities": [{"type": "mention", "text": mention, "mentioned": dict(BOT)}],
    }


async def start_serve(env: dict[str, str], log: Path) -> tuple[asyncio.subprocess.Process, str]:
    with log.open("ab") as sink:
        serve = await asyncio.create_subprocess_exec(
            CRIER,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=sink,
        )
    assert serve.stdout is not None
    line = await asyncio.wait_for(serve.stdout.readline(), timeout=60)
    found = LISTENING.search(line)
    assert found, f"crier serve did not start: {line!r}"
    return serve, found.group(1).decode() + "/slack/events"


async def test_what_serve_acked_is_done_once_after_it_is_killed(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "crier.log"
    async with (
        SlackWorkspace(bot_token=TOKEN, channels={COMMS: "it-outages"}) as workspace,
        FakeBotConnector() as connector,
    ):
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": workspace.api_url,
            "CRIER_DATABASE_URL": database_url,
            "CRIER_CONFIG": str(STARTER_CONFIG),
            "CRIER_DECLARATIONS_PER_MINUTE": "1000",
            "CRIER_TEAMS_UNAUTHENTICATED": "true",
        }
        env.pop("SLACK_APP_TOKEN", None)
        serve, url = await start_serve(env, log)
        try:
            async with aiohttp.ClientSession() as session:

                async def outage(n: int) -> tuple[int, str]:
                    body = slash_command(
                        "/outage",
                        f"VPN: cannot connect from building {n}",
                        user_id=ANALYST,
                        channel_id=COMMS,
                        response_url=workspace.new_response_url(),
                    )
                    return await post_signed(session, url, body, secret=SECRET)

                await asyncio.gather(*(outage(n) for n in range(FIRST)))
                await wait_until(
                    lambda: (
                        one(
                            database_url,
                            "SELECT count(*) FROM job WHERE done_at IS NULL "
                            "AND kind IN ('declare','thread','show_post')",
                        )
                        == 0
                        and one(database_url, "SELECT count(*) FROM post") == FIRST
                    ),
                    "the first drafts",
                    log,
                )
                roots = {m["ts"]: m for m in workspace.messages(COMMS)}
                assert len(roots) == FIRST

                async def approve(post_id: int) -> tuple[int, str]:
                    """The approver's "Publish now?" confirmed: the approval that is queued."""
                    metadata = {"post_id": post_id, "channel_id": COMMS, "thread_ts": None}
                    confirmation = {
                        "callback_id": "draft_approve_form",
                        "private_metadata": json.dumps(metadata),
                        "blocks": [],
                    }
                    body = view_submission(view=confirmation, values={}, user_id=APPROVER)
                    return await post_signed(session, url, body, secret=SECRET)

                async def in_teams(n: int) -> tuple[int, str]:
                    teams_url = url.replace("/slack/events", "/api/messages")
                    async with session.post(teams_url, json=teams_message(connector, n)) as answer:
                        return answer.status, await answer.text()

                workspace.delay("chat.postMessage", 0.3)  # most is still to do at the kill
                answers = await asyncio.gather(
                    *(outage(FIRST + n) for n in range(OUTAGES)),
                    *(approve(post_id) for post_id in range(1, FIRST + 1)),
                    *(in_teams(n) for n in range(TEAMS)),
                )
            assert all(status == 200 for status, _ in answers[: OUTAGES + FIRST]), answers
            assert all(status == 202 for status, _ in answers[OUTAGES + FIRST :]), answers
            assert all("Drafting" in body for _, body in answers[:OUTAGES]), answers
            await asyncio.sleep(random.uniform(0, 0.2))
            serve.send_signal(signal.SIGKILL)
            await serve.wait()
        finally:
            if serve.returncode is None:
                serve.kill()
                await serve.wait()

        workspace.delay("chat.postMessage", 0)
        serve, _ = await start_serve(env, log)
        try:
            total = FIRST + OUTAGES + TEAMS
            await wait_until(
                lambda: (
                    one(
                        database_url,
                        "SELECT count(*) FROM job WHERE done_at IS NULL AND kind IN "
                        "('declare','approve','thread','show_post','show_incident','teams_message')",
                    )
                    == 0
                    and one(
                        database_url,
                        "SELECT count(*) FROM delivery WHERE state IN ('queued','sending')",
                    )
                    == 0
                ),
                "every acknowledged piece of work",
                log,
                timeout=120,
            )
            assert one(database_url, "SELECT count(*) FROM incident") == total
            # A thread for every incident. Slack's chat.postMessage has no idempotency key: a
            # root on its way to Slack at the kill (posted, its ts never heard back) is posted
            # again by the restart, so it may appear twice; never more, and nothing is missing.
            roots = [m for m in workspace.messages(COMMS) if m.get("thread_ts") in (None, m["ts"])]
            named = [re.search(r"building (\d+)", json.dumps(m)) for m in roots]
            buildings = Counter(int(m.group(1)) for m in named if m)
            assert sorted(buildings) == list(range(FIRST + OUTAGES))
            assert max(buildings.values()) <= 2, buildings
            # One card each in Teams: every message answered once.
            halls = [
                int(found.group(1))
                for call in connector.posts()
                for card in call.cards
                if (found := re.search(r"no mail in hall (\d+)", json.dumps(card)))
            ]
            assert sorted(set(halls)) == list(range(TEAMS))
            assert one(database_url, "SELECT count(*) FROM post WHERE state = 'approved'") == FIRST
            approvals = "SELECT count(*) FROM auditevent WHERE action = 'approve'"
            assert one(database_url, approvals) == FIRST
            # Exactly once per channel: as many outbox entries as deliveries to the networks,
            # none twice; the status site keeps no outbox (its sent delivery is its record).
            networks = "SELECT count(*) FROM delivery WHERE channel != 'site'"
            deliveries = one(database_url, networks)
            assert deliveries > 0
            assert one(database_url, "SELECT count(*) FROM outboxpost") == deliveries
            on_site = "SELECT count(*) FROM delivery WHERE channel = 'site' AND state = 'sent'"
            assert one(database_url, on_site) == FIRST  # each approved post once
        finally:
            serve.send_signal(signal.SIGTERM)
            await asyncio.wait_for(serve.wait(), timeout=30)
