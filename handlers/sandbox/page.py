"""The sandbox's web page: a Slack-like channel, the published posts, and a JSON state to poll.

GET  /                  the page (``?user=U…&channel=C…``), rendered on the server
GET  /api/state         the page's changing parts as HTML fragments, for the script to swap
POST /api/command       the message box: ``{user, channel, text, thread_ts?}``
POST /api/action        a button: ``{user, channel, ts, block_id, action_id}``
POST /api/submit        a modal: ``{user, view_id, values: {block_id: value | [values]}}``
POST /api/close         a modal's Cancel: ``{user, view_id}``
POST /api/clock         jump ahead: ``{minutes}``, so reminders come due without waiting
GET  /outbox/{id}       one published post (Crier's *view post* links point here)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.core import Core
from handlers.sandbox.blocks import view_html
from handlers.sandbox.clock import JumpingClock
from handlers.sandbox.frontend import SlackFrontend
from handlers.sandbox.mrkdwn import Names, escape
from handlers.sandbox.networks import PanelRenderer, load_published
from handlers.sandbox.timeline import TimelineRenderer

STATIC = Path(__file__).parent / "static"
JsonDict = dict[str, Any]


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
    channels: dict[str, str]
    names: Names
    clock: JumpingClock
    core: Core
    cli_hint: str = ""  # how to read what the sandbox keeps with the ``crier`` CLI

    def __post_init__(self) -> None:
        zone = self.core.config.organisation.zone
        self.timeline = TimelineRenderer(
            state=self.frontend.workspace.state, names=self.names, zone=zone
        )
        self.panels = PanelRenderer(self.core.config)

    # ----- reading the request ----------------------------------------------------------------

    def _user(self, value: object) -> str:
        wanted = str(value or "")
        known = [p.user_id for p in self.people]
        return wanted if wanted in known else known[0]

    def _channel(self, value: object) -> str:
        wanted = str(value or "")
        return wanted if wanted in self.channels else next(iter(self.channels))

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

    def _modal(self, user: str) -> JsonDict | None:
        view = self.frontend.modal_for(user)
        if view is None:
            return None
        return {"id": view["id"], "hash": view["hash"], "html": view_html(view, self.names)}

    async def state(self, user: str, channel: str) -> JsonDict:
        """The parts of the page that change, rendered for one person in one channel."""
        return {
            "user": user,
            "channel": channel,
            "timeline": self.timeline.channel(channel, viewer=user),
            "modal": self._modal(user),
            "published": self.panels.panels(await self.core.store.run(load_published)),
            "clock": self._clock_text(),
        }

    def _clock_text(self) -> str:
        now = self.clock.now().astimezone(self.core.config.organisation.zone)
        ahead = int(self.clock.offset.total_seconds() // 60)
        shown = now.strftime("%a %-I:%M %p %Z")
        return f"{shown} (+{ahead // 60} h {ahead % 60} min)" if ahead else shown

    # ----- handlers -----------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        user = self._user(request.query.get("user"))
        channel = self._channel(request.query.get("channel"))
        state = await self.state(user, channel)
        return web.Response(text=self._page(state), content_type="text/html")

    async def api_state(self, request: web.Request) -> web.Response:
        user = self._user(request.query.get("user"))
        channel = self._channel(request.query.get("channel"))
        return web.json_response(await self.state(user, channel))

    async def api_command(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        outcome = await self.frontend.command(
            self._user(body.get("user")),
            self._channel(body.get("channel")),
            str(body.get("text") or ""),
            thread_ts=str(body["thread_ts"]) if body.get("thread_ts") else None,
        )
        return web.json_response(asdict(outcome))

    async def api_action(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        outcome = await self.frontend.click(
            self._user(body.get("user")),
            self._channel(body.get("channel")),
            str(body.get("ts") or ""),
            block_id=str(body.get("block_id") or ""),
            action_id=str(body.get("action_id") or ""),
        )
        return web.json_response(asdict(outcome))

    async def api_submit(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        values = body.get("values")
        outcome = await self.frontend.submit(
            self._user(body.get("user")),
            str(body.get("view_id") or ""),
            values if isinstance(values, dict) else {},
        )
        return web.json_response(asdict(outcome))

    async def api_close(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        outcome = self.frontend.close(self._user(body.get("user")), str(body.get("view_id") or ""))
        return web.json_response(asdict(outcome))

    async def api_clock(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        minutes = body.get("minutes")
        if not isinstance(minutes, int) or not 0 < minutes <= 24 * 60:
            return web.json_response({"notice": "Jump 1 to 1440 minutes ahead."}, status=400)
        await self.clock.jump(self.core, minutes)
        return web.json_response({"notice": f"It is now {self._clock_text()}."})

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

    # ----- the page ---------------------------------------------------------------------------

    def _page(self, state: JsonDict) -> str:
        user, channel = state["user"], state["channel"]
        me = next(p for p in self.people if p.user_id == user)
        people = "".join(
            f'<option value="{escape(p.user_id)}"{" selected" if p.user_id == user else ""}>'
            f"{escape(p.name)} — {escape(p.role)}</option>"
            for p in self.people
        )
        channels = "".join(
            f'<a class="side-channel{" active" if cid == channel else ""}" '
            f'href="/?channel={escape(cid)}&amp;user={escape(user)}" '
            f'data-channel="{escape(cid)}"># {escape(name)}</a>'
            for cid, name in self.channels.items()
        )
        hints = json.dumps(
            [
                {"command": c.command, "hint": c.usage_hint, "description": c.description}
                for c in self.frontend.commands.values()
            ]
        )
        modal = state["modal"]
        modal_html = modal["html"] if modal else ""
        # The people of the sandbox are the organisation's: their Slack shows its time zone.
        zone = self.core.config.organisation.zone.key
        boot = json.dumps({"user": user, "channel": channel, "zone": zone})
        note = escape(
            f"a pretend Slack workspace for {self.core.config.organisation.display_name}; posts go "
            "to the outbox, never to the real networks"
        )
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>#{escape(self.channels[channel])} · Crier sandbox</title>
<link rel="stylesheet" href="/static/sandbox.css"><link rel="icon" href="data:,">
</head><body data-boot="{escape(boot)}" data-commands="{escape(hints)}">
<header class="topbar"><span class="brand">📣 Crier sandbox</span>
<span class="topbar-note" title="{note}">{note}</span>
<span class="clock" title="Crier's clock: jump ahead to see reminders come due">🕒
<span id="clock-now">{escape(state["clock"])}</span>
<button type="button" class="bk-btn clock-jump" data-minutes="15">+15 min</button>
<button type="button" class="bk-btn clock-jump" data-minutes="60">+1 h</button>
<button type="button" class="bk-btn clock-jump" data-minutes="1440">+1 day</button></span>
<label class="whoami"><span class="whoami-label">Who am I</span>
<select id="whoami" name="whoami" aria-label="Who am I">{people}</select></label></header>
<div class="layout">
<nav class="sidebar"><div class="side-title">Channels</div>{channels}
<div class="side-title">You are</div><div class="side-me" id="side-me">{escape(me.name)}</div>
</nav>
<main class="channel"><header class="channel-head"><h1># {escape(self.channels[channel])}</h1>
<span class="channel-topic">Outage comms. Crier posts each incident here; drafts wait in the
incident's thread for an approver.</span></header>
<div id="timeline" class="timeline">{state["timeline"]}</div>
<div id="notice" class="notice" role="status" hidden></div>
<form id="composer" class="composer" autocomplete="off">
<div id="command-hint" class="command-hint" hidden></div>
<textarea id="message" rows="1" aria-label="Message"
placeholder="Message #{escape(self.channels[channel])} — try /outage"></textarea>
<button type="submit" class="send" aria-label="Send">➤</button></form></main>
<aside class="published"><h2>Published <small>(dry run: the outbox)</small></h2>
<div id="published">{state["published"]}</div>
<p class="cli-hint">{escape(self.cli_hint)}</p></aside>
</div>
<div id="modal-layer" class="modal-layer"{"" if modal else " hidden"}>{modal_html}</div>
<dialog id="confirm" class="confirm"><form method="dialog"><h2 id="confirm-title"></h2>
<p id="confirm-text"></p><footer><button value="deny" class="bk-btn" id="confirm-deny"></button>
<button value="ok" class="bk-btn bk-primary" id="confirm-ok"></button></footer></form></dialog>
<script src="/static/sandbox.js"></script>
</body></html>"""


def build_page_app(page: SandboxPage) -> web.Application:
    """The aiohttp application that serves the page, its files and its JSON."""
    app = web.Application(client_max_size=256 * 1024)
    app.router.add_get("/", page.index)
    app.router.add_get("/api/state", page.api_state)
    app.router.add_post("/api/command", page.api_command)
    app.router.add_post("/api/action", page.api_action)
    app.router.add_post("/api/submit", page.api_submit)
    app.router.add_post("/api/close", page.api_close)
    app.router.add_post("/api/clock", page.api_clock)
    app.router.add_get(r"/outbox/{entry_id:\d+}", page.outbox_entry)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    return app
