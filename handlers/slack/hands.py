"""Who does the work an ack promised (drafting an ``/outage``, an approval): this process, or
the work process ``crier serve`` starts beside itself.

The work costs far more than the ack: transactions, Slack calls, Block Kit. Done in the process
that acks, it holds the GIL while Slack waits for answers to other requests. So ``crier serve``
acks and hands the work over HTTP on 127.0.0.1 to its work process, which also publishes and
reminds; the person is told of any failure from the process that acked, as before.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.core import Core
from bot.errors import CrierError
from bot.ports import Actor
from bot.requests import parse_quick_declare
from bot.views import Draft, IncidentView
from handlers.slack.common import OOPS, unexpected_failure
from handlers.slack.presenter import SlackPresenter

log = logging.getLogger(__name__)
WORK_PATH = "/internal/work"
SLACK_HINTS = {
    "not_in_channel": " Invite Crier to the comms channel (/invite @Crier) and try again.",
    "channel_not_found": " Check `slack.comms_channel` in crier.yml, and invite Crier there.",
    "invalid_auth": " Crier's Slack token is not valid: check SLACK_BOT_TOKEN.",
    "token_revoked": " Crier's Slack token was revoked: reinstall the app.",
    "account_inactive": " Crier's Slack token was revoked: reinstall the app.",
}
UNREACHABLE = (
    "Crier's work process is not answering, so nothing was saved. "
    "Please try again in a minute; if it keeps happening, restart `crier serve`."
)
UNKNOWN_OUTCOME = (
    "Crier's work process stopped answering while it worked on this, so it may not have "
    "finished. `/outage list` shows what was saved."
)
# Work that goes ahead of new declarations: a decision, and the thread of an incident saved.
URGENT = ("approve", "thread")
# Seconds a piece of work may take, its wait for a turn in the work process included: a flood
# fills that backlog (216 pieces at 3 to 20 a second), and a draft waits on Slack's 429s.
WORK_TIMEOUT = 600.0


class WorkAddress(Protocol):
    """Where the work process listens, and its key (both change if it is restarted)."""

    url: str
    token: str


class Hands(Protocol):
    # True: the work waits for its turn in this process's backlog; False: it is handed over at
    # once and waits in the work process's, so it outlives this process being killed.
    @property
    def queues_here(self) -> bool: ...

    async def declare(self, actor: Actor, text: str, channel: str) -> None: ...

    async def approve(self, actor: Actor, post_id: int) -> None: ...

    async def thread(self, actor: Actor, draft: Draft, channel: str) -> None: ...


async def start_thread(
    core: Core, presenter: SlackPresenter, incident: IncidentView, post_id: int, channel: str
) -> None:
    """Post the incident's thread; if Slack refuses, say what is saved and what to fix."""
    try:
        await presenter.start_thread(incident, channel_id=channel)
    except SlackApiError as exc:
        error = exc.response.get("error", "an error") if exc.response else "an error"
        hint = SLACK_HINTS.get(str(error), "")
        raise CrierError(
            f"Incident #{incident.id} is saved, but Slack refused to post its thread "
            f"({error}).{hint} `/outage list` shows it."
        ) from exc
    await core.show_post(post_id)


@dataclass
class LocalHands:
    """The work done in this process."""

    core: Core
    presenter: SlackPresenter
    queues_here: bool = True

    async def declare(self, actor: Actor, text: str, channel: str) -> None:
        draft = await self.core.declare(actor, parse_quick_declare(text, self.core.config))
        await start_thread(self.core, self.presenter, draft.incident, draft.post.id, channel)

    async def approve(self, actor: Actor, post_id: int) -> None:
        await self.core.approve(actor, post_id)

    async def thread(self, actor: Actor, draft: Draft, channel: str) -> None:
        await start_thread(self.core, self.presenter, draft.incident, draft.post.id, channel)

    async def _thread_of(self, incident_id: int, post_id: int, channel: str) -> None:
        """The thread of an incident declared (by its form) in the process that acked."""
        incident = await self.core.incident(incident_id)
        await start_thread(self.core, self.presenter, incident, post_id, channel)

    def work_for(self, item: Any) -> Coroutine[Any, Any, None]:
        """The work an item handed over by ``RemoteHands`` asks for (ValueError if malformed)."""
        try:
            who = item["actor"]
            actor = Actor(
                platform=str(who["platform"]), user_id=str(who["user_id"]), name=who.get("name")
            )
            if item["kind"] == "declare":
                return self.declare(actor, str(item["text"]), str(item["channel"]))
            if item["kind"] == "approve":
                return self.approve(actor, int(item["post_id"]))
            if item["kind"] == "thread":
                return self._thread_of(
                    int(item["incident_id"]), int(item["post_id"]), str(item["channel"])
                )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed work: {exc!r}") from exc
        raise ValueError(f"unknown kind of work: {item['kind']!r}")


