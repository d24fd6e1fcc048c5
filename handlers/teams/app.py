"""Build the Teams side: the Bot Framework adapter, the bot, its presenter and the endpoint.

With ``MicrosoftAppId`` set, every request's token is checked as the Bot Framework requires
(``guards.py``: its shape before the body is read, then the SDK's check). Without it, Teams runs
only when ``CRIER_TEAMS_UNAUTHENTICATED`` says so (the Bot Framework Emulator, tests), only when
Crier serves on a loopback address, and then answers only callers on this machine and writes
only to a ``serviceUrl`` on this machine. Otherwise Teams is off, and the start log says how to
turn it on.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import TurnContext, serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.auth import AuthenticateRequestResult

from bot.chat.context import ChatContext
from bot.core import Core
from bot.scheduling.jobs import JobRun, enqueue
from bot.settings import Settings
from handlers.refusals import RefusalLog
from handlers.teams.actions import CardActions
from handlers.teams.bot import CrierTeamsBot
from handlers.teams.commands import QUEUED_MESSAGE, Commands
from handlers.teams.guards import (
    Refused,
    TokenCheck,
    bearer,
    parse_activity,
    read_body,
)
from handlers.teams.presenter import TeamsPresenter
from handlers.teams.switch import teams_wanted

log = logging.getLogger(__name__)

TEAMS_MESSAGE = "teams_message"  # a queued message's job kind


def on_this_machine(host: str | None) -> bool:
    """A loopback address (or ``localhost``); not ``0.0.0.0``, not a network address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


@dataclass
class TeamsSide:
    """The Teams endpoint on Teams' side of the core: the bot's commands and card actions."""

    core: Core
    chat: TeamsChat
    refusals: RefusalLog = field(default_factory=lambda: RefusalLog(log))

    def __post_init__(self) -> None:
        self.adapter, presenter = self.chat.adapter, self.chat.presenter
        self.bot = CrierTeamsBot(
            commands=Commands(core=self.core, presenter=presenter),
            actions=CardActions(core=self.core, presenter=presenter),
        )
        self._tokens = TokenCheck(self.adapter.bot_framework_authentication)
        self.core.work.add_handler(TEAMS_MESSAGE, self.run_message)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``POST /api/messages``: one activity from Teams (or the Emulator)."""
        try:
            activity, authentication = await self._admit(request)
        except Refused as refused:
            self.refusals.refused(
                "refused a Teams request from %s (%d): %s",
                request.remote,
                refused.status,
                refused.reason,
            )
            return web.json_response({"error": refused.reason}, status=refused.status)
        if activity.type == ActivityTypes.message:
            return await self._queue(activity)
        # A card's button (an invoke) is answered with the card it changes: in the request.
        invoke = await self.adapter.process_activity(authentication, activity, self.bot.on_turn)
        if invoke is None:
            return web.Response(status=201)
        return web.json_response(data=serializer_helper(invoke.body), status=invoke.status)

    async def _queue(self, activity: Activity) -> web.StreamResponse:
        """A message (a command typed to Crier), checked, becomes a row before Teams gets its
        answer: done by the work runner, and done once even if Crier stops right after."""
        key = f"teams:{activity.id}"[:120] if activity.id else None
        now = self.core.clock.now()
        payload = {"activity": activity.serialize()}
        try:
            await self.core.store.run(
                lambda s: enqueue(s, kind=TEAMS_MESSAGE, key=key, now=now, payload=payload)
            )
        except Exception as exc:
            log.error("could not queue a Teams message: %s", exc)
            return web.json_response({"error": "Crier could not save this; try again"}, status=503)
        self.core.work.wake()
        return web.Response(status=202)

    async def run_message(self, run: JobRun) -> str:
        """The work runner's turn for a queued message, as the bot (its own identity: the
        sender's token was checked when the message came in)."""
        activity = Activity().deserialize(run.payload["activity"])
        claims = self.adapter.create_claims_identity(self.chat.app_id)
        running = QUEUED_MESSAGE.set(run)
        try:
            await self.adapter.process_proactive(claims, activity, None, self.bot.on_turn)
        finally:
            QUEUED_MESSAGE.reset(running)
        return "answered"

    async def _admit(
        self, request: web.Request
    ) -> tuple[Activity, str | AuthenticateRequestResult]:
        """The activity and who sent it, or ``Refused``: the token's shape before the body is
        read, the SDK's check of the token after (it needs the activity's serviceUrl)."""
        header = ""
        if self.chat.authenticated:
            header = bearer(request.headers, self.chat.app_id, time.time())
        elif not on_this_machine(request.remote):
            raise Refused(401, "Teams runs unauthenticated here: only this machine may call")
        activity = parse_activity(await read_body(request))
        if self.chat.authenticated:
            return activity, await self._tokens(activity, header)
        if not on_this_machine(urlsplit(activity.service_url).hostname):
            raise Refused(
                401, "Teams runs unauthenticated here: serviceUrl must be on this machine"
            )
        return activity, ""  # the SDK's anonymous identity: no token, and none looked at


@dataclass(frozen=True)
class TeamsChat:
    """Teams' side of the core, built before it: the adapter and the presenter. ``TeamsSide``
    then wires the bot's commands and card actions to the core."""

    adapter: CloudAdapter
    presenter: TeamsPresenter
    authenticated: bool
    app_id: str


def teams_chat(settings: Settings, chat: ChatContext) -> TeamsChat | None:
    """Teams' presenter, or None when Teams is off; either way one log line says how Teams
    runs."""
    if not teams_wanted(settings):
        return None
    # The attribute names ConfigurationBotFrameworkAuthentication reads.
    config = SimpleNamespace(
        APP_ID=settings.microsoft_app_id,
        APP_PASSWORD=settings.microsoft_app_password.get_secret_value(),
        APP_TYPE=settings.microsoft_app_type,
        APP_TENANTID=settings.microsoft_app_tenant_id,
    )
    authenticated = bool(config.APP_ID)
    if authenticated and settings.teams_unauthenticated:
        log.info(
            "CRIER_TEAMS_UNAUTHENTICATED is ignored: MicrosoftAppId is set, so every Teams "
            "request's token is checked"
        )
    elif not authenticated and not on_this_machine(settings.host):
        log.warning(
            "Teams is off: CRIER_TEAMS_UNAUTHENTICATED runs Teams without checking tokens, which "
            "Crier allows only on this machine, and it serves on %s. Set MicrosoftAppId and "
            "MicrosoftAppPassword for Teams (or serve on 127.0.0.1 for the Emulator).",
            settings.host or "every address",
        )
        return None
    elif not authenticated:
        log.warning(
            "Teams runs UNAUTHENTICATED (CRIER_TEAMS_UNAUTHENTICATED, no MicrosoftAppId): no "
            "token is checked, so every caller on this machine is trusted, and everyone whom a "
            "proxy on it forwards. For the Bot Framework Emulator and tests only; set "
            "MicrosoftAppId and MicrosoftAppPassword for Teams."
        )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed: %s", error, exc_info=error)

    adapter.on_turn_error = on_turn_error
    return TeamsChat(
        adapter=adapter,
        presenter=TeamsPresenter(chat=chat, adapter=adapter, app_id=config.APP_ID),
        authenticated=authenticated,
        app_id=config.APP_ID,
    )
