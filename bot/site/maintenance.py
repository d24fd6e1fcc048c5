"""Planned maintenance on the status site: what the public may see of it, read from the database.

A maintenance is public once its announcement went out (a sent delivery of its announcement post)
and its series was approved; it is shown as scheduled, then in progress, then completed (or
cancelled), with each post of it that went out, as published (the longest of its channels'
texts: the one that says the most). Nothing of a series waiting for approval, and no drafts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.maintenance.window import SeriesKind
from bot.storage.models import (
    Delivery,
    DeliveryState,
    Maintenance,
    MaintenancePost,
    MaintenanceState,
)


class MaintenancePhase(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


PHASE_OF_STATE = {
    MaintenanceState.SCHEDULED: MaintenancePhase.SCHEDULED,
    MaintenanceState.IN_PROGRESS: MaintenancePhase.IN_PROGRESS,
    MaintenanceState.COMPLETED: MaintenancePhase.COMPLETED,
    MaintenanceState.CANCELLED: MaintenancePhase.CANCELLED,
}
KIND_LABELS = {
    SeriesKind.ANNOUNCE: "Planned",
    SeriesKind.REMINDER: "Reminder",
    SeriesKind.START: "In progress",
    SeriesKind.COMPLETE: "Completed",
    SeriesKind.EXTENDED: "Extended",
    SeriesKind.CANCELLED: "Cancelled",
}


@dataclass(frozen=True)
class MaintenanceUpdate:
    id: int  # the delivery's id
    kind: str  # SeriesKind
    text: str
    published_at: datetime

    @property
    def label(self) -> str:
        return KIND_LABELS.get(SeriesKind(self.kind), "Update")


@dataclass(frozen=True)
class PublicMaintenance:
    id: int
    title: str
    services: tuple[str, ...]  # catalog names
    starts_at: datetime
    ends_at: datetime
    phase: MaintenancePhase
    updates: tuple[MaintenanceUpdate, ...]  # oldest first; never empty

    @property
    def name(self) -> str:
        return f"{', '.join(self.services)}: {self.title}"

    @property
    def is_open(self) -> bool:
        """Still to come or under way."""
        return self.phase in (MaintenancePhase.SCHEDULED, MaintenancePhase.IN_PROGRESS)

    @property
    def changed_at(self) -> datetime:
        return self.updates[-1].published_at

    @property
    def newest_first(self) -> tuple[MaintenanceUpdate, ...]:
        return tuple(reversed(self.updates))


def read_public_maintenance(session: Session) -> tuple[PublicMaintenance, ...]:
    """Every public maintenance, the soonest to start first."""
    rows = session.exec(
        select(Delivery, MaintenancePost, Maintenance)
        .join(MaintenancePost, col(MaintenancePost.id) == col(Delivery.maintenance_post_id))
        .join(Maintenance, col(Maintenance.id) == col(MaintenancePost.maintenance_id))
        .where(
            Delivery.state == DeliveryState.SENT,
            col(Maintenance.state).in_(list(PHASE_OF_STATE)),
        )
        .order_by(col(Delivery.id))
    ).all()
    # Per post, the longest text any of its channels published, at its first sending.
    best: dict[int, MaintenanceUpdate] = {}
    found: dict[int, Maintenance] = {}
    posts: dict[int, list[int]] = defaultdict(list)
    announced: set[int] = set()
    for delivery, post, maintenance in rows:
        assert delivery.id is not None and post.id is not None and maintenance.id is not None
        found[maintenance.id] = maintenance
        if post.kind == SeriesKind.ANNOUNCE:
            announced.add(maintenance.id)
        text, at = delivery.text or "", delivery.sent_at or delivery.created_at
        held = best.get(post.id)
        if held is None:
            posts[maintenance.id].append(post.id)
            best[post.id] = MaintenanceUpdate(
                id=delivery.id, kind=post.kind, text=text, published_at=at
            )
        else:
            longer = text if len(text) > len(held.text) else held.text
            best[post.id] = MaintenanceUpdate(
                id=held.id, kind=held.kind, text=longer, published_at=min(at, held.published_at)
            )
    public = []
    for maintenance_id in announced:
        maintenance = found[maintenance_id]
        updates = sorted(
            (best[p] for p in posts[maintenance_id]), key=lambda u: (u.published_at, u.id)
        )
        public.append(
            PublicMaintenance(
                id=maintenance_id,
                title=maintenance.title,
                services=tuple(maintenance.services),
                starts_at=maintenance.starts_at,
                ends_at=maintenance.ends_at,
                phase=PHASE_OF_STATE[MaintenanceState(maintenance.state)],
                updates=tuple(updates),
            )
        )
    return tuple(sorted(public, key=lambda m: (m.starts_at, m.id)))


def maintenance_marker(session: Session) -> tuple[object, ...]:
    """Changes whenever what ``read_public_maintenance`` reads changes."""
    sent = session.exec(
        select(func.count(), func.max(Delivery.id)).where(
            col(Delivery.maintenance_post_id).is_not(None), Delivery.state == DeliveryState.SENT
        )
    ).one()
    rows = session.exec(
        select(func.count(), func.max(Maintenance.ends_at), func.max(Maintenance.ended_at)).where(
            col(Maintenance.state) != MaintenanceState.PENDING
        )
    ).one()
    states = session.exec(
        select(Maintenance.state, func.count()).group_by(col(Maintenance.state))
    ).all()
    return (*sent, *rows, tuple(sorted(states)))
