"""A maintenance's changes once it is planned: completed when someone says the work is done,
extended or cancelled — an extension, and a cancellation once something is public, drafted for
approval like any public text (one waits at a time), taking effect when approved. Each function
runs inside the caller's transaction; who may is checked by the core first
(``bot.maintenance.desk``). The series itself (proposed, approved, posted) is
``bot.maintenance.series``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.drafting.drafter import Drafter
from bot.errors import Conflict, InvalidInput, NotFound
from bot.maintenance.drafting import draft
from bot.maintenance.series import (
    POST_DUE,
    WINDOW_END,
    MaintenanceView,
    PostState,
    SeriesPost,
    facts_of,
    found,
    pending_change,
    posts_of,
    release_post,
    schedule_end,
    series_post,
    view,
)
from bot.maintenance.window import SeriesKind, Window
from bot.ports import Actor
from bot.scheduling import calendar_pause, jobs
from bot.storage import audit
from bot.storage.models import Maintenance, MaintenancePost, MaintenanceState

UNDER_WAY = (MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS)


def _changeable(session: Session, maintenance_id: int, *also: str) -> Maintenance:
    """The maintenance, if approved and not over (or in one of the states ``also``); else
    Conflict says what it is."""
    maintenance = found(session, maintenance_id)
    if maintenance.state not in (*UNDER_WAY, *also):
        raise Conflict(f"This maintenance is {maintenance.state.replace('_', ' ')}.")
    return maintenance


def complete(
    session: Session, *, maintenance_id: int, actor: Actor, now: datetime
) -> MaintenanceView:
    """The work is done: the approved completion goes out now."""
    maintenance = _changeable(session, maintenance_id)
    if now < maintenance.starts_at:
        raise Conflict("The window has not started yet: cancel it instead if it is off.")
    for post in posts_of(session, maintenance):
        if post.kind == SeriesKind.COMPLETE and post.state == PostState.APPROVED:
            release_post(session, post, now=now)
        elif post.state == PostState.APPROVED:  # not gone out yet (a reminder): no longer true
            post.state = PostState.SUPERSEDED
            jobs.cancel(session, now=now, key=f"{POST_DUE}:{post.id}")
    maintenance.state, maintenance.ended_at = MaintenanceState.COMPLETED, now
    calendar_pause.on_maintenance_over(session, maintenance_id=maintenance_id, now=now)
    jobs.cancel(session, now=now, key=f"{WINDOW_END}:{maintenance_id}")
    audit.record(
        session,
        actor=actor,
        action="maintenance_complete",
        at=now,
        detail={"maintenance_id": maintenance_id},
    )
    return view(session, maintenance_id)


def extend(
    session: Session,
    *,
    config: CrierConfig,
    drafter: Drafter,
    maintenance_id: int,
    by: timedelta,
    actor: Actor,
    now: datetime,
) -> SeriesPost:
    """Draft the public word that the work runs late, to a new end ``by`` after the current one
    (or after now, if that is later); it waits for approval, which moves the window's end."""
    maintenance = _changeable(session, maintenance_id)
    if not timedelta(minutes=5) <= by <= timedelta(days=2):
        raise InvalidInput("Extend by between 5 minutes and 2 days.")
    new_end = max(maintenance.ends_at, now) + by
    window = Window(starts_at=maintenance.starts_at, ends_at=new_end)
    return _change(
        session,
        config=config,
        drafter=drafter,
        maintenance=maintenance,
        kind=SeriesKind.EXTENDED,
        window=window,
        actor=actor,
        now=now,
    )


def cancel(
    session: Session,
    *,
    config: CrierConfig,
    drafter: Drafter,
    maintenance_id: int,
    actor: Actor,
    now: datetime,
) -> SeriesPost | None:
    """Call the maintenance off. Nothing public yet: it is cancelled at once (None). Once the
    announcement is out, a short cancellation is drafted for approval; its approval cancels."""
    maintenance = _changeable(session, maintenance_id, MaintenanceState.PENDING)
    announced = any(
        p.kind == SeriesKind.ANNOUNCE and p.state == PostState.PUBLISHED
        for p in posts_of(session, maintenance)
    )
    if not announced:
        _call_off(session, maintenance, actor=actor, now=now)
        return None
    window = Window(starts_at=maintenance.starts_at, ends_at=maintenance.ends_at)
    return _change(
        session,
        config=config,
        drafter=drafter,
        maintenance=maintenance,
        kind=SeriesKind.CANCELLED,
        window=window,
        actor=actor,
        now=now,
    )


