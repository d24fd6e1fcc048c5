"""Build the Teams side: the Bot Framework adapter, the bot, its presenter and the endpoint.

With ``MicrosoftAppId`` set, the adapter checks every request's token as Bot Framework requires.
Without it, Crier runs unauthenticated for local use (the Bot Framework Emulator, tests): then it
answers only callers on this machine, and writes only to a ``serviceUrl`` on this machine.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

from bot.config import Settings
from bot.core import Core
from handlers.teams.actions import CardActions
from handlers.teams.bot import CrierTeamsBot
from handlers.teams.commands import Commands
from handlers.teams.ids import PLATFORM
from handlers.teams.presenter import TeamsPresenter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotFrameworkConfig:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str

    @classmethod
    def from_settings(cls, settings: Settings) -> BotFrameworkConfig:
        return cls(
            APP_ID=settings.microsoft_app_id,
            APP_PASSWORD=settings.microsoft_app_password.get_secret_value(),
            APP_TYPE=settings.microsoft_app_type,
            APP_TENANTID=settings.microsoft_app_tenant_id,
        )


def _on_this_machine(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class TeamsSide:
    adapter: CloudAdapter
    bot: CrierTeamsBot
    presenter: TeamsPresenter
    authenticated: bool

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``POST /api/messages``: one activity from Teams (or the Emulator)."""
        if not self.authenticated and not await self._local(request):
            return web.json_response(
                {"error": "Crier's Teams endpoint is in local mode: set MicrosoftAppId"},
                status=401,
            )
        response = await self.adapter.process(request, self.bot)
        return response if response is not None else web.Response(status=201)

    async def _local(self, request: web.Request) -> bool:
        """Unauthenticated mode: the caller and the serviceUrl must both be on this machine."""
        if not _on_this_machine(request.remote):
            log.warning("refused a Teams request from %s: local mode", request.remote)
            return False
        try:
            service_url = str((json.loads(await request.read()) or {}).get("serviceUrl") or "")
        except (ValueError, AttributeError):
            return True  # the adapter answers a malformed activity
        if service_url and not _on_this_machine(urlsplit(service_url).hostname):
            log.warning("refused a Teams activity for serviceUrl %s: local mode", service_url)
            return False
        return True


def build_teams(core: Core, settings: Settings) -> TeamsSide:
    """The Teams endpoint; registers the Teams presenter with the core."""
    config = BotFrameworkConfig.from_settings(settings)
    authenticated = bool(config.APP_ID)
    if not authenticated:
        log.warning(
            "Teams runs UNAUTHENTICATED for local use (no MicrosoftAppId): POST /api/messages "
            "answers only this machine. Set MicrosoftAppId and MicrosoftAppPassword for Teams."
        )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    presenter = TeamsPresenter(core=core, adapter=adapter, app_id=config.APP_ID)

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed: %s", error, exc_info=error)

    adapter.on_turn_error = on_turn_error
    core.presenters[PLATFORM] = presenter
    bot = CrierTeamsBot(
        commands=Commands(core=core, presenter=presenter),
        actions=CardActions(core=core, presenter=presenter),
    )
    return TeamsSide(adapter=adapter, bot=bot, presenter=presenter, authenticated=authenticated)
