"""The ``crier`` console script: the core's sub-commands plus ``serve`` and ``sandbox``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from bot.cli import build_parser, run
from bot.config import ConfigError, Settings
from bot.schema import SchemaOutOfDate
from handlers.teams.package import add_command as add_teams_package

if TYPE_CHECKING:
    from handlers.slack.socket_mode import Backoff

# Seconds a stopping server gives the work it has acknowledged (a deploy's SIGTERM during an
# outage): within the 30 s most process managers wait before they SIGKILL.
SHUTDOWN_GRACE = 25.0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.priorities import freeze_startup_objects
    from handlers.server import open_crier

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    # Where it serves decides what may run (Teams unauthenticated only on a loopback address),
    # here and in the work process, which gets these settings.
    settings = settings.model_copy(update={"host": host, "port": port})
    try:
        crier = open_crier(settings)
    except (ConfigError, SchemaOutOfDate) as exc:
        print(f"crier: cannot start: {exc}", file=sys.stderr)
        return 2
    # The event loop acks Slack while database threads work: hand the GIL back to it after 1 ms
    # rather than Python's 5 ms, so an ack is not kept waiting behind a transaction.
    sys.setswitchinterval(0.001)
    freeze_startup_objects()
    asyncio.run(run_server(crier, settings, host, port))
    return 0


async def run_server(
    crier: object,
    settings: Settings,
    host: str,
    port: int,
    *,
    stop: asyncio.Event | None = None,
    backoff: Backoff | None = None,
) -> None:
    """Serve until ``stop`` is set (by SIGINT or SIGTERM when not given).

    Socket Mode (``SLACK_APP_TOKEN``) connects in the background, retrying with ``backoff``:
    HTTP serves meanwhile, and a stop does not wait for Slack."""
    from handlers.server import Crier
    from handlers.slack.hands import RemoteHands
    from handlers.work_process import WorkProcess

    assert isinstance(crier, Crier)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    work, remote = None, None
    if settings.work_process and crier.slack is not None:
        work = await WorkProcess.start(settings)
        remote = RemoteHands(where=work)
        crier.slack.hands.current = remote
        crier.runs_background = False  # the work process publishes and reminds
    runner = web.AppRunner(crier.web)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    if crier.slack is None:
        routes = "GET /healthz (Slack is off)"
    elif crier.slack.over_http:
        routes = "POST /slack/events, GET /healthz"
    else:
        routes = "GET /healthz (Slack by Socket Mode only)"
    routes += ", POST /api/messages (Teams)" if crier.teams else ""
    print(
        f"Crier is listening on http://{bound_host}:{bound_port} ({routes}); Ctrl-C stops it.",
        flush=True,
    )
    socket_mode = None
    try:
        if crier.slack is not None and settings.slack_app_token is not None:
            from handlers.slack.socket_mode import Backoff, SocketMode

            socket_mode = SocketMode(
                app=crier.slack.app,
                app_token=settings.slack_app_token,
                api_url=settings.slack_api_url,
                backoff=backoff or Backoff(),
            )
            socket_mode.start()  # in the background: it logs when it connects, or what is wrong
        await stop.wait()
    finally:
        if socket_mode is not None:
            await socket_mode.close()  # even mid-connect
        for site in list(runner.sites):
            await site.stop()  # take no new requests, but finish those already acknowledged
        await crier.core.backlog.drain(within=SHUTDOWN_GRACE)
        await runner.cleanup()
        if remote is not None:
            await remote.close()
        if work is not None:
            await work.stop()


def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.sandbox.app import run_sandbox

    return run_sandbox(host=args.host, port=args.port, settings=settings)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.priorities import freeze_startup_objects
    from handlers.server import open_crier
    from handlers.worker import run_worker

    try:
        crier = open_crier(settings)
    except (ConfigError, SchemaOutOfDate) as exc:
        print(f"crier: cannot start: {exc}", file=sys.stderr)
        return 2
    freeze_startup_objects()
    asyncio.run(
        run_worker(crier, port_file=args.port_file if args.take_work else None, parent=args.parent)
    )
    return 0


def parser() -> argparse.ArgumentParser:
    """The whole ``crier`` command line: the core's sub-commands, serve, sandbox, worker."""
    parser, commands = build_parser()
    serve = commands.add_parser("serve", help="run Crier: Slack, Teams and the publisher")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(run=_serve)
    sandbox = commands.add_parser(
        "sandbox", help="try Crier in a browser: a pretend Slack workspace, no Slack app needed"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.set_defaults(run=_sandbox)
    worker = commands.add_parser("worker", help="publish and remind, without the HTTP server")
    # How ``crier serve`` starts its work process (handlers/work_process.py); not for people.
    worker.add_argument("--take-work", action="store_true", help=argparse.SUPPRESS)
    worker.add_argument("--port-file", type=Path, default=None, help=argparse.SUPPRESS)
    worker.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    worker.set_defaults(run=_worker)
    add_teams_package(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # run() reads the settings, sets up the log and masks secrets in all that is printed.
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
