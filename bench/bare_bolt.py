"""The baseline server: a bare slack-bolt ``AsyncApp`` that acks ``/outage`` and the *Approve*
button and does nothing else, served by aiohttp the way ``crier serve`` serves Crier.

    SLACK_SIGNING_SECRET=… SLACK_BOT_TOKEN=… SLACK_API_URL=… python -m bench.bare_bolt
"""

from __future__ import annotations

import asyncio
import os
import signal

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.ids import COMMAND, View


def build_bare_app(
    *, signing_secret: str, token: str, api_url: str, on_return: bool = False
) -> web.Application:
    """``on_return``: answer when the listener returns (``process_before_response``), the
    quickest a bolt app answers, instead of bolt's default (as Crier runs bolt), which polls
    every 10 ms for the listener's ack."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url),
        signing_secret=signing_secret,
        raise_error_for_unhandled_request=False,
        process_before_response=on_return,
    )

    @bolt.command(COMMAND)
    async def outage(ack: AsyncAck) -> None:
        await ack()

    @bolt.view(View.APPROVE)  # the approver's "Publish now?" confirmed
    async def approve(ack: AsyncAck) -> None:
        await ack()

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", slack_events)
    return app


async def serve() -> None:
    app = build_bare_app(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token=os.environ["SLACK_BOT_TOKEN"],
        api_url=os.environ["SLACK_API_URL"],
        on_return=os.environ.get("BARE_ANSWERS_ON_RETURN") == "1",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(f"bare bolt app listening on http://{host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
