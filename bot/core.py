"""The core's async face: what chat handlers call; one per process, built by ``build_core``.

Each method validates, runs one use case in a transaction off the event loop, then does the
follow-up (wake the publisher, refresh chat) — so handlers only parse, call and render.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session

from bot import approvals, incidents, reminders
from bot.anchors import Anchor
from bot.approvers import ApproverPolicy, Gate
from bot.background import Background
from bot.backlog import Backlog
from bot.calendar import CalendarJobs
from bot.channel_health import ChannelHealth
from bot.chat_anchors import ChatAnchors
from bot.chat_shows import ChatShows
from bot.coalesce import Coalescer
from bot.config import CrierConfig, Network, Settings
from bot.content_calendar import ContentCalendar
from bot.drafting import Drafter, SummaryRoom, summary_room
from bot.errors import Conflict, NotAllowed
from bot.ports import Actor, ChatPresenter, Clock, Directory, Publisher, SystemClock
from bot.publishing import build_publishers
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.worker import DeliveryWorker
from bot.readers import incident_view, load_post
from bot.redaction import http_client
from bot.reminder_jobs import ReminderJobs
from bot.requests import DeclareRequest, EditRequest, ResolveRequest, UpdateRequest
from bot.scheduler import Scheduler
from bot.store import Store
from bot.views import Draft, IncidentView, Notice, PostView, Reminder

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Core:
    config: CrierConfig
    settings: Settings
    store: Store
    drafter: Drafter
    publishers: dict[Network, Publisher]
    http: HttpClient  # built by bot.redaction.http_client: every answer masked of secrets
    clock: Clock = field(default_factory=SystemClock)
    presenters: dict[str, ChatPresenter] = field(default_factory=dict)
    directories: dict[str, Directory] = field(default_factory=dict)
    worker: DeliveryWorker = field(init=False)
    scheduler: Scheduler = field(init=False)
    approvers: ApproverPolicy = field(init=False)
    gate: Gate = field(init=False)
    chat_anchors: ChatAnchors = field(init=False)
    content_calendar: ContentCalendar = field(init=False)
    channel_health: ChannelHealth = field(init=False)
    _background: Background = field(default_factory=Background, init=False)
    backlog: Backlog = field(init=False)
    _post_refreshes: Coalescer = field(init=False)
    chat: ChatShows = field(init=False)
    # How long a summary may be and still go out whole everywhere: the declare forms say it.
    summary_room: SummaryRoom = field(init=False)

    def __post_init__(self) -> None:
        self.summary_room = summary_room(self.config, self.drafter)
        self.chat_anchors = ChatAnchors(self.store)
        self.chat = ChatShows(
            store=self.store,
            config=self.config,
            clock=self.clock,
            presenters=self.presenters,
            publishers=self.publishers,
        )
        self._post_refreshes = Coalescer(self.show_post, self._in_background)
        self.backlog = Backlog(
            at_once=self.settings.work_at_once, most_waiting=self.settings.work_queue
        )
        self.approvers = ApproverPolicy(self.config.approvals, self.directories)
        self.gate = Gate(
            policy=self.approvers, rules=self.config.approvals, store=self.store, clock=self.clock
        )
        jobs = ReminderJobs(
            store=self.store, config=self.config, clock=self.clock, notify=self.remind
        )
        calendar_jobs = CalendarJobs(
            store=self.store,
            config=self.config,
            clock=self.clock,
            notify=self.remind,
            wake_publisher=self._wake_publisher,
            show=self.chat.calendar,
        )
        self.channel_health = ChannelHealth(
            store=self.store,
            config=self.config,
            clock=self.clock,
            publishers=self.publishers,
            notify=self.notice,
        )
        lease = timedelta(seconds=self.settings.lease_seconds)
        self.scheduler = Scheduler(
            lease=lease,
            store=self.store,
            clock=self.clock,
            handlers={
                **jobs.handlers(),
                **calendar_jobs.handlers(),
                **self.channel_health.handlers(),
            },
        )
        self.content_calendar = ContentCalendar(
            store=self.store,
            config=self.config,
            clock=self.clock,
            wake_scheduler=self.scheduler.wake,
            wake_publisher=self._wake_publisher,
            gate=self.gate,
        )
        self.worker = DeliveryWorker(
            store=self.store,
            config=self.config,
            publishers=self.publishers,
            clock=self.clock,
            on_post_changed=self._post_refreshes.request,
            lease=lease,
        )

    async def _run(self, work: Callable[[Session], T]) -> T:
        return await self.store.run(work)

    async def _read(self, work: Callable[[Session], T]) -> T:
        return await self.store.read(work)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Chat updates run after the answer to the person; failures are logged, not lost."""
        self.after_answer(work, failed="could not update the chat; the database has the truth")

    def after_answer(
        self, work: Coroutine[Any, Any, None], *, failed: str = "work after an answer failed"
    ) -> None:
        """Run ``work`` once the answer to a request has gone, kept until done (``settle``)."""
        self._background.start(work, failed=failed)

    async def settle(self) -> None:
        """Wait for the work started after answers so far (at shutdown, and in tests)."""
        await self._background.settle()

    async def close(self) -> None:
        """At shutdown: finish the chat updates under way, then close the networks' session."""
        await self.settle()
        await self.http.close()

    # --- declaring and drafting -------------------------------------------------------------

    async def declare(self, actor: Actor, request: DeclareRequest) -> Draft:
        return await self._run(
            lambda s: incidents.declare(
                s,
                config=self.config,
                drafter=self.drafter,
                request=request,
                actor=actor,
                now=self.clock.now(),
            )
        )

    async def draft_update(self, actor: Actor, incident_id: int, request: UpdateRequest) -> Draft:
        """Draft a public update; it appears in every chat that shows the incident."""
        draft = await self._run(
            lambda s: incidents.draft_update(
                s,
                config=self.config,
                drafter=self.drafter,
                incident_id=incident_id,
                request=request,
                actor=actor,
                now=self.clock.now(),
            )
        )
        self._in_background(self.show_post(draft.post.id))
        return draft

    async def draft_resolution(
        self, actor: Actor, incident_id: int, request: ResolveRequest
    ) -> Draft | IncidentView:
        """The all-clear's draft, or the incident closed at once if nothing was ever public."""
        draft = await self._run(
            lambda s: incidents.draft_resolution(
                s,
                config=self.config,
                drafter=self.drafter,
                incident_id=incident_id,
                request=request,
                actor=actor,
                now=self.clock.now(),
            )
        )
        if isinstance(draft, IncidentView):
            self._in_background(self.show_incident(draft.id))
        else:
            self._in_background(self.show_post(draft.post.id))
        return draft

    # --- deciding -----------------------------------------------------------------------------

    async def is_approver(self, actor: Actor) -> bool:
        return await self.approvers.is_approver(actor)

    async def approve(self, actor: Actor, post_id: int) -> PostView:
        """Approve and start publishing. Raises NotAllowed (audited) or Conflict."""
        incident_id, requested_by = await self._read(lambda s: approvals.author_of(s, post_id))
        await self.gate.check(
            actor,
            action="approve",
            refusal="Only approvers can approve public posts. "
            "Ask one of the approvers in this thread.",
            author=requested_by,
            incident_id=incident_id,
            post_id=post_id,
        )
        view = await self._run(
            lambda s: approvals.approve(
                s, config=self.config, post_id=post_id, actor=actor, now=self.clock.now()
            )
        )
        self.worker.wake()
        self._in_background(self._show_both(post_id, view.incident_id))
        return view

    async def reject(self, actor: Actor, post_id: int, reason: str) -> PostView:
        await self.ensure_approver(actor, post_id, action="reject")
        view = await self._run(
            lambda s: approvals.reject(
                s,
                config=self.config,
                post_id=post_id,
                actor=actor,
                reason=reason,
                now=self.clock.now(),
            )
        )
        self._in_background(self.show_post(post_id))
        return view

    async def edit(self, actor: Actor, post_id: int, request: EditRequest) -> Draft:
        draft = await self._run(
            lambda s: approvals.edit(
                s,
                config=self.config,
                post_id=post_id,
                request=request,
                actor=actor,
                now=self.clock.now(),
            )
        )
        self._in_background(self._show_revision(post_id, draft.post.id))
        return draft

    async def _show_revision(self, old_post_id: int, new_post_id: int) -> None:
        await self.show_post(old_post_id)
        await self.show_post(new_post_id)

    async def _show_both(self, post_id: int, incident_id: int) -> None:
        await self.show_post(post_id)
        await self.show_incident(incident_id)

    async def _ensure_may_send(
        self, actor: Actor, delivery_id: int, *, action: str, refusal: str
    ) -> None:
        """Retrying or confirming a delivery makes something public: approvers only."""
        incident_id, post_id, channel = await self._read(
            lambda s: approvals.delivery_place(s, delivery_id)
        )
        await self.gate.check(
            actor,
            action=action,
            refusal=refusal,
            incident_id=incident_id,
            post_id=post_id,
            detail={"delivery_id": delivery_id, "channel": channel},
        )

    async def retry_delivery(self, actor: Actor, delivery_id: int) -> PostView:
        """Send a failed (or unknown) delivery again. Approvers only (NotAllowed, audited)."""
        await self._ensure_may_send(
            actor,
            delivery_id,
            action="retry",
            refusal="Only approvers can retry a public post. Ask one of the approvers in "
            "this thread.",
        )
        post_id = await self._run(
            lambda s: approvals.retry_delivery(
                s, delivery_id=delivery_id, actor=actor, now=self.clock.now()
            )
        )
        self.worker.wake()
        self._in_background(self.show_post(post_id))
        return await self.post(post_id)

    async def confirm_delivery(self, actor: Actor, delivery_id: int) -> PostView:
        """Someone checked the account: the post whose outcome was unknown is up. Approvers
        only (NotAllowed, audited)."""
        await self._ensure_may_send(
            actor,
            delivery_id,
            action="confirm",
            refusal="Only approvers can mark a public post as published. Ask one of the "
            "approvers in this thread.",
        )
        post_id = await self._run(
            lambda s: approvals.confirm_delivery(
                s, delivery_id=delivery_id, actor=actor, now=self.clock.now()
            )
        )
        self._in_background(self.show_post(post_id))
        return await self.post(post_id)

    # --- reading ------------------------------------------------------------------------------

    async def incident(self, incident_id: int) -> IncidentView:
        return await self.chat.incident_view(incident_id)

    async def open_incident(self, incident_id: int) -> IncidentView:
        """The incident, if it is still open (for *Post update* and *Resolve*)."""
        incident = await self.incident(incident_id)
        if not incident.is_open:
            raise Conflict(f"Incident #{incident_id} is already resolved.")
        return incident

    async def ensure_approver(self, actor: Actor, post_id: int, *, action: str) -> None:
        """Refuse (and audit) someone who may not decide on drafts, before showing a form."""
        if not await self.is_approver(actor):
            incident_id = await self._read(lambda s: load_post(s, post_id)[0].id)
            await self.gate.refuse(
                actor,
                action="approve",
                reason=f"not an approver ({action})",
                message=f"Only approvers can {action} drafts.",
                incident_id=incident_id,
                post_id=post_id,
            )

    async def post(self, post_id: int) -> PostView:
        return await self._read(lambda s: self._post_view(s, post_id))

    def _post_view(self, session: Session, post_id: int) -> PostView:
        return self.chat.view_of(session, load_post(session, post_id)[1])

    async def open_incidents(self) -> list[IncidentView]:
        return await self._read(
            lambda s: [
                incident_view(self.config, i) for i in incidents.list_open(s, config=self.config)
            ]
        )

    # --- telling chat -------------------------------------------------------------------------

    async def show_post(self, post_id: int) -> None:
        """Refresh a post (and its incident) in every chat that shows the incident."""
        await self.chat.post(post_id)

    async def show_incident(self, incident_id: int) -> None:
        await self.chat.incident(incident_id)

    async def remind(self, incident_id: int, reminder: Reminder) -> None:
        await self.chat.reminder(incident_id, reminder)

    async def notice(self, notice: Notice) -> None:
        """Post a notice in the comms channel of every chat, outside any incident."""
        await self.chat.notice(notice)

    async def run_background(self, stop: asyncio.Event) -> None:
        """Publish and remind until ``stop``, after catching chat up with recent changes."""
        await self.catch_up_chat()
        await asyncio.gather(self.worker.run_forever(stop), self.scheduler.run_forever(stop))

    async def catch_up_chat(self) -> int:
        """Refresh in chat the posts changed in the last minutes (``ChatShows.catch_up``)."""
        return await self.chat.catch_up(self._post_refreshes.request, self._in_background)

    def _wake_publisher(self) -> None:
        self.worker.wake()

    async def snooze(self, actor: Actor, job_id: int, minutes: int) -> None:
        await self._run(
            lambda s: reminders.snooze(
                s, job_id=job_id, minutes=minutes, actor=actor, now=self.clock.now()
            )
        )


def build_core(
    *,
    settings: Settings,
    config: CrierConfig,
    store: Store,
    clock: Clock | None = None,
    publishers: dict[Network, Publisher] | None = None,
    credentials: NetworkCredentials | None = None,
) -> Core:
    """Wire the core from settings; the chat handlers add their presenters and directories."""
    credentials = credentials or NetworkCredentials()
    http = http_client(settings, credentials)
    return Core(
        config=config,
        settings=settings,
        store=store,
        drafter=Drafter(templates_dir=config.templates_dir),
        publishers=publishers
        or build_publishers(
            config=config, settings=settings, store=store, http=http, credentials=credentials
        ),
        clock=clock or SystemClock(),
        http=http,
    )


__all__ = ["Anchor", "Core", "NotAllowed", "build_core"]
