"""A simulated Slack workspace (Crier's ``SlackWorkspace``) in a process of its own, so the
servers under test talk to a Slack that does not share the load generator's event loop.

    python -m bench.slack_simulator   # prints "listening on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import asyncio
import signal

from bench.crier_setup import ANALYST, APPROVER, COMMS
from handlers.sandbox.workspace import SlackWorkspace

BOT_TOKEN = "xoxb-bench-token"  # a fake token for a fake Slack
SIGNING_SECRET = "bench-signing-secret"  # shared with the load generator


async def serve() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    users = {ANALYST: "ana.lyst", APPROVER: "appro.ver"}
    async with SlackWorkspace(
        bot_token=BOT_TOKEN, users=users, channels={COMMS: "it-outages"}
    ) as workspace:
        print(f"listening on {workspace.base_url}", flush=True)
        while not stop.is_set():
            # The record of calls is for tests; here it would only grow.
            workspace.calls.clear()
            workspace.responses.clear()
            try:
                await asyncio.wait_for(stop.wait(), timeout=2)
            except TimeoutError:
                continue


if __name__ == "__main__":
    asyncio.run(serve())
