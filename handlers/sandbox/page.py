"""The sandbox's web page: a Slack-like channel, the published posts, and a JSON state to poll.

GET  /                  the page (``?user=U…&channel=C…``), rendered on the server
GET  /api/state         the page's changing parts as HTML fragments, for the script to swap
POST /api/command       the message box: ``{user, channel, text, thread_ts?}``
POST /api/action        a button: ``{user, channel, ts, block_id, action_id}``
POST /api/submit        a modal: ``{user, view_id, values: {block_id: value | [values]}}``
POST /api/close         a modal's Cancel: ``{user, view_id}``
POST /api/clock         jump ahead: ``{minutes}``, so reminders come due without waiting
POST /api/listen        a network panel's *Receive* button: ``{network, what: replies|surge}``
GET  /outbox/{id}       one published post (Crier's *view post* links point here)
GET  /mailbox/{id}      one email a subscriber was sent (the subscribers' mailbox)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader

from bot.config import Network
from bot.core import Core
from handlers.sandbox.blocks import view_html
from handlers.sandbox.clock import JumpingClock
from handlers.sandbox.frontend import SlackFrontend
from handlers.sandbox.listening import SandboxListening
from handlers.sandbox.mailbox import MailboxRenderer, load_mail
from handlers.sandbox.mrkdwn import Names
from handlers.sandbox.networks import PanelRenderer, load_published
from handlers.sandbox.timeline import TimelineRenderer
from handlers.sandbox.workspace_state import JsonDict

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Person:
    """Someone the page can be: their Slack id, name and what they are for."""

    user_id: str
    name: str
    role: str


@dataclass
class SandboxPage:
    """Everything the page's handlers need, passed in by `Sandbox`."""

    frontend: SlackFrontend
    people: list[Person]
    names: Names
    clock: JumpingClock
    core: Core
    cli_hint: str = ""  # how to read what the sandbox keeps with the ``crier`` CLI
    listening: SandboxListening | None = None  # the made-up public of the panels' buttons

    def __post_init__(self) -> None:
        zone = self.core.config.organisation.zone
        self.timeline = TimelineRenderer(state=self.frontend.workspace, names=self.names, zone=zone)
        self.panels = PanelRenderer(self.core.config)
        self.mailbox = MailboxRenderer(zone)
        templates = Environment(loader=FileSystemLoader(HERE), autoescape=True)
        self._template = templates.get_template("page.html")

    # ----- reading the request ----------------------------------------------------------------

    def _user(self, value: object) -> str:
        wanted = str(value or "")
        known = [p.user_id for p in self.people]
        return wanted if wanted in known else known[0]

    def _channel(self, value: object) -> str:
        wanted = str(value or "")
        return wanted if wanted in self.names.channels else next(iter(self.names.channels))

    async def _body(self, request: web.Request) -> JsonDict:
        # JSON only: another site's page cannot send that without a CORS preflight we refuse.
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="send application/json")
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="expected a JSON object") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return body

    # ----- what the page shows ----------------------------------------------------------------

    async def state(self, user: str, channel: str) -> JsonDict:
        """The parts of the page that change, rendered for one person in one channel."""
        view = self.frontend.modal_for(user)
        modal = (
            None
            if view is None
            else {
                "id": view["id"],
                "hash": view["hash"],
                "html": view_html(view, self.names, self.frontend.zone),
            }
        )
        return {
            "user": user,
            "channel": channel,
            "timeline": self.timeline.channel(channel, viewer=user),
            "modal": modal,
            "published": self.panels.panels(
                await self.core.store.run(load_published),
                listened=await self.core.store.read(self.listening.targets)
                if self.listening is not None
                else {},
            ),
            "mailbox": self.mailbox.panel(await self.core.store.run(load_mail))
            if self._has_mailbox
            else None,
            "clock": self._clock_text(),
        }

    @property
    def _has_mailbox(self) -> bool:
        """Whether the status site offers email subscriptions, whose emails the mailbox shows."""
        subscriptions = self.core.subscriptions
        return subscriptions is not None and subscriptions.desk is not None

    def _clock_text(self) -> str:
        now = self.clock.now().astimezone(self.core.config.organisation.zone)
        ahead = int(self.clock.offset.total_seconds() // 60)
        shown = now.strftime("%a %-I:%M %p %Z")
        return f"{shown} (+{ahead // 60} h {ahead % 60} min)" if ahead else shown

    # ----- handlers -----------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        """The page, or (at /api/state) its changing parts as JSON."""
        user = self._user(request.query.get("user"))
        state = await self.state(user, self._channel(request.query.get("channel")))
        if request.path == "/api/state":
            return web.json_response(state)
        return web.Response(text=self._page(state), content_type="text/html")

    async def api_gesture(self, request: web.Request) -> web.Response:
        """The message box, a button, a modal's Submit or Cancel."""
        body = await self._body(request)
        user, channel = self._user(body.get("user")), self._channel(body.get("channel"))

        def field(name: str) -> str:
            return str(body.get(name) or "")

        match request.match_info["gesture"]:
            case "command":
                thread_ts = field("thread_ts") or None
                outcome = await self.frontend.command(
                    user, channel, field("text"), thread_ts=thread_ts
                )
            case "action":
                outcome = await self.frontend.click(
                    user,
                    channel,
                    field("ts"),
                    block_id=field("block_id"),
                    action_id=field("action_id"),
                )
            case "submit":
                values = body.get("values")
                entered = values if isinstance(values, dict) else {}
                outcome = await self.frontend.submit(user, field("view_id"), entered)
            case _:
                outcome = self.frontend.close(user, field("view_id"))
        return web.json_response(asdict(outcome))

    async def api_clock(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        minutes = body.get("minutes")
        if not isinstance(minutes, int) or not 0 < minutes <= 24 * 60:
            return web.json_response({"notice": "Jump 1 to 1440 minutes ahead."}, status=400)
        await self.clock.jump(self.core, minutes)
        return web.json_response({"notice": f"It is now {self._clock_text()}."})

    async def api_listen(self, request: web.Request) -> web.Response:
        """The public speaks on a network: replies to its newest post, or a surge of mentions."""
        body = await self._body(request)
        what = body.get("what")
        try:
            network = Network(str(body.get("network") or ""))
        except ValueError:
            network = None
        if self.listening is None or network not in self.listening.networks:
            return web.json_response({"notice": "Crier does not listen there."}, status=400)
        if what == "replies":
            notice = await self.listening.receive_replies(network)
        elif what == "surge":
            notice = await self.listening.receive_surge(network)
        else:
            return web.json_response({"notice": "Receive replies or a surge."}, status=400)
        return web.json_response({"notice": notice})

    async def outbox_entry(self, request: web.Request) -> web.Response:
        entry_id = int(request.match_info["entry_id"])
        found = await self.core.store.run(lambda s: load_published(s, only_id=entry_id))
        if not found:
            raise web.HTTPNotFound()
        card = self.panels.post(found[0])
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            f"<title>Published post #{entry_id} · Crier sandbox</title>"
            '<link rel="stylesheet" href="/static/sandbox.css">'
            f'<body class="single"><main class="single-post"><p class="dry-run">Dry run: '
            f"this is what Crier published to the outbox.</p>{card}"
            '<p><a href="/">← back to the sandbox</a></p></main></body></html>'
        )
        return web.Response(text=page, content_type="text/html")

    async def mailbox_entry(self, request: web.Request) -> web.Response:
        mail_id = int(request.match_info["mail_id"])
        found = await self.core.store.run(lambda s: load_mail(s, only_id=mail_id))
        if not found:
            raise web.HTTPNotFound()
        card = self.mailbox.mail(found[0], opened=True)
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            f"<title>Email #{mail_id} · Crier sandbox</title>"
            '<link rel="stylesheet" href="/static/sandbox.css">'
            f'<body class="single"><main class="single-post"><p class="dry-run">Dry run: '
            f"this is the email Crier kept in the outbox (no CRIER_SMTP_URL).</p>{card}"
            '<p><a href="/">← back to the sandbox</a></p></main></body></html>'
        )
        return web.Response(text=page, content_type="text/html")

    # ----- the page ---------------------------------------------------------------------------

    def _page(self, state: JsonDict) -> str:
        user, channel = state["user"], state["channel"]
        hints = [
            {"command": c.command, "hint": c.usage_hint, "description": c.description}
            for c in self.frontend.commands.values()
        ]
        organisation = self.core.config.organisation
        return self._template.render(
            state=state,
            user=user,
            channel=channel,
            me=next(p for p in self.people if p.user_id == user),
            people=self.people,
            channels=self.names.channels,
            hints=json.dumps(hints),
            # The people of the sandbox are the organisation's: their Slack shows its time zone.
            boot=json.dumps({"user": user, "channel": channel, "zone": organisation.zone.key}),
            note=f"a pretend Slack workspace for {organisation.display_name}; posts go to the "
            "outbox, never to the real networks",
            cli_hint=self.cli_hint,
            # Crier's own status site is real here, at the page's address: link it.
            site_path=self.core.config.site.path if self.core.site is not None else None,
        )


def build_page_app(page: SandboxPage) -> web.Application:
    """The aiohttp application that serves the page, its files and its JSON."""
    app = web.Application(client_max_size=256 * 1024)
    app.router.add_get("/", page.index)
    app.router.add_get("/api/state", page.index)
    app.router.add_post("/api/{gesture:command|action|submit|close}", page.api_gesture)
    app.router.add_post("/api/clock", page.api_clock)
    app.router.add_post("/api/listen", page.api_listen)
    app.router.add_get(r"/outbox/{entry_id:\d+}", page.outbox_entry)
    app.router.add_get(r"/mailbox/{mail_id:\d+}", page.mailbox_entry)
    app.router.add_static("/static/", HERE / "static", follow_symlinks=False)
    return app
