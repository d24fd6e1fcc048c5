"""``crier sandbox``: Crier's real web app, a simulated Slack workspace and a page to play it.

Three servers in one process. The page's gestures become Slack-shaped, signed requests to
Crier's ``POST /slack/events``; Crier's Web API calls go to the simulated workspace; the page
shows the workspace and the outbox. Nothing in Crier knows it is in a sandbox::

    sandbox = Sandbox(config=load_config(STARTER_CONFIG), database_url="sqlite://", port=0)
    await sandbox.start()  # sandbox.url is the page; sandbox.stop() stops all three
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import secrets
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web
from pydantic import SecretStr

from bot.config import STARTER_CONFIG, ConfigError, CrierConfig, Network, load_config
from bot.core import Core
from bot.listening.poller import start_polling
from bot.ports import Publisher
from bot.publishing.outbox import OutboxPublisher
from bot.publishing.site import SitePublisher
from bot.settings import Settings
from bot.site import site_url
from bot.storage.finding import SANDBOX_DATABASE, SANDBOX_URL
from bot.storage.schema import SchemaOutOfDate, ensure_current
from bot.storage.store import Store, open_store
from handlers.sandbox.clock import JumpingClock
from handlers.sandbox.folder_lock import SandboxAlreadyRunning, sandbox_folder_lock
from handlers.sandbox.frontend import SlackFrontend, SlashCommand
from handlers.sandbox.listening import SandboxAudience, SandboxListening, sandbox_sources
from handlers.sandbox.mrkdwn import Names
from handlers.sandbox.page import Person, SandboxPage, build_page_app
from handlers.sandbox.workspace import SlackWorkspace
from handlers.server import build_crier
from handlers.site_forms import add_status_site

CHANNEL_ID, CHANNEL_NAME = "C0SANDBOX", "it-outages"
ANALYST = Person("U0ANALYST1", "Ana Analyst", "analyst")
VISITOR = Person("U0VISITOR1", "Val Visitor", "someone else")
APPROVER_NAMES = {"U0APPROVER1": "Avery Approver", "U0APPROVER2": "Blake Approver"}
BOT_NAME = "Crier"


def people_for(config: CrierConfig) -> list[Person]:
    """The analyst, every approver ``crier.yml`` names (or two for its user group), a visitor."""
    approvers = list(config.approvals.slack_users) or list(APPROVER_NAMES)
    people = [ANALYST]
    for n, user_id in enumerate(approvers):
        role = "approver" if n == 0 else ("second approver" if n == 1 else "another approver")
        people.append(Person(user_id, APPROVER_NAMES.get(user_id, f"Approver {n + 1}"), role))
    return [*people, VISITOR]


def sandbox_config(config: CrierConfig) -> CrierConfig:
    """``crier.yml`` as the sandbox plays it: a surge of mentions is said in the comms channel,
    so without one the sandbox's channel is it (incidents live there already); and the public's
    posts are searched for the organisation's names when ``listening.terms`` names none."""
    slack, listening = config.slack, config.listening
    if not slack.comms_channel:
        slack = slack.model_copy(update={"comms_channel": CHANNEL_ID})
    if not listening.terms:
        organisation = config.organisation
        names = dict.fromkeys([organisation.display_name, organisation.name])
        listening = listening.model_copy(update={"terms": list(names)})
    return config.model_copy(update={"slack": slack, "listening": listening})


