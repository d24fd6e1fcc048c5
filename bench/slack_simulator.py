"""A simulated Slack workspace (Crier's ``SlackWorkspace``) in a process of its own, so the
servers under test talk to a Slack that does not share the load generator's event loop.

    python -m bench.slack_simulator [--give-way] [--record PATH]
    # prints "listening on http://127.0.0.1:PORT"

``--record PATH`` appends one JSON line to PATH for each draft Crier posts with its *Approve*
button (``{"at": unix time, "post_id": …}``: the moment this Slack received the
``chat.postMessage``), and one for each thing Crier tells a person (a ``response_url`` POST or
an ephemeral: ``{"at": …, "told": text}``), which the time-to-draft benchmark counts as
failures. ``--give-way`` runs it only on CPU nobody else wants (Linux's ``SCHED_IDLE``): it
stands for Slack's servers, which are not on Crier's machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import IO, Any

from bench.crier_setup import ANALYSTS, APPROVER, COMMS
from handlers.sandbox.workspace import RecordedCall, SlackWorkspace, WorkspaceEvent
from handlers.slack.ids import Action

BOT_TOKEN = "xoxb-bench-token"  # a fake token for a fake Slack
SIGNING_SECRET = "bench-signing-secret"  # shared with the load generator


def give_way() -> None:
    """Run this process only when no other wants the CPU (Linux; elsewhere, nice 19)."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


def approve_value(blocks: Any) -> str | None:
    """The *Approve* button's value (the post id) in a message's blocks, if it has one."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return None
    for block in blocks if isinstance(blocks, list) else []:
        for element in block.get("elements") or [] if isinstance(block, dict) else []:
            if isinstance(element, dict) and element.get("action_id") == Action.APPROVE:
                return str(element.get("value"))
    return None


def record_line(event: WorkspaceEvent) -> dict[str, Any] | None:
    """What ``--record`` keeps of one call or response_url POST (None: nothing)."""
    if isinstance(event, RecordedCall):
        if event.method == "chat.postMessage" and event.ok:
            post_id = approve_value(event.args.get("blocks"))
            return None if post_id is None else {"at": event.at, "post_id": post_id}
        if event.method == "chat.postEphemeral":
            return {"at": event.at, "told": str(event.args.get("text") or "")}
        return None
    return {"at": event.at, "told": str(event.body.get("text") or "")}


async def _record(events: asyncio.Queue[WorkspaceEvent], out: IO[str]) -> None:
    while True:
        line = record_line(await events.get())
        if line is not None:
            out.write(json.dumps(line) + "\n")
            out.flush()


async def serve(record: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    users = {APPROVER: "appro.ver", **{a: f"ana.lyst{n}" for n, a in enumerate(ANALYSTS)}}
    async with SlackWorkspace(
        bot_token=BOT_TOKEN, users=users, channels={COMMS: "it-outages"}
    ) as workspace:
        recording = None
        out = record.open("a", encoding="utf-8") if record else None
        if out is not None:
            recording = asyncio.create_task(_record(workspace.subscribe(), out))
        print(f"listening on {workspace.base_url}", flush=True)
        try:
            while not stop.is_set():
                # The record of calls is for tests; here it would only grow.
                workspace.calls.clear()
                workspace.responses.clear()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=2)
                except TimeoutError:
                    continue
        finally:
            if recording is not None:
                recording.cancel()
            if out is not None:
                out.close()


def main(argv: list[str]) -> None:
    record = Path(argv[argv.index("--record") + 1]) if "--record" in argv else None
    if "--give-way" in argv:
        give_way()
    asyncio.run(serve(record))


if __name__ == "__main__":
    main(sys.argv[1:])
