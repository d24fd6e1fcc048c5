"""What an answer to a person promised, kept as rows of the job table until it is done.

A chat handler validates a request, writes the work it promises as a row (``enqueue``) in one
short transaction, answers, and wakes the work runner. The runner (a ``Scheduler`` over this
module's kinds, in every ``crier serve`` and ``crier worker``) claims the row with a lease and
runs it; a kill at any moment leaves the row to be taken again. Work that changes the database
marks its row done in the same transaction (``Scheduler.finish_in``), so it happens exactly once;
work that only talks to chat (a thread's first message, a refresh) is safe to run again.

Chat refreshes are rows too (``show_post_later``): written in the transaction that changed the
post, so no change is ever left unshown, and keyed by what they show, so ten changes to one post
while a refresh waits cost one refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlmodel import Session, select

from bot.errors import CrierError
from bot.incidents.readers import load_post
from bot.incidents.requests import parse_quick_declare
from bot.ports import Actor
from bot.scheduling.jobs import AGAIN, JobHandler, JobRun, enqueue, schedule
from bot.scheduling.scheduler import LostClaim
from bot.storage.models import Job
from bot.storage.store import is_unreachable

if TYPE_CHECKING:
    from bot.core import Core
    from bot.views import IncidentView

log = logging.getLogger(__name__)

DECLARE = "declare"
APPROVE = "approve"
THREAD = "thread"
SHOW_POST = "show_post"
SHOW_INCIDENT = "show_incident"

SOMETHING_WENT_WRONG = (
    "Something went wrong on Crier's side and nothing was published. "
    "The details are in Crier's log; please try again."
)


@dataclass(frozen=True)
class ReplyTo:
    """Where to answer the person who asked: their chat, the channel, the thread, and the
    chat's own way back to them if it has one (Slack's ``response_url`` for a command, which
    reaches them even where Crier cannot post)."""

    platform: str
    channel: str
    user: str
    thread: str | None = None
    url: str | None = None
    reference: dict[str, Any] | None = None  # the chat's own address of the conversation


@runtime_checkable
class Answering(Protocol):
    """A chat that can start an incident's thread and answer one person there."""

    async def open_thread(self, incident: IncidentView, reply: ReplyTo, actor: Actor) -> None:
        """Post the incident's first message where ``reply`` says (once: again, it finds the
        one posted). A refusal a person can act on is a CrierError."""

    async def say_to(self, reply: ReplyTo, message: str) -> None:
        """Tell one person ``message`` (plain text: it never pings anyone)."""


def declare_later(
    session: Session, *, actor: Actor, text: str, reply: ReplyTo, key: str | None, now: datetime
) -> bool:
    """Queue ``/outage Service: summary``; False if this request was queued already."""
    payload = {"actor": asdict(actor), "text": text, "reply": asdict(reply)}
    return enqueue(session, kind=DECLARE, key=key, now=now, payload=payload)


def approve_later(
    session: Session, *, actor: Actor, post_id: int, reply: ReplyTo, key: str | None, now: datetime
) -> bool:
    """Queue an approval; False if this click was queued already. A draft that does not exist
    is refused at once (NotFound), with nothing written."""
    incident, _post = load_post(session, post_id)
    payload = {"actor": asdict(actor), "post_id": post_id, "reply": asdict(reply)}
    return enqueue(
        session, kind=APPROVE, key=key, now=now, payload=payload, incident_id=incident.id
    )


def thread_later(
    session: Session,
    *,
    incident_id: int,
    post_id: int,
    reply: ReplyTo,
    actor: Actor,
    now: datetime,
) -> None:
    """Queue the thread of an incident just declared (in the declaring transaction)."""
    payload = {
        "incident_id": incident_id,
        "post_id": post_id,
        "reply": asdict(reply),
        "actor": asdict(actor),
    }
    enqueue(session, kind=THREAD, now=now, payload=payload, incident_id=incident_id)


def show_post_later(session: Session, post_id: int, *, now: datetime) -> None:
    """Refresh the post in every chat soon (one row per post: changes meanwhile share it)."""
    key = f"show_post:{post_id}"
    refresh_later(session, kind=SHOW_POST, key=key, payload={"post_id": post_id}, now=now)


