"""Whether this Crier runs Teams, decided before any of the Bot Framework SDK is imported: the
SDK costs ~25 MiB of memory, which a Crier without Teams should not carry."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.settings import Settings

log = logging.getLogger(__name__)

TEAMS_OFF = "Teams is off in this Crier: its start log says how to turn it on"


def teams_wanted(settings: Settings) -> bool:
    """Whether the settings turn Teams on; if not, one log line says how to."""
    if settings.microsoft_app_id or settings.teams_unauthenticated:
        return True
    log.info(
        "Teams is off: set MicrosoftAppId and MicrosoftAppPassword to turn it on (or "
        "CRIER_TEAMS_UNAUTHENTICATED=true, for the Bot Framework Emulator on this machine)"
    )
    return False


async def teams_off(request: web.Request) -> web.Response:
    """``POST /api/messages`` when Teams is off."""
    return web.json_response({"error": TEAMS_OFF}, status=404)