def manifest_commands() -> dict[str, SlashCommand]:
    """The slash commands the app's manifest declares, as Slack would know them."""
    import handlers.slack

    here = Path(handlers.slack.__file__).parent
    for path in (here / "_manifest.yml", here.parents[1] / "manifest.yml"):
        if path.is_file():
            manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            found = {
                str(c["command"]).lower(): SlashCommand(
                    str(c["command"]), str(c.get("description", "")), str(c.get("usage_hint", ""))
                )
                for c in (manifest.get("features") or {}).get("slash_commands") or []
            }
            if found:
                return found
    return {"/outage": SlashCommand("/outage")}


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def _shown_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 - only what we print
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Sandbox:
    """The simulated workspace, Crier and the page, started and stopped together."""

    def __init__(
        self,
        *,
        config: CrierConfig,
        database_url: str,
        host: str = "127.0.0.1",
        port: int = 8080,
        settings: Settings | None = None,
        listening: socket.socket | None = None,
    ) -> None:
        """``listening``: the page's socket, bound already (``crier sandbox`` binds it before
        it touches anything, so that a busy port changes nothing)."""
        self.config = config = sandbox_config(config)
        self.database_url = database_url
        self.host, self.port = host, port
        self._base_settings = settings or Settings()
        self.people = people_for(config)
        self.channels = {CHANNEL_ID: CHANNEL_NAME}
        comms = config.slack.comms_channel
        if comms and comms not in self.channels:
            self.channels[comms] = "incident-comms"
        self._runners: list[web.AppRunner] = []
        self._http: aiohttp.ClientSession | None = None
        self._store: Store | None = None
        self.url = ""
        self.workspace: SlackWorkspace | None = None
        self.core: Core | None = None  # Crier's, once started
        self.clock = JumpingClock()
        self.audience = SandboxAudience()  # what the made-up public says on the networks
        self._listening = listening
        if listening is not None:
            self._serve_page_on(listening)

    def _serve_page_on(self, page_socket: socket.socket) -> None:
        self.port = int(page_socket.getsockname()[1])
        self.url = f"http://{_shown_host(self.host)}:{self.port}"

    async def _serve(self, app: web.Application, sock: socket.socket) -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        await web.SockSite(runner, sock).start()

    async def start(self) -> None:
        """Open the page's port first (Crier's *view post* links point at it), then the rest."""
        page_socket = self._listening or _listen(self.host, self.port)
        self._serve_page_on(page_socket)
        try:
            await self._start_servers(page_socket)
        except BaseException:
            await self.stop()
            raise

    async def _start_servers(self, page_socket: socket.socket) -> None:
        approvers = [p.user_id for p in self.people if "approver" in p.role]
        group = self.config.approvals.slack_usergroup
        workspace = self.workspace = SlackWorkspace(
            bot_token=f"xoxb-sandbox-{secrets.token_hex(12)}",
            users={p.user_id: p.name.lower().replace(" ", ".") for p in self.people},
            usergroups={group: approvers} if group else None,
            channels=dict(self.channels),
            clock=self.clock,
        )
        await workspace.start()
        secret = secrets.token_hex(16)
        settings = self._base_settings.model_copy(
            update={
                "slack_bot_token": SecretStr(workspace.bot_token),
                "slack_signing_secret": SecretStr(secret),
                "slack_app_token": None,  # never Socket Mode: the page is Slack here
                "slack_api_url": workspace.api_url,
                "database_url": self.database_url,
                "public_url": self.url,
                # Subscribers' emails stay in the outbox (the page's mailbox), and their links
                # are signed with a key of this run unless the environment gives one.
                "smtp_url": None,
                "site_secret": self._base_settings.site_secret or SecretStr(secrets.token_hex(32)),
            }
        )
        self._store = store = open_store(self.database_url)
        await asyncio.to_thread(ensure_current, store)
        # Always the outbox, even when the environment holds a network's real credentials; but
        # Crier's own status site is real here too: publishing to it sends nothing anywhere.
        outbox: dict[Network, Publisher] = {
            network: OutboxPublisher(network=network, store=store, public_url=self.url)
            for network in self.config.enabled_channels
        }
        if Network.SITE in outbox:
            outbox[Network.SITE] = SitePublisher(site_url=site_url(self.url, self.config.site.path))
        # Never the networks' reading sides either: the page's made-up public is heard instead.
        crier = build_crier(
            settings=settings,
            config=self.config,
            store=store,
            publishers=outbox,
            clock=self.clock,
            sources=sandbox_sources(self.config, self.audience),
        )
        self.core = crier.core
        networks = crier.core.listening.networks
        await asyncio.to_thread(
            start_polling, store, config=self.config, networks=networks, now=self.clock.now()
        )
        crier_socket = _listen("127.0.0.1", 0)
        await self._serve(crier.web, crier_socket)
        crier_url = f"http://127.0.0.1:{crier_socket.getsockname()[1]}/slack/events"
        self._http = aiohttp.ClientSession()
        names = Names(
            users={p.user_id: p.name for p in self.people} | {workspace.bot_user_id: BOT_NAME},
            channels=dict(self.channels),
        )
        frontend = SlackFrontend(
            workspace=workspace,
            app_url=crier_url,
            secret=secret,
            http=self._http,
            commands=manifest_commands(),
            zone=self.config.organisation.zone,
        )
        page = SandboxPage(
            frontend=frontend,
            people=self.people,
            names=names,
            clock=self.clock,
            core=crier.core,
            cli_hint=cli_hint(self.database_url),
            listening=SandboxListening(core=crier.core, clock=self.clock, audience=self.audience),
        )
        page_app = build_page_app(page)
        add_status_site(page_app, crier.core)  # the status site at the page's own address
        await self._serve(page_app, page_socket)

    async def stop(self) -> None:
        """Stop the page, then Crier (its workers finish), then the workspace."""
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners = []
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self.workspace is not None:
            await self.workspace.stop()
        if self._store is not None:
            self._store.dispose()
            self._store = None


