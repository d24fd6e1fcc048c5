"""The core's async face: what chat handlers call; one per process, built by ``build_core``.

Each method validates, runs one use case in a transaction off the event loop, then does the
follow-up (wake the publisher, refresh chat) — so handlers only parse, call and render.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TypedDict, TypeVar

from sqlmodel import Session

from bot.chat.context import ChatContext
from bot.chat.shows import ChatShows
from bot.config import CrierConfig, Network
from bot.drafting.drafter import Drafter, SummaryRoom, summary_room
from bot.incidents import approvals, deliveries, lifecycle
from bot.incidents.acting import Acting
from bot.incidents.approvers import ApproverPolicy, Gate
from bot.incidents.pace import DeclarationPace
from bot.incidents.readers import incident_view, load_post
from bot.incidents.requests import DeclareRequest, EditRequest, ResolveRequest, UpdateRequest
from bot.listening.desk import AnswerDesk
from bot.listening.desk import show_later as show_answer_later
from bot.listening.heard import ListeningSource
from bot.listening.poller import Listening
from bot.listening.wiring import build_sources
from bot.maintenance.desk import MaintenanceDesk
from bot.ports import Actor, ChatPresenter, Clock, Directory, Publisher, SystemClock
from bot.publishing import build_publishers
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.loop import PublishingLoop
from bot.redaction import http_client
from bot.scheduling import reminders
from bot.scheduling.calendar_jobs import CalendarJobs
from bot.scheduling.calendar_series import CalendarSeriesJobs
from bot.scheduling.channel_health import ChannelHealth
from bot.scheduling.content_calendar import ContentCalendar
from bot.scheduling.jobs import JobRun
from bot.scheduling.reminder_jobs import ReminderJobs
from bot.scheduling.scheduler import Scheduler
from bot.scheduling.work import ReplyTo, Work, show_incident_later, show_post_later, thread_later
from bot.settings import Settings
from bot.site import site_url
from bot.site.cache import SiteCache
from bot.storage.store import Store
from bot.subscriptions.senders import ChatFollowers
from bot.subscriptions.wiring import Subscriptions, build_subscriptions
from bot.views import Draft, IncidentView, Notice, PostView, Reminder

log = logging.getLogger(__name__)
T = TypeVar("T")


class Basics(TypedDict):
    """What most parts of the core are built on: the database, crier.yml and the clock."""

    store: Store
    config: CrierConfig
    clock: Clock


@dataclass(frozen=True)
class Shown:
    """What a change asks every chat to show again."""

    posts: tuple[int, ...] = ()
    incidents: tuple[int, ...] = ()


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
    # Each network's reading side, where it has credentials (bot/listening/wiring.py).
    sources: dict[Network, ListeningSource] = field(default_factory=dict)
    publishing: PublishingLoop = field(init=False)  # the loop that sends deliveries
    scheduler: Scheduler = field(init=False)  # reminders, calendar posts, health checks
    work: Scheduler = field(init=False)  # what answers to people promised (bot/scheduling/work.py)
    approvers: ApproverPolicy = field(init=False)
    gate: Gate = field(init=False)
    content_calendar: ContentCalendar = field(init=False)
    maintenance: MaintenanceDesk = field(init=False)  # planned maintenance windows
    listening: Listening = field(init=False)  # replies and mentions heard on the networks
    answers: AnswerDesk = field(init=False)  # public answers to them, approved
    channel_health: ChannelHealth = field(init=False)
    chat: ChatShows = field(init=False)
    pace: DeclarationPace = field(init=False)  # declarations per person per minute
    site: SiteCache | None = field(init=False)  # the status site, when channels.site is on
    # Who is told of the site's posts (email, webhooks, staff channels), when the site is on
    # and ``channels.site.subscriptions`` is not turned off.
    subscriptions: Subscriptions | None = field(init=False)
    # How long a summary may be and still go out whole everywhere: the declare forms say it.
    summary_room: SummaryRoom = field(init=False)

    def __post_init__(self) -> None:
        self.summary_room = summary_room(self.config, self.drafter)
        self.pace = DeclarationPace(most=self.settings.declarations_per_minute, clock=self.clock)
        base = Basics(store=self.store, config=self.config, clock=self.clock)
        self.chat = ChatShows(**base, presenters=self.presenters, publishers=self.publishers)
        self.approvers = ApproverPolicy(self.config.approvals, self.directories)
        self.gate = Gate(
            policy=self.approvers,
            rules=self.config.approvals,
            store=self.store,
            clock=self.clock,
            zone=self.config.organisation.zone,
        )
        lease = timedelta(seconds=self.settings.lease_seconds)
        self.site = self.subscriptions = None
        if self.config.channel_enabled(Network.SITE):
            if self.config.site.subscriptions:
                self.subscriptions = build_subscriptions(
                    **base,
                    settings=self.settings,
                    http=self.http,
                    followers=ChatFollowers(self.presenters),
                    lease=lease,
                )
            self.site = SiteCache(
                **base,
                site_url=site_url(self.settings.public_url, self.config.site.path),
                logo_url=self.config.organisation.logo_url,
                subscribe=self.subscriptions is not None and self.subscriptions.desk is not None,
            )
        scheduler = partial(Scheduler, lease=lease, store=self.store, clock=self.clock)
        self.answers = AnswerDesk(
            **base,
            gate=self.gate,
            wake_scheduler=lambda: self.work.wake(),
            wake_publisher=lambda: self.publishing.wake(),
            show=self.chat.answer,
        )
        self.work = scheduler(
            handlers={**Work(self).handlers(), **self.answers.handlers()},
            at_once=self.settings.work_at_once,
        )
        self.publishing = PublishingLoop(
            **base,
            publishers=self.publishers,
            on_post_changed=self._post_changed,
            on_answer_changed=lambda session, answer_id: show_answer_later(
                session, answer_id, now=self.clock.now()
            ),
            after_change=self._after_delivery_change,
            lease=lease,
        )
        reminder_jobs = ReminderJobs(**base, notify=self.remind)
        calendar_jobs = CalendarJobs(
            **base,
            notify=self.remind,
            wake_publisher=self.publishing.wake,
            show=self.chat.calendar,
            notice=self.notice,
        )
        series = CalendarSeriesJobs(**base, notice=self.notice, show=self.chat.calendar_batch)
        self.channel_health = ChannelHealth(**base, publishers=self.publishers, notify=self.notice)
        self.maintenance = MaintenanceDesk(
            **base,
            drafter=self.drafter,
            gate=self.gate,
            wake_scheduler=lambda: self.scheduler.wake(),
            wake_publisher=self.publishing.wake,
            show=self.chat.maintenance,
            finish=lambda session, run, outcome: self.scheduler.finish_in(session, run, outcome),
        )
        self.listening = Listening(
            **base,
            sources=self.sources,
            show_heard=self.chat.heard,
            show_spike=self.chat.spike,
            wake_scheduler=lambda: self.scheduler.wake(),
        )
        self.scheduler = scheduler(
            handlers={
                **self.listening.handlers(),
                **reminder_jobs.handlers(),
                **calendar_jobs.handlers(),
                **series.handlers(),
                **self.channel_health.handlers(),
                **self.maintenance.handlers(),
            },
        )
        self.content_calendar = ContentCalendar(
            **base,
            wake_scheduler=self.scheduler.wake,
            wake_publisher=self.publishing.wake,
            gate=self.gate,
        )

    async def _change(
        self,
        actor: Actor,
        work: Callable[[Acting], T],
        *,
        shown: Callable[[T], Shown],
        job: JobRun | None = None,
        publish: bool = False,
    ) -> T:
        """Run one use case by ``actor`` in a transaction. What it changed is refreshed in chat
        by rows written in that same transaction (so no change is ever left unshown); with
        ``job``, the job's row is marked done in it too (so the work happens once)."""

        def change(session: Session) -> T:
            result = work(Acting(session, self.config, actor, self.clock.now()))
            self.show_later(session, shown(result))
            if job is not None:
                self.work.finish_in(session, job)
            return result

        result = await self.store.run(change)
        if publish:
            self.publishing.wake()
        self.work.wake()
        return result

    def show_later(self, session: Session, shown: Shown) -> None:
        """In a transaction that changed them: refresh these in chat once it has committed."""
        now = self.clock.now()
        for post_id in shown.posts:
            show_post_later(session, post_id, now=now)
        for incident_id in shown.incidents:
            show_incident_later(session, incident_id, now=now)

    async def settle(self) -> None:
        """Wait until the work promised so far is done (tests; the sandbox's tick)."""
        await self.work.drain()

    def _post_changed(self, session: Session, post_id: int) -> None:
        """In the transaction that recorded a delivery's outcome: show it in chat, and tell
        the subscribers once the post is on the status site."""
        show_post_later(session, post_id, now=self.clock.now())
        if self.subscriptions is not None:
            self.subscriptions.post_changed(session, post_id)

    def _after_delivery_change(self) -> None:
        """A delivery's outcome was committed: its follow-up work may start, and a post sent to
        the status site shows there at the next request, not at the next periodic check."""
        self.work.wake()
        if self.site is not None:
            self.site.changed()

    async def close(self) -> None:
        """At shutdown: close the networks' session (unfinished work stays in its rows)."""
        await self.http.close()
        if self.subscriptions is not None:
            await self.subscriptions.close()

    # --- declaring and drafting -------------------------------------------------------------

    async def declare(
        self,
        actor: Actor,
        request: DeclareRequest,
        *,
        thread: ReplyTo | None = None,
        job: JobRun | None = None,
    ) -> Draft:
        """Declare and draft; with ``thread``, the incident's thread is queued in the same
        transaction (so a kill right after cannot leave an incident nobody sees)."""

        def declare(act: Acting) -> Draft:
            draft = lifecycle.declare(act, drafter=self.drafter, request=request)
            if thread is not None:
                thread_later(
                    act.session,
                    incident_id=draft.incident.id,
                    post_id=draft.post.id,
                    reply=thread,
                    actor=actor,
                    now=act.now,
                )
            return draft

        return await self._change(actor, declare, shown=lambda _draft: Shown(), job=job)

    async def draft_update(self, actor: Actor, incident_id: int, request: UpdateRequest) -> Draft:
        """Draft a public update; it appears in every chat that shows the incident."""
        return await self._change(
            actor,
            lambda act: lifecycle.draft_update(
                act, drafter=self.drafter, incident_id=incident_id, request=request
            ),
            shown=lambda draft: Shown(posts=(draft.post.id, *draft.earlier)),
        )

    async def draft_resolution(
        self, actor: Actor, incident_id: int, request: ResolveRequest
    ) -> Draft | IncidentView:
        """The all-clear's draft, or the incident closed at once if nothing was ever public."""
        return await self._change(
            actor,
            lambda act: lifecycle.draft_resolution(
                act, drafter=self.drafter, incident_id=incident_id, request=request
            ),
            shown=lambda draft: (
                Shown(incidents=(draft.id,))
                if isinstance(draft, IncidentView)
                else Shown(posts=(draft.post.id, *draft.earlier))
            ),
        )

    # --- deciding -----------------------------------------------------------------------------

    async def approve(self, actor: Actor, post_id: int, *, job: JobRun | None = None) -> PostView:
        """Approve and start publishing. Raises NotAllowed (audited) or Conflict."""
        emergency = await self._approval_gate(actor, post_id)
        if emergency:
            log.warning("%s publishes post %s alone by the emergency rule", actor.key, post_id)
        return await self._change(
            actor,
            lambda act: approvals.approve(act, post_id=post_id, emergency=emergency),
            shown=lambda view: Shown(posts=(post_id,), incidents=(view.incident_id,)),
            job=job,
            publish=True,
        )

    async def ensure_may_approve(self, actor: Actor, post_id: int) -> PostView:
        """Refuse as ``approve`` would (NotAllowed, audited; Conflict) before a chat asks the
        person to confirm, so only who may publish is ever asked; the draft as it waits."""
        await self._approval_gate(actor, post_id)
        return await self.store.read(
            lambda s: approvals.approvable(s, config=self.config, post_id=post_id)
        )

    async def _approval_gate(self, actor: Actor, post_id: int) -> bool:
        """Whether ``actor`` may approve the draft (NotAllowed, audited, if not); True when
        only by the emergency rule."""
        asked = await self.store.read(lambda s: approvals.asked(s, post_id))
        return await self.gate.check_approval(actor, asked, post_id=post_id)

    async def reject(self, actor: Actor, post_id: int, reason: str) -> PostView:
        await self.ensure_approver(actor, post_id, action="reject")
        return await self._change(
            actor,
            lambda act: approvals.reject(act, post_id=post_id, reason=reason),
            shown=lambda _view: Shown(posts=(post_id,)),
        )

    async def edit(self, actor: Actor, post_id: int, request: EditRequest) -> Draft:
        return await self._change(
            actor,
            lambda act: approvals.edit(act, post_id=post_id, request=request),
            shown=lambda draft: Shown(posts=(post_id, draft.post.id)),
        )

    async def revisable(self, post_id: int) -> PostView:
        """The rejected draft, if *Revise* could bring it back now (before a chat shows the
        form); else Conflict says why."""
        return await self.store.read(
            lambda s: approvals.revisable(s, config=self.config, post_id=post_id)
        )

    async def revise(self, actor: Actor, post_id: int, request: EditRequest | None = None) -> Draft:
        """A rejected draft as a new revision waiting for approval, with ``request``'s texts
        (in the same transaction). Whoever may draft may revise, and is then its drafter."""
        return await self._change(
            actor,
            lambda act: approvals.revise(act, post_id=post_id, request=request),
            shown=lambda draft: Shown(posts=(post_id, draft.post.id)),
        )

    async def _ensure_may_send(
        self, actor: Actor, delivery_id: int, *, action: str, doing: str
    ) -> None:
        """Retrying or confirming a delivery makes something public: approvers only."""
        incident_id, post_id, channel = await self.store.read(
            lambda s: deliveries.delivery_place(s, delivery_id)
        )
        await self.gate.check(
            actor,
            action=action,
            refusal=f"Only approvers can {doing}. Ask one of the approvers in this thread.",
            incident_id=incident_id,
            post_id=post_id,
            detail={"delivery_id": delivery_id, "channel": channel},
        )

    async def retry_delivery(self, actor: Actor, delivery_id: int) -> PostView:
        """Send a failed (or unknown) delivery again. Approvers only (NotAllowed, audited)."""
        await self._ensure_may_send(actor, delivery_id, action="retry", doing="retry a public post")
        post_id = await self._change(
            actor,
            lambda act: deliveries.retry_delivery(act, delivery_id=delivery_id),
            shown=lambda post_id: Shown(posts=(post_id,)),
            publish=True,
        )
        return await self.post(post_id)

    async def confirm_delivery(self, actor: Actor, delivery_id: int) -> PostView:
        """Someone checked the account: the post whose outcome was unknown is up. Approvers
        only (NotAllowed, audited)."""
        await self._ensure_may_send(
            actor, delivery_id, action="confirm", doing="mark a public post as published"
        )
        post_id = await self._change(
            actor,
            lambda act: deliveries.confirm_delivery(act, delivery_id=delivery_id),
            shown=lambda post_id: Shown(posts=(post_id,)),
        )
        return await self.post(post_id)

    # --- reading ------------------------------------------------------------------------------

    async def incident(self, incident_id: int) -> IncidentView:
        return await self.chat.incident_view(incident_id)

    async def open_incident(self, incident_id: int) -> IncidentView:
        """The incident, if it is still open (for *Post update* and *Resolve*)."""
        return await self.store.read(
            lambda s: incident_view(self.config, lifecycle.open_incident(s, incident_id))
        )

    async def ensure_approver(self, actor: Actor, post_id: int, *, action: str) -> None:
        """Refuse (and audit) someone who may not decide on drafts, before showing a form."""
        if not await self.approvers.is_approver(actor):
            incident_id = await self.store.read(lambda s: load_post(s, post_id)[0].id)
            await self.gate.refuse(
                actor,
                action="approve",
                reason=f"not an approver ({action})",
                message=f"Only approvers can {action} drafts.",
                incident_id=incident_id,
                post_id=post_id,
            )

    async def post(self, post_id: int) -> PostView:
        return await self.store.read(lambda s: self.chat.view_of(s, load_post(s, post_id)[1]))

    async def open_incidents(self) -> list[IncidentView]:
        return await self.store.read(
            lambda s: [incident_view(self.config, i) for i in lifecycle.list_open(s)]
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
        """Publish and run what is due (reminders, calendar posts, checks) until ``stop``."""
        running = [self.publishing.run_forever(stop), self.scheduler.run_forever(stop)]
        if self.subscriptions is not None:
            running.append(self.subscriptions.scheduler.run_forever(stop))
        await asyncio.gather(*running)

    async def run_work(self, stop: asyncio.Event) -> None:
        """Do the work answers to people promised (bot/scheduling/work.py) until ``stop``."""
        await self.work.run_forever(stop)

    async def snooze(self, actor: Actor, choice: str) -> int:
        """A reminder's *Snooze* (its button's value); the minutes it was really moved."""
        job_id, minutes = reminders.snooze_choice(choice)
        return await self.store.run(
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
    chat: ChatContext | None = None,
    presenters: Mapping[str, ChatPresenter] | None = None,
    directories: Mapping[str, Directory] | None = None,
    sources: Mapping[Network, ListeningSource] | None = None,
) -> Core:
    """Wire the core from settings, with the chats' presenters and directories (built first,
    from ``chat``, whose clock the core keeps: see ``bot.chat.context``)."""
    credentials = credentials or NetworkCredentials()
    http = http_client(settings, credentials)
    clock = chat.clock if chat is not None else clock or SystemClock()
    built = publishers or build_publishers(
        config=config,
        settings=settings,
        store=store,
        http=http,
        credentials=credentials,
        clock=clock,
    )
    return Core(
        presenters=dict(presenters or {}),
        directories=dict(directories or {}),
        config=config,
        settings=settings,
        store=store,
        drafter=Drafter(templates_dir=config.templates_dir),
        publishers=built,
        clock=clock,
        http=http,
        sources=dict(
            sources
            if sources is not None
            else build_sources(
                config=config,
                http=http,
                credentials=credentials,
                clock=clock,
                publishers=built,
            )
        ),
    )
