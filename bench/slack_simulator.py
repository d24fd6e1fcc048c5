"""A simulated Slack workspace (Crier's ``SlackWorkspace``) in a process of its own, so the
servers under test talk to a Slack that does not share the load generator's event loop.

    python -m bench.slack_simulator [--give-way]   # prints "listening on http://127.0.0.1:PORT"

``--give-way`` runs it only on CPU nobody else wants (as ``crier serve``'s work process runs):
it stands for Slack's servers, which are not on Crier's machine, so it must not take CPU from
the server under test. It serves only what Crier does after its acks (the bare app posts
nothing), and at normal priority it added about 4 ms to Crier's p99 ack (measured 2026-12-01).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bench.crier_setup import ANALYST, APPROVER, COMMS
from handlers.priorities import give_way
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
    if "--give-way" in sys.argv[1:]:
        give_way()
    asyncio.run(serve())