def cli_hint(database_url: str) -> str:
    """How to read the sandbox's data with the CLI, the exact commands."""
    where, flag = " in this folder", " --sandbox"
    if database_url != SANDBOX_URL:
        where, flag = ", with the same CRIER_DATABASE_URL", ""
    return (
        f"From another terminal{where}: crier outbox{flag} (what was published), "
        f"crier export 1{flag} (incident 1's record)."
    )


async def _run(sandbox: Sandbox) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await sandbox.start()
    try:
        print(f"Crier sandbox: open {sandbox.url}", flush=True)
        print(
            "  Type /outage Blackboard: students cannot log in, then switch 'Who am I' to an "
            "approver. Ctrl-C stops it.",
            flush=True,
        )
        print(f"  {cli_hint(sandbox.database_url)}", flush=True)
        await stop.wait()
    finally:
        await sandbox.stop()


def run_sandbox(*, host: str, port: int, settings: Settings) -> int:
    """The ``crier sandbox`` command: serve until Ctrl-C; 2 when it cannot start.

    Everything that can refuse is asked before the database is made new: ``crier.yml``, the
    port, another sandbox in this folder (whose database that is)."""
    if "log_level" not in settings.model_fields_set:  # a quiet console; CRIER_LOG_LEVEL=INFO
        logging.getLogger().setLevel(logging.WARNING)
    own_database = "database_url" not in settings.model_fields_set
    database_url = SANDBOX_URL if own_database else settings.database_url
    try:
        config = load_config(settings.config_path or STARTER_CONFIG)
        with contextlib.ExitStack() as held:
            page_socket = held.enter_context(_listen(host, port))
            say_where = (
                held.enter_context(sandbox_folder_lock(Path.cwd() / SANDBOX_DATABASE))
                if own_database
                else None
            )
            sandbox = Sandbox(
                config=config,
                database_url=database_url,
                host=host,
                port=port,
                settings=settings,
                listening=page_socket,
            )
            if say_where is not None:
                say_where(sandbox.url)
                # The sandbox's own database starts empty: its Slack lives in memory, empty too.
                for suffix in ("", "-wal", "-shm"):
                    (Path.cwd() / f"{SANDBOX_DATABASE}{suffix}").unlink(missing_ok=True)
            asyncio.run(_run(sandbox))
    except (ConfigError, SchemaOutOfDate) as exc:
        print(f"crier: cannot start the sandbox: {exc}", file=sys.stderr)
        return 2
    except SandboxAlreadyRunning as running:
        where = f" at {running.url}" if running.url else ""
        print(
            f"crier: a sandbox already runs in this folder{where}, on {SANDBOX_DATABASE}: open "
            "it, or stop it (Ctrl-C) before starting another here. Nothing was changed.",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            why = f"the port is in use (by a sandbox? open http://{_shown_host(host)}:{port})"
        print(
            f"crier: cannot start the sandbox on {host}:{port}: {why}; try another --port. "
            "Nothing was changed.",
            file=sys.stderr,
        )
        return 2
    return 0
