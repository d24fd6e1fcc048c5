"""``crier`` sub-commands that need only the core: db, outbox, export, site export, templates,
config, channels check.

``handlers.main`` adds ``serve`` (which needs the chat platforms) to this parser. Every command,
``serve`` too, runs through ``run``: the settings are read first (a bad secret file is one line),
then everything the command prints or logs is masked of every configured secret, and a database
that cannot be opened is one line too.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import re
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import SQLModel

from bot.config import ConfigError, Network, load_config, problems
from bot.listening.record import reaction, reaction_markdown
from bot.log_format import log_handler
from bot.maintenance.cli import add_maintenance_commands
from bot.ports import Actor
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.outbox import recent_outbox
from bot.redaction import Redactor, masked_output, redact_logs
from bot.settings import Settings
from bot.storage import audit
from bot.storage import models as _tables  # noqa: F401  (the tables a scratch store needs)
from bot.storage.finding import (
    NEVER_SET_UP,
    SANDBOX_HELP,
    is_missing_table,
    open_to_read,
    sqlite_file,
)
from bot.storage.schema import current_revision, head_revision, upgrade
from bot.storage.store import CannotOpenDatabase, Store, open_store
from bot.subscriptions.cli import add_subscriber_commands
from bot.views import NETWORK_LABELS


def _db(args: argparse.Namespace, settings: Settings) -> int:
    path = sqlite_file(settings.database_url)
    if args.db_command == "status" and path and path.parent.is_dir() and not path.exists():
        # Looking must not create: an empty crier.db would then hide the sandbox's data.
        print(f"database revision: none (no file {path.absolute()} yet; `crier db upgrade`)")
        return 0
    store = open_store(settings.database_url)
    if args.db_command == "upgrade":
        upgrade(store, args.revision)
        print(f"database at revision {current_revision(store)}")
    else:
        print(
            f"database revision: {current_revision(store) or 'empty'}; "
            f"this Crier needs: {head_revision()}"
        )
    return 0


def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    zone = load_config(settings.resolved_config_path()).organisation.zone
    store = open_to_read(settings, sandbox=args.sandbox)
    with store.transaction() as session:
        entries = recent_outbox(session, limit=args.limit, network=args.network)
        if not entries:
            print("The outbox is empty: nothing has been published as a dry run yet.")
        for entry in entries:
            # In the organisation's zone, as every time Crier shows people.
            when = entry.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
            reply = f" (reply to {entry.reply_to})" if entry.reply_to else ""
            print(f"#{entry.id} · {entry.network} · {when} · incident {entry.incident_id}{reply}")
            print("    " + entry.text.replace("\n", "\n    "))
            print()
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    config = load_config(settings.resolved_config_path())
    store = open_to_read(settings, sandbox=args.sandbox)
    with store.transaction() as session:
        try:
            print(audit.export_markdown(session, incident_id=args.incident, config=config), end="")
            if found := reaction(session, args.incident):
                print("\n" + "\n".join(reaction_markdown(found, config.organisation.zone)))
        except LookupError:
            print(f"crier: there is no incident #{args.incident}", file=sys.stderr)
            return 1
    return 0


def _site(args: argparse.Namespace, settings: Settings) -> int:
    from bot.site import site_url
    from bot.site.build import build_site
    from bot.site.export import CannotExport, export_site

    config = load_config(settings.resolved_config_path())
    store = open_to_read(settings, sandbox=args.sandbox)
    # The root's URL ends with "/": the pages' links are relative to it.
    root = (args.url or site_url(settings.public_url, config.site.path)).rstrip("/") + "/"
    logo_url = config.organisation.logo_url
    with store.transaction() as session:
        build = build_site(
            session, config=config, now=datetime.now(UTC), site_url=root, logo_url=logo_url
        )
    try:
        written = export_site(build, args.out)
    except CannotExport as exc:
        print(f"crier: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote the status site ({len(written)} files) to {args.out.absolute()}")
    return 0


def _templates(args: argparse.Namespace, settings: Settings) -> int:
    from bot.drafting.drafter import Drafter

    config = load_config(settings.resolved_config_path())
    for name in Drafter(templates_dir=config.templates_dir).template_names():
        print(name)
    return 0


def _config(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.resolved_config_path()
    config = load_config(path)
    print(
        f"{path}: OK — {config.organisation.name}, {len(config.services)} services, "
        f"channels: {', '.join(c.value for c in config.enabled_channels)}; "
        f"time now there: {datetime.now(config.organisation.zone):%-I:%M %p %Z}"
    )
    from bot.drafting.drafter import Drafter, summary_room

    room = summary_room(config, Drafter(templates_dir=config.templates_dir))
    print(
        f"summary: up to {room.characters} characters goes out whole on every channel "
        f"({NETWORK_LABELS[room.tightest]} is the tightest); longer ones are shortened there"
    )
    return 0


def _channels(args: argparse.Namespace, settings: Settings) -> int:
    from bot.publishing.checks import run_channel_check

    config = load_config(settings.resolved_config_path())
    with tempfile.TemporaryDirectory(prefix="crier-check-") as scratch:
        store = _store_for_checks(settings, Path(scratch))
        try:
            return asyncio.run(run_channel_check(config=config, settings=settings, store=store))
        finally:
            store.dispose()


def _store_for_checks(settings: Settings, scratch: Path) -> Store:
    """Crier's database when it is set up (the checks' requests then count in the pace the
    running Crier keeps for each key); else a scratch one: a check creates no file and needs
    no ``crier db upgrade``."""
    path = sqlite_file(settings.database_url)
    if path is None or path.exists():
        store = open_store(settings.database_url)
        if inspect(store.engine).has_table("pace"):
            return store
        store.dispose()
    store = open_store(f"sqlite:///{scratch / 'check.db'}")
    SQLModel.metadata.create_all(store.engine)
    return store


OPERATOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,59}$")


def operator(args: argparse.Namespace) -> Actor:
    """Who runs the CLI: ``--as NAME``, else the OS user (``cli:<name>`` in the audit log).

    A local operator proposes; it never approves (``bot.incidents.approvers``): what goes public
    from the CLI still needs an approver in chat."""
    name = (getattr(args, "as_name", None) or "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no user name for this uid (a bare container)
            raise ValueError("cannot tell who you are: say it with --as NAME") from None
    if not OPERATOR.match(name):
        raise ValueError(f"{name!r} is not a name for --as (letters, digits, . _ @ -; 60 at most)")
    return Actor("cli", name)


def _calendar(args: argparse.Namespace, settings: Settings) -> int:
    from bot.drafting.post_times import format_time
    from bot.errors import CrierError
    from bot.scheduling import calendar

    config = load_config(settings.resolved_config_path())
    # Listing only reads: it finds the sandbox's data and never creates a file.
    reading = args.calendar_command == "list"
    store = open_to_read(settings) if reading else open_store(settings.database_url)
    zone = config.organisation.zone
    now = datetime.now(UTC)
    with store.transaction() as session:
        if args.calendar_command == "add":
            try:
                actor = operator(args)
                due = datetime.fromisoformat(args.at)
                due = due if due.tzinfo else due.replace(tzinfo=zone)
                entry = calendar.add(
                    session,
                    config=config,
                    text=args.text,
                    channels=args.channels,
                    due_at=due,
                    actor=actor,
                    now=now,
                )
            except (ValueError, CrierError) as exc:  # a CrierError's text is its message
                print(f"crier: {exc}", file=sys.stderr)
                return 2
            where = (
                f"the comms channel ({config.slack.comms_channel})"
                if config.slack.comms_channel
                else "chat (set slack.comms_channel in crier.yml so Slack's approvers see it)"
            )
            print(
                f"Proposed #{entry.id} as {actor.key} for "
                f"{entry.due_at.astimezone(zone):%a %d %b %-I:%M %p %Z} on "
                f"{', '.join(entry.channels)}. It is scheduled once an approver (not you) "
                f"approves it: Crier shows it to them in {where}."
            )
            return 0
        entries = calendar.upcoming(session, now=now)
        if not entries:
            print("Nothing scheduled.")
        for item in entries:
            state = item.state
            if item.state == calendar.CalendarState.PENDING:
                state = f"pending: proposed by {item.created_by}, waits for an approver"
            elif item.decided_by:
                when = f" at {format_time(item.decided_at, zone)}" if item.decided_at else ""
                state += f" (approved by {item.decided_by}{when})"
            held = (
                f" (held by {item.held_until})" if item.state == calendar.CalendarState.HELD else ""
            )
            print(
                f"#{item.id} · {item.due_at.astimezone(zone):%a %d %b %-I:%M %p %Z} · "
                f"{', '.join(item.channels)} · {state}{held}"
            )
            print("    " + item.text.replace("\n", "\n    "))
    return 0


def channel_list(value: str) -> tuple[Network, ...]:
    """``x,mastodon`` as networks; an unknown name is an error naming the known ones."""
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in set(Network)]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown channel {', '.join(map(repr, unknown)) or '(none given)'}: "
            f"choose from {', '.join(n.value for n in Network)}"
        )
    return tuple(Network(name) for name in names)


def describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """Each sub-command's ``--help`` opens with the line its parent's list shows for it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                sub.description = sub.description or helps.get(name)
                describe_subcommands(sub)


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(prog="crier", description="Outage communications bot.")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    up = db_commands.add_parser("upgrade", help="bring the database up to date")
    up.add_argument(
        "revision", nargs="?", default="head", help="the schema revision (default: the latest)"
    )
    db_commands.add_parser("status", help="show the schema revision")
    db.set_defaults(run=_db)
    outbox = commands.add_parser("outbox", help="list dry-run posts, newest first")
    outbox.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    outbox.add_argument(
        "--network",
        default=None,
        choices=[network.value for network in Network],
        help="only this network's posts (default: all)",
    )
    outbox.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    outbox.set_defaults(run=_outbox)
    export = commands.add_parser("export", help="an incident's timeline as Markdown")
    export.add_argument("incident", type=int, help="the incident's number, as in chat (#12)")
    export.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    export.set_defaults(run=_export)
    site = commands.add_parser("site", help="Crier's public status site")
    site_commands = site.add_subparsers(dest="site_command", required=True)
    site_export = site_commands.add_parser(
        "export", help="write the status site as static files, for any web server or CDN"
    )
    site_export.add_argument(
        "--out", required=True, type=Path, help="the folder to write to (created if missing)"
    )
    site_export.add_argument(
        "--url",
        default=None,
        help="the site's address where it will be served, for feeds and JSON "
        "(default: CRIER_PUBLIC_URL and channels.site.path, where crier serve answers it)",
    )
    site_export.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    site.set_defaults(run=_site)
    commands.add_parser("templates", help="list the post templates").set_defaults(run=_templates)
    commands.add_parser("config", help="check crier.yml").set_defaults(run=_config)
    channels = commands.add_parser("channels", help="the public channels Crier publishes to")
    channels_commands = channels.add_subparsers(dest="channels_command", required=True)
    channels_commands.add_parser(
        "check", help="ask each enabled network whether its credentials work; posts nothing"
    )
    channels.set_defaults(run=_channels)
    cal = commands.add_parser("calendar", help="the content calendar")
    cal_commands = cal.add_subparsers(dest="calendar_command", required=True)
    cal_add = cal_commands.add_parser(
        "add", help="propose a post; an approver schedules it from chat"
    )
    cal_add.add_argument(
        "--at", required=True, help="when, e.g. 2026-12-01T10:00 (the organisation's time zone)"
    )
    cal_add.add_argument(
        "--channels",
        required=True,
        type=channel_list,
        help=f"comma-separated, of: {', '.join(n.value for n in Network)}",
    )
    cal_add.add_argument(
        "--as",
        dest="as_name",
        default=None,
        help="the operator's name in the audit log (default: your OS user name)",
    )
    cal_add.add_argument("text", help="the post's text, as it will be published")
    cal_commands.add_parser("list", help="what waits for approval, is scheduled or is held")
    cal.set_defaults(run=_calendar)
    add_subscriber_commands(commands)
    add_maintenance_commands(commands)
    return parser, commands


