"""``crier teams-package``: the Teams app package to upload (manifest.json and two icons, zipped).

    crier teams-package --out crier-teams.zip

The bot's id is ``MicrosoftAppId``; the commands are the ones Crier answers; the icons are drawn
here with Pillow in the organisation's colours, so the package needs no files beside it.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

from bot.config import ConfigError, CrierConfig, load_config
from bot.settings import Settings
from bot.subscriptions.following import FollowVerb
from handlers.teams.ids import Command

MANIFEST_VERSION = "1.22"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/"
    "MicrosoftTeams.schema.json"
)
COLOR_ICON, OUTLINE_ICON = "color.png", "outline.png"
COMMANDS = [
    (Command.OUTAGE, "Declare an outage: the form, or 'outage Service: what is wrong'"),
    (Command.UPDATE, "Draft a public update for this conversation's incident"),
    (Command.RESOLVE, "Draft the all-clear for this conversation's incident"),
    (Command.LIST, "The open incidents"),
    (FollowVerb.FOLLOW, "This channel follows services' status-site updates: 'follow Wi-Fi'"),
    (Command.MAINTENANCE, "Plan a maintenance window: its posts go out at their times"),
    (Command.HELP, "What Crier can do"),
]


def _https(url: str | None, fallback: str) -> str:
    return url if url and url.startswith("https://") else fallback


def manifest(settings: Settings, config: CrierConfig, *, version: str = "1.0.0") -> dict[str, Any]:
    """The app manifest for the bot ``MicrosoftAppId``, in team, group chat and personal scope."""
    app_id = settings.microsoft_app_id
    org = config.organisation
    site = _https(org.help_url, _https(settings.public_url, "https://github.com/crier-bot/crier"))
    host = urlsplit(settings.public_url).hostname
    scopes = ["team", "groupChat", "personal"]
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": org.name[:32],
            "websiteUrl": site,
            "privacyUrl": site,
            "termsOfUseUrl": site,
        },
        "name": {"short": "Crier", "full": f"Crier — outage communications for {org.display_name}"},
        "description": {
            "short": "Declare outages, approve public posts, publish them.",
            "full": (
                "Crier drafts one public post per channel (social networks and the status page) "
                "when you declare an outage, asks approvers in the incident's conversation, and "
                "publishes what they approve. It reminds you when the next update is due."
            ),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": org.primary_colour,
        "bots": [
            {
                "botId": app_id,
                "scopes": scopes,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": scopes,
                        "commands": [
                            {"title": str(title), "description": text[:128]}
                            for title, text in COMMANDS
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host] if host and host not in {"127.0.0.1", "localhost"} else [],
    }


def _megaphone(draw: ImageDraw.ImageDraw, size: int, fill: str) -> None:
    """A megaphone (the town crier's), drawn in a square of ``size``."""

    def p(x: float, y: float) -> tuple[float, float]:
        return (x * size, y * size)

    draw.polygon([p(0.22, 0.40), p(0.68, 0.20), p(0.68, 0.80), p(0.22, 0.60)], fill=fill)
    draw.rectangle([p(0.14, 0.40), p(0.24, 0.60)], fill=fill)
    draw.polygon([p(0.30, 0.60), p(0.42, 0.62), p(0.46, 0.82), p(0.36, 0.82)], fill=fill)
    width = max(1, round(size * 0.05))
    draw.arc([p(0.66, 0.34), p(0.86, 0.66)], start=-60, end=60, fill=fill, width=width)


def icon(size: int, background: str | tuple[int, ...], fill: str) -> bytes:
    """A megaphone in ``fill`` on ``background``, as a PNG ``size`` pixels square."""
    image = Image.new("RGBA", (size, size), background)
    _megaphone(ImageDraw.Draw(image), size, fill)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def build_package(settings: Settings, config: CrierConfig, out: Path) -> Path:
    """Write the zip Teams takes under Apps → Manage your apps → Upload an app."""
    org = config.organisation
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest(settings, config), indent=2))
        # Full colour, 192 pixels; the outline 32, white on transparent, as Teams requires.
        package.writestr(COLOR_ICON, icon(192, org.primary_colour, org.accent_colour))
        package.writestr(OUTLINE_ICON, icon(32, (0, 0, 0, 0), "#ffffff"))
    return out


def run_teams_package(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.microsoft_app_id:
        print(
            "crier teams-package: set MicrosoftAppId to your Azure Bot's app id first.",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(settings.resolved_config_path())
    except ConfigError as exc:
        print(f"crier teams-package: {exc}", file=sys.stderr)
        return 2
    out = build_package(settings, config, Path(args.out))
    print(f"Wrote {out}: upload it in Teams (Apps → Manage your apps → Upload an app).")
    return 0


def add_command(commands: Any) -> None:
    """Add ``teams-package`` to the ``crier`` command line."""
    parser = commands.add_parser("teams-package", help="build the Teams app package to upload")
    parser.add_argument("--out", default="crier-teams.zip", help="where to write the zip")
    parser.set_defaults(run=run_teams_package)
