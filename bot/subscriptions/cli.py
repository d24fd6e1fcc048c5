"""``crier subscribers``: list, export, add a webhook, show its key, remove.

crier subscribers export > subscribers.json   # every subscriber, for a data request
crier subscribers add-webhook https://hooks.example.edu/crier --services blackboard
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.config import load_config
from bot.errors import CrierError
from bot.ports import SystemClock
from bot.settings import Settings
from bot.storage.finding import SANDBOX_HELP, open_to_read
from bot.storage.models import Subscriber, SubscriberKind
from bot.subscriptions import subscribers
from bot.subscriptions.links import Links
from bot.subscriptions.wiring import sender_of

WITHOUT_SITE_KEY = (
    "crier: CRIER_SITE_SECRET is not set: a webhook subscriber's signing key is derived from it "
    "(set it to a long random value, the same for every Crier process)"
)


def add_subscriber_commands(commands: Any) -> None:
    parser = commands.add_parser("subscribers", help="the status site's subscribers")
    sub = parser.add_subparsers(dest="subscribers_command", required=True)
    listing = sub.add_parser("list", help="every subscriber, a line each")
    listing.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    export = sub.add_parser(
        "export", help="every subscriber as JSON (personal data: for a request to see it)"
    )
    export.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    webhook = sub.add_parser("add-webhook", help="tell a URL of every post, signed")
    webhook.add_argument("url", help="an https:// URL (http:// only on this machine)")
    webhook.add_argument(
        "--services", default="all", help="service names or slugs, comma-separated (default: all)"
    )
    key = sub.add_parser("key", help="a webhook subscriber's signing key")
    key.add_argument("id", type=int, help="the subscriber's number, from `crier subscribers list`")
    remove = sub.add_parser("remove", help="delete a subscriber (an email address is erased)")
    remove.add_argument(
        "id", type=int, help="the subscriber's number, from `crier subscribers list`"
    )
    parser.set_defaults(run=run_subscribers)


def run_subscribers(args: argparse.Namespace, settings: Settings) -> int:
    config = load_config(settings.resolved_config_path())
    command = args.subscribers_command
    store = open_to_read(settings, sandbox=getattr(args, "sandbox", False))
    now = datetime.now(UTC)
    if command in ("list", "export"):
        with store.transaction() as session:
            rows = subscribers.export(session)
        if command == "export":
            json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
            print()
        elif not rows:
            print("Nobody subscribes yet.")
        for row in rows if command == "list" else []:
            services = row["services"] if row["services"] == "all" else ", ".join(row["services"])
            print(f"#{row['id']} · {row['kind']} · {row['address']} · {services}")
        return 0
    links = _links(settings, config)
    if command == "add-webhook":
        if links is None:
            print(WITHOUT_SITE_KEY, file=sys.stderr)
            return 2
        if not _acceptable_url(args.url):
            print(
                "crier: a webhook's URL must start with https:// (http:// only for "
                "127.0.0.1 or localhost)",
                file=sys.stderr,
            )
            return 2
        try:
            services = subscribers.chosen_services(config, args.services.split(","))
        except CrierError as problem:
            print(f"crier: {problem}", file=sys.stderr)
            return 2
        with store.transaction() as session:
            added = subscribers.add_webhook(session, args.url, services, now=now)
            added_id = added.id
        assert added_id is not None
        print(f"Webhook subscriber #{added_id}: {args.url} ({', '.join(services) or 'all'})")
        print(f"Its signing key (keep it secret): {links.webhook_key(added_id).decode()}")
        return 0
    if command == "key":
        if links is None:
            print(WITHOUT_SITE_KEY, file=sys.stderr)
            return 2
        with store.transaction() as session:
            found = session.get(Subscriber, args.id)
            is_webhook = found is not None and found.kind == SubscriberKind.WEBHOOK
        if not is_webhook:
            print(f"crier: there is no webhook subscriber #{args.id}", file=sys.stderr)
            return 1
        print(links.webhook_key(args.id).decode())
        return 0
    with store.transaction() as session:  # remove
        removed = subscribers.remove(session, args.id)
    if removed is None:
        print(f"crier: there is no subscriber #{args.id}", file=sys.stderr)
        return 1
    print(f"Removed subscriber #{args.id} ({removed.kind}); nothing of it is kept.")
    return 0


def _links(settings: Settings, config: Any) -> Links | None:
    if settings.site_secret is None:
        return None
    site = sender_of(config, settings).site_url
    return Links(settings.site_secret.get_secret_value(), clock=SystemClock(), site_url=site)


def _acceptable_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}
