"""``crier maintenance``: the planned maintenance windows, and one's record as Markdown.

crier maintenance list              # what is planned, under way, or waiting for approval
crier maintenance export 3 > maintenance-3.md
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.config import load_config
from bot.maintenance.export import export_maintenance
from bot.settings import Settings
from bot.storage.finding import SANDBOX_HELP, open_to_read
from bot.storage.models import Maintenance

RECENT = timedelta(days=30)


def add_maintenance_commands(commands: Any) -> None:
    parser = commands.add_parser("maintenance", help="planned maintenance windows")
    sub = parser.add_subparsers(dest="maintenance_command", required=True)
    listing = sub.add_parser(
        "list", help="planned, under way, waiting for approval, or ended in the last 30 days"
    )
    listing.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    export = sub.add_parser("export", help="one maintenance's record as Markdown")
    export.add_argument("id", type=int, help="its number, from `crier maintenance list`")
    export.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    parser.set_defaults(run=run_maintenance)


def run_maintenance(args: argparse.Namespace, settings: Settings) -> int:
    config = load_config(settings.resolved_config_path())
    store = open_to_read(settings, sandbox=args.sandbox)
    zone = config.organisation.zone
    with store.transaction() as session:
        if args.maintenance_command == "export":
            try:
                print(export_maintenance(session, maintenance_id=args.id, config=config), end="")
            except LookupError:
                print(f"crier: there is no maintenance #{args.id}", file=sys.stderr)
                return 1
            return 0
        since = datetime.now(UTC) - RECENT
        rows = session.exec(
            select(Maintenance)
            .where(col(Maintenance.ends_at) >= since)
            .order_by(col(Maintenance.starts_at))
        ).all()
        if not rows:
            print("No maintenance is planned.")
        for row in rows:
            starts, ends = row.starts_at.astimezone(zone), row.ends_at.astimezone(zone)
            print(
                f"#{row.id} · {starts:%a %d %b %H:%M} to {ends:%a %d %b %H:%M %Z} · "
                f"{', '.join(row.services)}: {row.title} · {row.state.replace('_', ' ')}"
            )
    return 0
