"""``crier serve`` killed (SIGKILL) while the ``/outage`` commands it answered "Drafting the
posts…" still wait their turn: its work process, which holds them, drafts every one and then
stops by itself.

The real thing in its own process (``crier serve --port 0``, signed HTTP requests), against a
fake Slack whose ``chat.postMessage`` is slow, with one piece of work at a time, so that most
of what was acked is still waiting when serve is killed.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text

from bench.processes import children
from bot.config import STARTER_CONFIG
from bot.store import normalise_database_url
from handlers.sandbox.requests import post_signed
from handlers.sandbox.workspace import SlackWorkspace
from tests.conftest import ANALYST, COMMS
from tests.fakes.slack_requests import slash_command
from tests.processes import CRIER, gone, wait_until
from tests.scenario.harness import SECRET, TOKEN

OUTAGES = 6
LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")


def incidents(database_url: str) -> int:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM incident")).scalar_one())
    finally:
        engine.dispose()


async def test_what_serve_acked_is_drafted_after_serve_is_killed(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "crier.log"
    async with SlackWorkspace(bot_token=TOKEN, channels={COMMS: "it-outages"}) as workspace:
        workspace.delay("chat.postMessage", 0.3)
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": workspace.api_url,
            "CRIER_DATABASE_URL": database_url,
            "CRIER_CONFIG": str(STARTER_CONFIG),
            "CRIER_WORK_AT_ONCE": "1",
        }
        env.pop("SLACK_APP_TOKEN", None)
        with log.open("wb") as sink:
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
        work_process = None
        try:
            assert serve.stdout is not None
            line = await asyncio.wait_for(serve.stdout.readline(), timeout=60)
            found = LISTENING.search(line)
            assert found, f"crier serve did not start: {line!r}"
            url = found.group(1).decode() + "/slack/events"
            async with aiohttp.ClientSession() as session:
                answers = await asyncio.gather(
                    *(
                        post_signed(
                            session,
                            url,
                            slash_command(
                                "/outage",
                                f"VPN: cannot connect from building {n}",
                                user_id=ANALYST,
                                channel_id=COMMS,
                                response_url=workspace.new_response_url(),
                            ),
                            secret=SECRET,
                        )
                        for n in range(OUTAGES)
                    )
                )
            assert all(s == 200 and "Drafting" in body for s, body in answers), answers
            [work_process] = children(serve.pid)
            # Serve hands each over the moment it has answered; a kill within those few
            # milliseconds would still lose it (README), so give the hand-overs a moment.
            await asyncio.sleep(0.5)
            assert incidents(database_url) < OUTAGES  # most are still waiting their turn
            serve.send_signal(signal.SIGKILL)
            await serve.wait()

            await wait_until(
                lambda: incidents(database_url) == OUTAGES, "every incident", log, timeout=90
            )
            await wait_until(
                lambda: len(workspace.messages(COMMS)) == OUTAGES,
                "every incident's thread",
                log,
                timeout=90,
            )
            await wait_until(
                lambda: gone(work_process), "the work process to stop", log, timeout=90
            )
        finally:
            if serve.returncode is None:
                serve.kill()
                await serve.wait()
            if work_process is not None and not gone(work_process):
                os.kill(work_process, signal.SIGKILL)