def run(args: argparse.Namespace) -> int:
    """Run the parsed command: 0 when it did what was asked; 2 when it cannot start (the
    settings, crier.yml, the database), each said in one line; 1 for a failure of its own."""
    try:
        settings, credentials = Settings(), NetworkCredentials()
    except (ConfigError, ValidationError) as exc:
        # A ValidationError's own text shows the input: only the variable and what is wrong.
        problem = problems(exc) if isinstance(exc, ValidationError) else exc
        print(f"crier: cannot start: {problem}", file=sys.stderr)
        return 2
    # Every configured secret is masked in all that this process prints and logs from here on,
    # whatever printed it: an echoed token in a network's refusal, a traceback.
    redact = Redactor.from_settings(settings, credentials)
    redact_logs(redact)
    command: Callable[[argparse.Namespace, Settings], int] = args.run
    with masked_output(redact):
        # The handler writes to the masked stderr; CRIER_LOG_FORMAT=json: one object a line.
        logging.basicConfig(
            level=settings.log_level.upper(), handlers=[log_handler(settings.log_format)]
        )
        try:
            return command(args, settings)
        except ConfigError as exc:
            print(f"crier: configuration problem: {exc}", file=sys.stderr)
            return 2
        except CannotOpenDatabase as exc:
            where = f" {exc.where}" if exc.where else ""
            print(f"crier: cannot open the database{where}: {exc.why}", file=sys.stderr)
            return 2
        except (OperationalError, ProgrammingError) as exc:
            if not is_missing_table(exc):
                traceback.print_exc()
                return 1
            print(f"crier: the database {NEVER_SET_UP}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
        except Exception:
            traceback.print_exc()  # to the masked stderr, unlike Python's own report
            return 1