def decide_post(
    session: Session, *, maintenance_post_id: int, approved: bool, actor: Actor, now: datetime
) -> MaintenanceView:
    """An approver's answer to an extension or a cancellation: approved, it goes out now and
    takes effect (the window's new end; the maintenance called off)."""
    post = session.exec(
        select(MaintenancePost)
        .where(col(MaintenancePost.id) == maintenance_post_id)
        .with_for_update()
    ).first()
    if post is None or post.kind not in (SeriesKind.EXTENDED, SeriesKind.CANCELLED):
        raise NotFound(f"There is no extension or cancellation #{maintenance_post_id}.")
    if post.state != PostState.PENDING:
        raise Conflict(f"This was {post.state} already.")
    maintenance = session.get_one(Maintenance, post.maintenance_id)
    if not approved:
        post.state = PostState.REJECTED
    elif post.kind == SeriesKind.EXTENDED:
        assert post.ends_at is not None
        maintenance.ends_at = post.ends_at
        release_post(session, post, now=now)
        schedule_end(session, maintenance)
    else:
        release_post(session, post, now=now)
        _call_off(session, maintenance, actor=actor, now=now)
    decision = "approve" if approved else "reject"
    action = f"maintenance_{decision}_{post.kind.removeprefix('maintenance_')}"
    audit.record(
        session,
        actor=actor,
        action=action,
        at=now,
        detail={"maintenance_id": maintenance.id, "maintenance_post_id": post.id},
    )
    assert maintenance.id is not None
    return view(session, maintenance.id)


def requested_by(session: Session, maintenance_post_id: int) -> str | None:
    post = session.get(MaintenancePost, maintenance_post_id)
    if post is None:
        raise NotFound(f"There is no extension or cancellation #{maintenance_post_id}.")
    return post.requested_by


def _change(
    session: Session,
    *,
    config: CrierConfig,
    drafter: Drafter,
    maintenance: Maintenance,
    kind: SeriesKind,
    window: Window,
    actor: Actor,
    now: datetime,
) -> SeriesPost:
    """Draft an extension or a cancellation for approval (one waits at a time: a new one
    replaces a waiting one)."""
    assert maintenance.id is not None
    waiting = pending_change(session, maintenance.id)
    if waiting is not None:
        session.get_one(MaintenancePost, waiting.id).state = PostState.SUPERSEDED
    channels = tuple(Network(c) for c in maintenance.channels)
    texts = draft(
        drafter, config, kind, facts_of(maintenance, window), channels=channels, due_at=now
    )
    post = MaintenancePost(
        maintenance_id=maintenance.id,
        revision=maintenance.revision,
        kind=kind.value,
        due_at=None,
        ends_at=window.ends_at if kind is SeriesKind.EXTENDED else None,
        requested_by=actor.key,
        texts=texts,
        state=PostState.PENDING,
    )
    session.add(post)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"maintenance_{kind.removeprefix('maintenance_')}",
        at=now,
        detail={"maintenance_id": maintenance.id, "maintenance_post_id": post.id},
    )
    return series_post(post)


def _call_off(session: Session, maintenance: Maintenance, *, actor: Actor, now: datetime) -> None:
    """No more of the series goes out."""
    for post in posts_of(session, maintenance):
        if (
            post.state in (PostState.PENDING, PostState.APPROVED)
            and post.kind != SeriesKind.CANCELLED
        ):
            post.state = PostState.SUPERSEDED
            jobs.cancel(session, now=now, key=f"{POST_DUE}:{post.id}")
    jobs.cancel(session, now=now, key=f"{WINDOW_END}:{maintenance.id}")
    maintenance.state, maintenance.ended_at = MaintenanceState.CANCELLED, now
    calendar_pause.on_maintenance_over(session, maintenance_id=maintenance.id or 0, now=now)
    audit.record(
        session,
        actor=actor,
        action="maintenance_cancelled",
        at=now,
        detail={"maintenance_id": maintenance.id},
    )
