"""The HTTP server of ``crier serve``: Slack, Teams, health, the outbox, and the workers."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.chat.context import chat_context
from bot.config import CrierConfig, Network, load_config
from bot.core import Core, build_core
from bot.listening.heard import ListeningSource
from bot.listening.poller import start_polling
from bot.ports import ChatPresenter, Clock, Directory, Publisher, SystemClock
from bot.publishing.cards import cards_folder, read_card
from bot.publishing.credentials import NetworkCredentials
from bot.redaction import Redactor, redact_logs
from bot.scheduling import calendar, channel_health
from bot.settings import Settings
from bot.storage.models import OutboxPost
from bot.storage.schema import ensure_current
from bot.storage.store import Store, open_store
from handlers.metrics import add_metrics
from handlers.refusals import quiet_malformed_http
from handlers.site_forms import add_status_site
from handlers.slack.app import SlackSide, build_slack, events_off, slack_chat
from handlers.teams.switch import teams_off, teams_wanted

if TYPE_CHECKING:
    from handlers.teams.app import TeamsSide

log = logging.getLogger(__name__)

CORE_KEY = web.AppKey("core", Core)
MAX_BODY = 1024 * 1024  # Slack sends far less; anything larger is refused with 413
MAX_ID = 2**31 - 1  # the largest id an integer column holds on PostgreSQL


@dataclass
class Crier:
    """Everything one process runs, built in one place and passed in."""

    core: Core
    slack: SlackSide | None
    web: web.Application
    teams: TeamsSide | None = None
    # False: no publishing and scheduling loops (tests tick them); the work answers promised
    # (bot/scheduling/work.py) always runs.
    runs_background: bool = True


async def healthz(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        await core.store.run(lambda s: s.connection().exec_driver_sql("SELECT 1"))
    except Exception as exc:
        log.warning("health check: database unavailable: %s", type(exc).__name__)
        return web.json_response({"ok": False, "database": "unavailable"}, status=503)
    return web.json_response({"ok": True, "database": "ok"})


async def outbox_entry(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    digits = request.match_info["entry_id"]
    # ASCII digits, within the id column (PostgreSQL's integer): a larger number given to the
    # database was a 500 with a traceback; int() would also read "1_0", "+1" and other scripts'.
    fits = digits.isascii() and digits.isdigit() and len(digits) <= len(str(MAX_ID))
    entry_id = int(digits) if fits else 0
    if not 0 < entry_id <= MAX_ID:
        raise web.HTTPNotFound()
    entry = await core.store.run(lambda s: s.get(OutboxPost, entry_id))
    if entry is None:
        raise web.HTTPNotFound()
    page = (
        f"<!doctype html><meta charset=utf-8><title>Outbox #{entry.id}</title>"
        f"<h1>{html.escape(entry.network)} (dry run)</h1>"
        f"<p>{html.escape(entry.created_at.isoformat())}</p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(entry.text)}</pre>"
    )
    return web.Response(text=page, content_type="text/html")


async def card_image(request: web.Request) -> web.Response:
    """A status card (``/cards/{name}.png``, or ``.jpg`` for Instagram), public by design."""
    core = request.app[CORE_KEY]
    name, ext = request.match_info["name"], request.match_info["ext"]
    data = await asyncio.to_thread(read_card, cards_folder(core.settings), name, ext)
    if data is None:
        raise web.HTTPNotFound()
    kind = "image/png" if ext == "png" else "image/jpeg"
    # A card's name is the hash of what it shows, so it never changes.
    cache = {"Cache-Control": "public, max-age=604800, immutable"}
    return web.Response(body=data, content_type=kind, headers=cache)


def build_crier(
    *,
    settings: Settings,
    config: CrierConfig,
    store: Store,
    clock: Clock | None = None,
    publishers: dict[Network, Publisher] | None = None,
    credentials: NetworkCredentials | None = None,
    sources: Mapping[Network, ListeningSource] | None = None,
) -> Crier:
    """Wire the chats, the core and the web routes; nothing runs until the app starts.

    The chats' presenters come first and the core is built with them; then each chat's
    listeners are wired to the core. ``publishers``: instead of the networks' (the sandbox's
    outbox, a test's fakes); ``credentials``: the networks' (else from the environment);
    ``sources``: the networks' reading sides, instead of those the credentials give (the
    sandbox's made-up public)."""
    # Defence in depth: a secret reaching a log line anyway (an echoed token) is masked.
    redact_logs(Redactor.from_settings(settings, NetworkCredentials()))
    quiet_malformed_http()  # a request aiohttp cannot parse: one short line, not a traceback
    context = chat_context(config, store, clock)
    slack_side = slack_chat(settings, context)
    teams_side = None
    if teams_wanted(settings):
        from handlers.teams.app import TeamsSide, teams_chat  # the Bot Framework SDK: Teams only

        teams_side = teams_chat(settings, context)
    sides = [side for side in (slack_side, teams_side) if side is not None]
    presenters: dict[str, ChatPresenter] = {s.presenter.platform: s.presenter for s in sides}
    directories: dict[str, Directory] = {}
    if slack_side is not None:
        directories[slack_side.presenter.platform] = slack_side.directory
    core = build_core(
        settings=settings,
        config=config,
        store=store,
        publishers=publishers,
        credentials=credentials,
        chat=context,
        presenters=presenters,
        directories=directories,
        sources=sources,
    )
    slack = None if slack_side is None else build_slack(core, settings, slack_side)
    teams = None if teams_side is None else TeamsSide(core, teams_side)
    app = web.Application(client_max_size=MAX_BODY)
    app[CORE_KEY] = core
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/outbox/{entry_id}", outbox_entry)
    app.router.add_get("/cards/{name:[0-9a-f]{32}}.{ext:png|jpg}", card_image)
    if slack is not None:
        app.router.add_post("/slack/events", slack.handle if slack.over_http else events_off)
        app.cleanup_ctx.append(slack.keep_connections)
    app.router.add_post("/api/messages", teams.handle if teams is not None else teams_off)
    add_status_site(app, core)  # the public status site and its email forms
    add_metrics(app, core)  # GET /metrics, and how long answers take

    async def workers(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(core.run_work(stop))]
        if crier.runs_background:
            tasks.append(asyncio.create_task(core.run_background(stop)))
        yield
        stop.set()
        await asyncio.gather(*tasks)
        await core.close()

    crier = Crier(core=core, slack=slack, web=app, teams=teams)
    app.cleanup_ctx.append(workers)
    return crier


def open_crier(settings: Settings, *, clock: Clock | None = None) -> Crier:
    """From settings to a ready process: config checked, database brought up to date."""
    config = load_config(settings.resolved_config_path())
    store = open_store(settings.database_url)
    log.info(ensure_current(store))
    now = (clock or SystemClock()).now()  # the injected clock's: tests and the sandbox move it
    with store.transaction() as session:
        added = calendar.sync_from_config(session, config=config, now=now)
    if added:
        log.info("scheduled %d calendar post(s) from crier.yml", added)
    health = channel_health.schedule_check(store, config=config, now=now)
    log.info("channel health check: %s", health)
    crier = build_crier(settings=settings, config=config, store=store, clock=clock)
    networks = crier.core.listening.networks
    log.info("%s", start_polling(store, config=config, networks=networks, now=now))
    return crier
