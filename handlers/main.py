"""The ``crier`` console script: the core's sub-commands plus ``serve`` and ``sandbox``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.cli import build_parser, describe_subcommands, run
from bot.config import ConfigError
from bot.settings import Settings
from bot.storage.schema import SchemaOutOfDate
from handlers.teams.package import add_command as add_teams_package

if TYPE_CHECKING:
    from handlers.server import Crier
    from handlers.slack.socket_mode import Backoff

# Seconds a stopping server gives the requests it is answering. The work they promised is in
# the job table already, so a stop (a deploy's SIGTERM) takes seconds, not a minute.
SHUTDOWN_GRACE = 10.0


def _open_and_run(settings: Settings, work: Callable[[Crier], Coroutine[Any, Any, None]]) -> int:
    """``work`` with the Crier these settings open; 2 when their config or database stops it."""
    from handlers.server import open_crier

    try:
        crier = open_crier(settings)
    except (ConfigError, SchemaOutOfDate) as exc:
        print(f"crier: cannot start: {exc}", file=sys.stderr)
        return 2
    asyncio.run(work(crier))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    # Where it serves decides what may run (Teams unauthenticated only on a loopback address).
    settings = settings.model_copy(update={"host": host, "port": port})
    return _open_and_run(settings, lambda crier: run_server(crier, settings, host, port))


def signalled() -> asyncio.Event:
    """An event that SIGINT or SIGTERM sets."""
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    return stop


async def run_server(
    crier: Crier,
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
    stop = stop or signalled()
    runner = web.AppRunner(crier.web, shutdown_timeout=SHUTDOWN_GRACE)
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
        # No new requests; those under way are answered (their work is in the job table
        # already); the loops stop, finishing the jobs under way, and the rest waits in the
        # table for the next start.
        await runner.cleanup()


def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.sandbox.app import run_sandbox

    return run_sandbox(host=args.host, port=args.port, settings=settings)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.worker import run_worker

    return _open_and_run(settings, run_worker)


def parser() -> argparse.ArgumentParser:
    """The whole ``crier`` command line: the core's sub-commands, serve, sandbox, worker."""
    parser, commands = build_parser()
    serve = commands.add_parser("serve", help="run Crier: Slack, Teams and the publisher")
    serve.add_argument(
        "--host", default=None, help="the address to listen on (default: CRIER_HOST, 127.0.0.1)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help="the port (default: CRIER_PORT, 3000; 0 picks a free one and prints it)",
    )
    serve.set_defaults(run=_serve)
    sandbox = commands.add_parser(
        "sandbox", help="try Crier in a browser: a pretend Slack workspace, no Slack app needed"
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080, help="default: 8080")
    sandbox.set_defaults(run=_sandbox)
    worker = commands.add_parser(
        "worker", help="more hands on PostgreSQL: do queued work, publish and remind, no HTTP"
    )
    worker.set_defaults(run=_worker)
    add_teams_package(commands)
    describe_subcommands(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    # run() reads the settings, sets up the log and masks secrets in all that is printed.
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