def show_incident_later(session: Session, incident_id: int, *, now: datetime) -> None:
    key = f"show_incident:{incident_id}"
    refresh_later(
        session, kind=SHOW_INCIDENT, key=key, payload={"incident_id": incident_id}, now=now
    )


def refresh_later(
    session: Session, *, kind: str, key: str, payload: dict[str, Any], now: datetime
) -> None:
    """One refresh per thing shown at a time. A waiting one will show this change too: it is
    left as it is. One under way may have read the thing before this change: it is marked to
    run again when it ends (not alongside, where its older picture could land last)."""
    # Locked (PostgreSQL): a claim under way makes this wait and then find the row claimed; a
    # runner ending one waits for this, then sees the mark. The key is unique: the row found,
    # live or done, is the post's one row, and a done one is due again.
    row = session.exec(select(Job).where(Job.key == key).with_for_update()).first()
    if row is None or row.done_at is not None:
        schedule(session, kind=kind, key=key, due_at=now, payload=payload, found=row)
    elif row.claimed_by is not None and not row.payload.get(AGAIN):
        row.payload = {**row.payload, AGAIN: True}


class Work:
    def __init__(self, core: Core) -> None:
        self._core = core

    def handlers(self) -> dict[str, JobHandler]:
        return {
            DECLARE: self._declare,
            APPROVE: self._approve,
            THREAD: self._thread,
            SHOW_POST: self._show_post,
            SHOW_INCIDENT: self._show_incident,
        }

    async def _declare(self, run: JobRun) -> str | None:
        async def declare(actor: Actor, reply: ReplyTo) -> None:
            request = parse_quick_declare(str(run.payload["text"]), self._core.config)
            await self._core.declare(actor, request, thread=reply, job=run)

        return await self._answering(run, declare)

    async def _approve(self, run: JobRun) -> str | None:
        async def approve(actor: Actor, _reply: ReplyTo) -> None:
            await self._core.approve(actor, int(run.payload["post_id"]), job=run)

        return await self._answering(run, approve)

    async def _thread(self, run: JobRun) -> str:
        reply = ReplyTo(**run.payload["reply"])
        chat = self._answering_chat(reply.platform)
        incident = await self._core.incident(int(run.payload["incident_id"]))
        try:
            await chat.open_thread(incident, reply, Actor(**run.payload["actor"]))
        except CrierError as exc:  # the chat refused, for a reason a person can fix
            await chat.say_to(reply, exc.message)
            return "refused"
        await self._core.show_post(int(run.payload["post_id"]))
        return "done"

    async def _show_post(self, run: JobRun) -> str:
        await self._core.show_post(int(run.payload["post_id"]))
        return "shown"

    async def _show_incident(self, run: JobRun) -> str:
        await self._core.show_incident(int(run.payload["incident_id"]))
        return "shown"

    def _answering_chat(self, platform: str) -> Answering:
        chat = self._core.presenters.get(platform)
        if not isinstance(chat, Answering):
            raise LookupError(f"no chat of platform {platform!r} here to answer in")
        return chat

    async def _answering(
        self, run: JobRun, work: Callable[[Actor, ReplyTo], Awaitable[None]]
    ) -> str | None:
        """Run ``work`` for the person who asked; a refusal, or a failure that running it again
        would not mend, is told to them. A database that cannot be reached is not: the row is
        run again later."""
        reply = ReplyTo(**run.payload["reply"])
        chat = self._answering_chat(reply.platform)
        try:
            await work(Actor(**run.payload["actor"]), reply)
        except CrierError as exc:
            log.info("refused: %s", exc.message)
            await chat.say_to(reply, exc.message)
            return "refused"
        except LostClaim:
            raise
        except Exception as exc:
            if is_unreachable(exc):
                raise
            log.exception("work for %s failed", reply.user)
            await chat.say_to(reply, SOMETHING_WENT_WRONG)
            return f"failed: {type(exc).__name__}"
        return None
