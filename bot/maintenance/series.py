"""A maintenance's life in the database: proposed, approved as one series, each post published at
its time, then completed, extended or cancelled. Each function runs inside the caller's
transaction; who may approve is checked by the core (``bot.incidents.approvers.Gate``) first.

One approval covers the whole series. It schedules a job per post at the post's time
(``maintenance_post:<id>``); the job writes that post's deliveries and marks the post published
(and the job done, ``MaintenanceDesk``) in one transaction, so a post goes out once however
often Crier is killed between two posts.
Completion, extension and cancellation are ``bot.maintenance.changes``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.drafting.drafter import Drafter
from bot.errors import Conflict, InvalidInput, NotFound
from bot.incidents.requests import check_channels, clean_text
from bot.maintenance.drafting import MaintenanceFacts, draft
from bot.maintenance.window import Planned, SeriesKind, Window, plan_series
from bot.ports import Actor
from bot.scheduling import jobs
from bot.storage import audit
from bot.storage.models import (
    Delivery,
    DeliveryState,
    Maintenance,
    MaintenancePost,
    MaintenanceState,
)

POST_DUE = "maintenance_post"  # a job per post of an approved series, at its time
WINDOW_END = "maintenance_end"  # at the window's end: ask the owner if it is done
CHANGED_SINCE = (
    "This series was changed after this message was posted: decide on it from its newer "
    "message, which shows the posts as they are now."
)
TITLE_MAX = 120
TEXT_MAX = 500
# A status page is for incidents, and Crier's own site shows a maintenance from its window.
NOT_FOR_MAINTENANCE = (Network.STATUSPAGE, Network.SITE)


class PostState:
    PENDING = "pending"  # waiting for the series' approval
    APPROVED = "approved"  # goes out at its time (or, the completion, when the work is done)
    PUBLISHED = "published"  # its deliveries are written
    SUPERSEDED = "superseded"  # an edit or a cancellation replaced it before it went out
    REJECTED = "rejected"


@dataclass(frozen=True)
class MaintenanceRequest:
    services: tuple[str, ...]
    title: str
    what_users_notice: str
    what_to_do: str
    window: Window
    announce_at: datetime | None
    remind_before: timedelta | None
    channels: tuple[Network, ...]


@dataclass(frozen=True)
class SeriesPost:
    id: int
    kind: SeriesKind
    due_at: datetime | None
    state: str
    texts: dict[str, str]


@dataclass(frozen=True)
class MaintenanceView:
    id: int
    services: tuple[str, ...]
    title: str
    window: Window
    state: str
    revision: int
    created_by: str
    channels: tuple[str, ...]
    posts: tuple[SeriesPost, ...]  # this revision's, in the order they go out
    planned_where: str | None = None  # the chat address it was planned from (the chat's own)

    def post(self, kind: SeriesKind) -> SeriesPost | None:
        """The latest post of ``kind`` (an extension may have several)."""
        return next((p for p in reversed(self.posts) if p.kind is kind), None)


class ShowReason:
    """Why a maintenance is shown in chat, and so which buttons it carries."""

    REVIEW = "review"  # its series waits for approval: Approve all / Reject
    CHANGE = "change"  # an extension or a cancellation waits for approval: Approve / Reject
    OVERDUE = "overdue"  # its window has ended and nobody said it is done: Complete / Extend
    DECIDED = "decided"  # an answer was given: no buttons, what happened


@dataclass(frozen=True)
class MaintenanceShown:
    """What a chat shows of a maintenance: the maintenance, why, and the change in question."""

    maintenance: MaintenanceView
    reason: str  # ShowReason
    change: SeriesPost | None = None  # with CHANGE: the extension or cancellation


def propose(
    session: Session,
    *,
    config: CrierConfig,
    drafter: Drafter,
    actor: Actor,
    request: MaintenanceRequest,
    now: datetime,
    where: str | None = None,
) -> MaintenanceView:
    """Draft the series of ``request`` for approval (``where``: the chat address it was
    planned from, where its window's end is asked about)."""
    drafted = _drafted(config, drafter, request, now=now)
    facts = drafted.facts
    maintenance = Maintenance(
        services=list(facts.services),
        title=facts.title,
        what_users_notice=facts.what_users_notice,
        what_to_do=facts.what_to_do,
        starts_at=request.window.starts_at,
        ends_at=request.window.ends_at,
        announce_at=drafted.announce_at,
        remind_before_minutes=drafted.remind_minutes,
        channels=[c.value for c in drafted.channels],
        state=MaintenanceState.PENDING,
        created_by=actor.key,
        created_at=now,
        planned_where=where,
    )
    session.add(maintenance)
    session.flush()
    assert maintenance.id is not None
    _add_posts(session, maintenance, drafted.planned, drafted.texts)
    audit.record(
        session,
        actor=actor,
        action="maintenance_propose",
        at=now,
        detail={
            "maintenance_id": maintenance.id,
            "starts_at": request.window.starts_at.isoformat(),
        },
    )
    return view(session, maintenance.id)


def check_editable(maintenance: Maintenance, *, now: datetime) -> None:
    """A maintenance can be edited until its window begins, while it is not called off."""
    if maintenance.state not in (MaintenanceState.PENDING, MaintenanceState.SCHEDULED):
        raise Conflict(f"This maintenance is {maintenance.state.replace('_', ' ')}.")
    if now >= maintenance.starts_at:
        raise Conflict("The window has begun: extend it, or mark it complete.")


def schedule_end(session: Session, maintenance: Maintenance) -> None:
    """At the window's end the planner is asked whether the work is done (again at a new end)."""
    jobs.schedule(
        session,
        kind=WINDOW_END,
        key=f"{WINDOW_END}:{maintenance.id}",
        due_at=maintenance.ends_at,
        payload={"maintenance_id": maintenance.id},
    )


def edit(
    session: Session,
    *,
    config: CrierConfig,
    drafter: Drafter,
    maintenance_id: int,
    request: MaintenanceRequest,
    actor: Actor,
    now: datetime,
) -> MaintenanceView:
    """Change a maintenance that has not begun: its series is drafted again (the next
    revision) and waits for approval again; what the old series had not yet published never
    goes out. An announcement already out is followed by the new one, at once once approved."""
    maintenance = found(session, maintenance_id)
    check_editable(maintenance, now=now)
    announced = any(
        p.kind == SeriesKind.ANNOUNCE and p.state == PostState.PUBLISHED
        for p in posts_of(session, maintenance)
    )
    for post in posts_of(session, maintenance):
        if post.state in (PostState.PENDING, PostState.APPROVED):
            post.state = PostState.SUPERSEDED
            jobs.cancel(session, now=now, key=f"{POST_DUE}:{post.id}")
    jobs.cancel(session, now=now, key=f"{WINDOW_END}:{maintenance_id}")
    announce_at = now if announced else request.announce_at
    drafted = _drafted(config, drafter, replace(request, announce_at=announce_at), now=now)
    maintenance.revision += 1
    maintenance.services = list(drafted.facts.services)
    maintenance.title = drafted.facts.title
    maintenance.what_users_notice = drafted.facts.what_users_notice
    maintenance.what_to_do = drafted.facts.what_to_do
    maintenance.starts_at, maintenance.ends_at = request.window.starts_at, request.window.ends_at
    maintenance.announce_at = drafted.announce_at
    maintenance.remind_before_minutes = drafted.remind_minutes
    maintenance.channels = [c.value for c in drafted.channels]
    maintenance.state = MaintenanceState.PENDING
    maintenance.decided_by = maintenance.decided_at = None
    session.add(maintenance)
    _add_posts(session, maintenance, drafted.planned, drafted.texts)
    audit.record(
        session,
        actor=actor,
        action="maintenance_edit",
        at=now,
        detail={"maintenance_id": maintenance_id, "revision": maintenance.revision},
    )
    return view(session, maintenance_id)


def approve(
    session: Session,
    *,
    maintenance_id: int,
    actor: Actor,
    now: datetime,
    revision: int | None = None,
) -> MaintenanceView:
    """Approve the whole series (``revision``: the one the approver was shown; an edit since
    is refused): each post goes out at its time."""
    maintenance = _pending(session, maintenance_id, revision=revision)
    for post in posts_of(session, maintenance):
        post.state = PostState.APPROVED
        if post.due_at is not None:
            jobs.schedule(
                session,
                kind=POST_DUE,
                key=f"{POST_DUE}:{post.id}",
                due_at=max(post.due_at, now),
                payload={"maintenance_post_id": post.id},
            )
    maintenance.state = MaintenanceState.SCHEDULED
    maintenance.decided_by, maintenance.decided_at = actor.key, now
    schedule_end(session, maintenance)
    audit.record(
        session,
        actor=actor,
        action="maintenance_approve",
        at=now,
        detail={"maintenance_id": maintenance_id, "revision": maintenance.revision},
    )
    return view(session, maintenance_id)


def reject(
    session: Session,
    *,
    maintenance_id: int,
    actor: Actor,
    now: datetime,
    revision: int | None = None,
) -> MaintenanceView:
    maintenance = _pending(session, maintenance_id, revision=revision)
    for post in posts_of(session, maintenance):
        post.state = PostState.REJECTED
    maintenance.state = MaintenanceState.REJECTED
    maintenance.decided_by, maintenance.decided_at = actor.key, now
    audit.record(
        session,
        actor=actor,
        action="maintenance_reject",
        at=now,
        detail={"maintenance_id": maintenance_id},
    )
    return view(session, maintenance_id)


def post_due(session: Session, *, maintenance_post_id: int, now: datetime) -> SeriesPost | None:
    """At a post's time (its job): write its deliveries; None if it no longer goes out (the
    series was cancelled, or edited since)."""
    post = session.get(MaintenancePost, maintenance_post_id)
    if post is None or post.state != PostState.APPROVED:
        return None
    maintenance = session.get_one(Maintenance, post.maintenance_id)
    if post.kind == SeriesKind.START and maintenance.state == MaintenanceState.SCHEDULED:
        maintenance.state = MaintenanceState.IN_PROGRESS
    release_post(session, post, now=now)
    return series_post(post)


def pending_change(session: Session, maintenance_id: int) -> SeriesPost | None:
    """The extension or cancellation waiting for an approver, if one is."""
    found = session.exec(
        select(MaintenancePost).where(
            MaintenancePost.maintenance_id == maintenance_id,
            col(MaintenancePost.kind).in_([SeriesKind.EXTENDED, SeriesKind.CANCELLED]),
            MaintenancePost.state == PostState.PENDING,
        )
    ).first()
    return None if found is None else series_post(found)


def under_way(session: Session, *, service: str, now: datetime) -> Maintenance | None:
    """The approved maintenance of ``service`` whose window holds ``now`` (or that has begun
    and is not marked done), if there is one: an outage declared then is linked to it."""
    candidates = session.exec(
        select(Maintenance).where(
            col(Maintenance.state).in_([MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS]),
            col(Maintenance.starts_at) <= now,
        )
    ).all()
    return next(
        (
            m
            for m in sorted(candidates, key=lambda m: m.starts_at, reverse=True)
            if service in m.services
            and (m.state == MaintenanceState.IN_PROGRESS or now <= m.ends_at)
        ),
        None,
    )


def view(session: Session, maintenance_id: int) -> MaintenanceView:
    maintenance = found(session, maintenance_id)
    assert maintenance.id is not None
    return MaintenanceView(
        id=maintenance.id,
        services=tuple(maintenance.services),
        title=maintenance.title,
        window=Window(starts_at=maintenance.starts_at, ends_at=maintenance.ends_at),
        state=maintenance.state,
        revision=maintenance.revision,
        created_by=maintenance.created_by,
        channels=tuple(maintenance.channels),
        posts=tuple(series_post(p) for p in posts_of(session, maintenance)),
        planned_where=maintenance.planned_where,
    )


def idempotency_key(post: MaintenancePost, channel: str) -> str:
    return hashlib.sha256(f"crier:maintenance:{post.id}:{channel}".encode()).hexdigest()[:40]


# --- helpers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drafted:
    facts: MaintenanceFacts
    channels: tuple[Network, ...]
    planned: list[Planned]
    texts: list[dict[str, str]]
    announce_at: datetime
    remind_minutes: int


def _drafted(
    config: CrierConfig, drafter: Drafter, request: MaintenanceRequest, *, now: datetime
) -> _Drafted:
    """``request`` checked, its series planned and each post drafted for each channel."""
    channels = _channels(config, request.channels)
    facts = MaintenanceFacts(
        services=_services(config, request.services),
        title=clean_text(request.title, field_name="title", limit=TITLE_MAX, required=True),
        what_users_notice=clean_text(
            request.what_users_notice, field_name="what_users_notice", limit=TEXT_MAX
        ),
        what_to_do=clean_text(request.what_to_do, field_name="what_to_do", limit=TEXT_MAX),
        window=request.window,
    )
    planned = plan_series(
        request.window,
        announce_at=request.announce_at,
        remind_before=request.remind_before,
        now=now,
    )
    texts = [
        draft(drafter, config, p.kind, facts, channels=channels, due_at=p.due_at) for p in planned
    ]
    announce = planned[0].due_at
    assert announce is not None
    minutes = int((request.remind_before or timedelta(0)).total_seconds() // 60)
    return _Drafted(facts, channels, planned, texts, announce, minutes)


def facts_of(maintenance: Maintenance, window: Window) -> MaintenanceFacts:
    return MaintenanceFacts(
        services=tuple(maintenance.services),
        title=maintenance.title,
        what_users_notice=maintenance.what_users_notice,
        what_to_do=maintenance.what_to_do,
        window=window,
    )


def release_post(session: Session, post: MaintenancePost, *, now: datetime) -> None:
    maintenance = session.get_one(Maintenance, post.maintenance_id)
    for channel in maintenance.channels:
        session.add(
            Delivery(
                maintenance_post_id=post.id,
                channel=channel,
                state=DeliveryState.QUEUED,
                next_attempt_at=now,
                idempotency_key=idempotency_key(post, channel),
                created_at=now,
            )
        )
    post.state = PostState.PUBLISHED


def _add_posts(
    session: Session, maintenance: Maintenance, planned: list[Planned], texts: list[dict[str, str]]
) -> None:
    assert maintenance.id is not None
    for plan, text in zip(planned, texts, strict=True):
        session.add(
            MaintenancePost(
                maintenance_id=maintenance.id,
                revision=maintenance.revision,
                kind=plan.kind.value,
                due_at=plan.due_at,
                texts=text,
                state=PostState.PENDING,
            )
        )
    session.flush()


def posts_of(session: Session, maintenance: Maintenance) -> list[MaintenancePost]:
    """This revision's posts, in the order they go out (extensions and a cancellation last,
    in the order they were drafted)."""
    order = {kind.value: n for n, kind in enumerate(SeriesKind)}
    rows = session.exec(
        select(MaintenancePost).where(
            MaintenancePost.maintenance_id == maintenance.id,
            MaintenancePost.revision == maintenance.revision,
        )
    ).all()
    return sorted(rows, key=lambda p: (order.get(p.kind, 99), p.id or 0))


def series_post(post: MaintenancePost) -> SeriesPost:
    assert post.id is not None
    return SeriesPost(
        id=post.id,
        kind=SeriesKind(post.kind),
        due_at=post.due_at,
        state=post.state,
        texts=dict(post.texts),
    )


def found(session: Session, maintenance_id: int) -> Maintenance:
    maintenance = session.get(Maintenance, maintenance_id)
    if maintenance is None:
        raise NotFound(f"There is no maintenance #{maintenance_id}.")
    return maintenance


def _pending(session: Session, maintenance_id: int, *, revision: int | None) -> Maintenance:
    maintenance = session.exec(
        select(Maintenance).where(col(Maintenance.id) == maintenance_id).with_for_update()
    ).first()
    if maintenance is None:
        raise NotFound(f"There is no maintenance #{maintenance_id}.")
    if revision is not None and revision != maintenance.revision:
        raise Conflict(CHANGED_SINCE)
    if maintenance.state != MaintenanceState.PENDING:
        raise Conflict(f"This series was {maintenance.state.replace('_', ' ')} already.")
    return maintenance


def _services(config: CrierConfig, names: tuple[str, ...]) -> tuple[str, ...]:
    if not names:
        raise InvalidInput("Pick the services.", {"services": "Pick at least one service."})
    found: list[str] = []
    for name in names:
        service = config.find_service(name)
        if service is None:
            known = ", ".join(s.name for s in config.services)
            raise InvalidInput(f"There is no service “{name}”. Services: {known}.")
        found.append(service.name)
    return tuple(dict.fromkeys(found))


def _channels(config: CrierConfig, channels: tuple[Network, ...]) -> tuple[Network, ...]:
    wanted = tuple(c for c in channels if c not in NOT_FOR_MAINTENANCE)
    return check_channels(config, wanted)