@dataclass
class HandsSwitch:
    """The hands in use: this process's own until ``crier serve`` has started its work process."""

    current: Hands

    @property
    def queues_here(self) -> bool:
        return self.current.queues_here

    async def declare(self, actor: Actor, text: str, channel: str) -> None:
        await self.current.declare(actor, text, channel)

    async def approve(self, actor: Actor, post_id: int) -> None:
        await self.current.approve(actor, post_id)

    async def thread(self, actor: Actor, draft: Draft, channel: str) -> None:
        await self.current.thread(actor, draft, channel)


@dataclass
class RemoteHands:
    """The work handed to the work process; its refusals come back as CrierError."""

    where: WorkAddress
    queues_here: bool = False
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    async def declare(self, actor: Actor, text: str, channel: str) -> None:
        await self._hand_over(
            {"kind": "declare", "actor": _actor(actor), "text": text, "channel": channel}
        )

    async def approve(self, actor: Actor, post_id: int) -> None:
        await self._hand_over({"kind": "approve", "actor": _actor(actor), "post_id": post_id})

    async def thread(self, actor: Actor, draft: Draft, channel: str) -> None:
        await self._hand_over(
            {
                "kind": "thread",
                "actor": _actor(actor),
                "incident_id": draft.incident.id,
                "post_id": draft.post.id,
                "channel": channel,
            }
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _hand_over(self, item: dict[str, Any]) -> None:
        if self._session is None:  # made on first use, on the loop that serves
            # No limit on connections: serve's backlog bounds them, and work handed over must
            # not wait here, where a kill of this process would lose it.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=WORK_TIMEOUT),
            )
        headers = {"Authorization": f"Bearer {self.where.token}"}
        try:
            async with self._session.post(self.where.url, json=item, headers=headers) as response:
                answer = await response.json(content_type=None)
        except aiohttp.ClientConnectorError as exc:
            log.error("could not hand %s work to the work process: %s", item["kind"], exc)
            raise CrierError(UNREACHABLE) from exc
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.error("the work process failed to answer for %s work: %r", item["kind"], exc)
            raise CrierError(UNKNOWN_OUTCOME) from exc
        if not isinstance(answer, dict) or response.status != 200:
            log.error("the work process answered %s for %s work", response.status, item["kind"])
            raise CrierError(OOPS)
        if answer.get("refused"):
            raise CrierError(str(answer["refused"]))


def _actor(actor: Actor) -> dict[str, Any]:
    return {"platform": actor.platform, "user_id": actor.user_id, "name": actor.name}


def _log_unanswered(done: asyncio.Future[None]) -> None:
    """The outcome of work whose request was given up (serve stopped or was killed)."""
    if done.cancelled():
        return
    error = done.exception()
    if isinstance(error, CrierError):
        log.info("refused, with nobody left to tell: %s", error.message)
    elif error is not None:
        log.error("work failed with nobody left to tell", exc_info=error)


def work_endpoint(hands: LocalHands, token: str) -> web.Application:
    """The work process's side: ``POST /internal/work`` with the key ``crier serve`` gave it."""
    expected = f"Bearer {token}".encode()

    async def take_work(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("refused a request to the work endpoint without its key")
            return web.json_response({"error": "unauthorised"}, status=401)
        try:
            item = await request.json()
            work = hands.work_for(item)
        except ValueError as exc:  # a JSON error is a ValueError too
            log.warning("refused malformed work: %s", exc)
            return web.json_response({"error": "malformed work"}, status=400)
        # Shielded: if serve is killed its connection closes, and the work it acked goes on.
        # Serve acked it: here it waits its turn (an approval first) and is never turned away.
        backlog = hands.core.backlog
        done = asyncio.ensure_future(
            backlog.take(work, urgent=item["kind"] in URGENT, promised=True)
        )
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            done.add_done_callback(_log_unanswered)  # nobody is waiting for its answer now
            raise
        except CrierError as exc:
            log.info("refused: %s", exc.message)
            return web.json_response({"refused": exc.message})
        except Exception as exc:
            return web.json_response({"refused": unexpected_failure(exc, "work failed")})
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post(WORK_PATH, take_work)
    return app
