"""Claiming due deliveries: which rows a process takes, how many per network, what each will send.

A claim takes at most each network's free room (its ``concurrency`` less what this process has in
flight there), so a claimed delivery is sent at once: its lease runs while it is being sent,
never while it waits behind another post to the same network. On PostgreSQL the rows are locked
with ``FOR UPDATE SKIP LOCKED``, so replicas never take the same one.

    claimed, changed_posts = claim_due(
        session, config=config, publishers=publishers, room={Network.X: 4}, total=50,
        lease=timedelta(minutes=2), now=now, lock_rows=store.is_postgres,
    )
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.config import CrierConfig, Network
from bot.drafting.post_times import fill_times
from bot.incidents.lifecycle import facts_for
from bot.ports import ANSWER_KIND, Publisher, PublishRequest
from bot.publishing.costs import hold_if_over_budget
from bot.publishing.outbox import OutboxPublisher
from bot.publishing.outcomes import mark_unknown
from bot.scheduling.scheduler import dead_claims
from bot.storage.models import (
    Answer,
    Delivery,
    DeliveryState,
    HeardPost,
    Incident,
    Maintenance,
    MaintenancePost,
    Post,
    Rendition,
    ScheduledPost,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    post_id: int | None  # None for a content-calendar post
    request: PublishRequest
    lease_until: datetime  # as this claim set it: renewed only while the row still says so
    answer_id: int | None = None  # an answer to something heard (bot/listening/answers.py)


def claim_due(
    session: Session,
    *,
    config: CrierConfig,
    publishers: Mapping[Network, Publisher],
    room: Mapping[Network, int],
    total: int,
    lease: timedelta,
    now: datetime,
    lock_rows: bool,
    claimed_by: str | None = None,
) -> tuple[list[Claimed], set[int]]:
    """Claim due deliveries, at most ``room[network]`` on each network (in ``room``'s order)
    and ``total`` in all; returns them and the posts whose deliveries changed.

    Due rows that need no sending are settled on the way and take no room: an interrupted send
    without an idempotency key (*unknown*), a network that is not enabled, a post over budget.
    """
    claimed: list[Claimed] = []
    changed_posts: set[int] = set()
    left = dict(room)

    def take(rows: Sequence[Delivery]) -> None:
        for delivery in rows:
            network = Network(delivery.channel)
            if left[network] <= 0 or len(claimed) >= total:
                continue  # came due since it was counted: the next claim takes it
            one = _claim_one(
                session, delivery, config=config, publishers=publishers, lease=lease, now=now
            )
            if delivery.post_id is not None:
                changed_posts.add(delivery.post_id)
            if one is not None:
                delivery.claimed_by = claimed_by
                claimed.append(one)
                left[network] -= 1

    # Counted first, unlocked: the networks whose due rows all fit are claimed in one query
    # (one approval's fan-out, the usual case); a network with more due than room, alone.
    due = _due_counts(session, room, now)
    fits = [n for n in room if 0 < due.get(n.value, 0) <= room[n]]
    if fits:
        most = min(sum(room[n] for n in fits), total)
        take(session.exec(_due_on(fits, now, lock_rows).limit(most)).all())
    for network in (n for n in room if due.get(n.value, 0) > room[n]):
        while left[network] > 0 and len(claimed) < total:
            most = min(left[network], total - len(claimed))
            rows = session.exec(_due_on([network], now, lock_rows).limit(most)).all()
            if not rows:
                break
            # Rows settled without a send leave the due set (autoflush): the next query finds
            # the ones behind them, so a settled row never costs a later post its turn.
            take(rows)
    session.flush()
    return claimed, changed_posts


def _due_counts(session: Session, room: Mapping[Network, int], now: datetime) -> dict[str, int]:
    counted = session.exec(
        select(Delivery.channel, func.count())
        .where(_due(now), col(Delivery.channel).in_([n.value for n in room]))
        .group_by(col(Delivery.channel))
    ).all()
    return dict(counted)


def _due(now: datetime) -> ColumnElement[bool]:
    """Waiting and due, or being sent under a lease that ran out."""
    return or_(
        col(Delivery.state).in_([DeliveryState.QUEUED, DeliveryState.RETRYING])
        & (col(Delivery.next_attempt_at) <= now),
        (col(Delivery.state) == DeliveryState.SENDING) & (col(Delivery.claimed_until) < now),
    )


def _due_on(
    networks: Sequence[Network], now: datetime, lock_rows: bool
) -> SelectOfScalar[Delivery]:
    query = (
        select(Delivery)
        .where(col(Delivery.channel).in_([n.value for n in networks]), _due(now))
        .order_by(col(Delivery.next_attempt_at))
    )
    return query.with_for_update(skip_locked=True) if lock_rows else query


def _claim_one(
    session: Session,
    delivery: Delivery,
    *,
    config: CrierConfig,
    publishers: Mapping[Network, Publisher],
    lease: timedelta,
    now: datetime,
) -> Claimed | None:
    network = Network(delivery.channel)
    publisher = publishers.get(network)
    interrupted = delivery.state == DeliveryState.SENDING
    if interrupted and (publisher is None or not publisher.idempotent):
        # Its lease ran out mid-send (the process died): a resend could post twice.
        why = (
            "Crier stopped while sending this; check the account before retrying, "
            "so it is not posted twice."
        )
        mark_unknown(session, delivery, why=why, error="interrupted", at=now)
        return None
    if publisher is None:
        delivery.state = DeliveryState.FAILED
        delivery.last_error = f"{network.value} is not enabled in crier.yml"
        return None
    request = publish_request(session, config=config, delivery=delivery, network=network, now=now)
    # A dry run costs nothing: only a network's own publisher counts against a budget.
    if not isinstance(publisher, OutboxPublisher) and hold_if_over_budget(
        session, config=config, delivery=delivery, text=request.text, now=now
    ):
        return None
    delivery.state = DeliveryState.SENDING
    delivery.attempts += 1
    delivery.claimed_until = now + lease
    delivery.text = request.text
    return Claimed(
        delivery.id or 0,
        delivery.post_id,
        request,
        delivery.claimed_until,
        answer_id=delivery.answer_id,
    )


def lapse_the_dead(session: Session, *, now: datetime) -> int:
    """Deliveries that a process of this machine, now gone (killed), was sending: their leases
    end now, so the next claim settles them (sent again where safe, *unknown* elsewhere) rather
    than minutes later."""
    dead = dead_claims(session, Delivery.claimed_by, col(Delivery.state) == DeliveryState.SENDING)
    if not dead:
        return 0
    result = session.execute(
        update(Delivery)
        .where(col(Delivery.state) == DeliveryState.SENDING, col(Delivery.claimed_by).in_(dead))
        .values(claimed_until=now - timedelta(seconds=1))
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    log.info("took back %d delivery(ies) left by stopped process(es) %s", count, ", ".join(dead))
    return count


def publish_request(
    session: Session, *, config: CrierConfig, delivery: Delivery, network: Network, now: datetime
) -> PublishRequest:
    """What ``delivery`` sends: its text (with the time filled in on the first attempt), and
    the incident's previous post on the network to reply to."""
    if delivery.scheduled_post_id is not None:
        return _calendar_request(session, delivery, network)
    if delivery.maintenance_post_id is not None:
        return _maintenance_request(session, config=config, delivery=delivery, now=now)
    if delivery.answer_id is not None:
        return _answer_request(session, delivery)
    post = session.get(Post, delivery.post_id)
    incident = session.get(Incident, delivery.incident_id)
    assert post is not None and incident is not None
    text = delivery.text
    if text is None:  # first attempt: the time on the post is the time it is published
        rendition = session.exec(
            select(Rendition).where(
                Rendition.post_id == post.id, Rendition.channel == delivery.channel
            )
        ).one()
        text = fill_times(
            rendition.text,
            zone=config.organisation.zone,
            at=now,
            next_update_minutes=post.facts.get("next_update_minutes"),
        )
    previous = session.exec(
        select(Delivery)
        .where(
            Delivery.incident_id == incident.id,
            Delivery.channel == delivery.channel,
            Delivery.state == DeliveryState.SENT,
            col(Delivery.id) != delivery.id,
            col(Delivery.answer_id).is_(None),  # an answer is threaded to someone else's post
        )
        .order_by(col(Delivery.sent_at).desc())
    ).first()
    service = config.find_service(incident.service)
    facts = facts_for(config, incident, post)
    return PublishRequest(
        network=network,
        text=text,
        idempotency_key=delivery.idempotency_key,
        incident_id=incident.id or 0,
        post_kind=post.kind,
        status=post.status,
        service=incident.service,
        title=f"{incident.service}: {facts.summary}",
        reply_to=previous.external_id if previous else None,
        component=service.component if service else None,
        extra={"severity": incident.severity},
    )


def _calendar_request(session: Session, delivery: Delivery, network: Network) -> PublishRequest:
    scheduled = session.get(ScheduledPost, delivery.scheduled_post_id)
    assert scheduled is not None
    return PublishRequest(
        network=network,
        text=scheduled.text,
        idempotency_key=delivery.idempotency_key,
        incident_id=0,
        post_kind="calendar",
        status="",
        service="",
        title=scheduled.text.splitlines()[0][:80] if scheduled.text else "",
    )


def _answer_request(session: Session, delivery: Delivery) -> PublishRequest:
    """An approved answer: its words as written, as a reply to the post it answers (``extra``
    carries what a network needs besides that post's id: Bluesky's uri and cid of it and of
    its thread's root)."""
    answer = session.get_one(Answer, delivery.answer_id)
    heard = session.get_one(HeardPost, answer.heard_id)
    incident = session.get(Incident, answer.incident_id) if answer.incident_id else None
    return PublishRequest(
        network=Network(delivery.channel),
        text=answer.text,
        idempotency_key=delivery.idempotency_key,
        incident_id=answer.incident_id or 0,
        post_kind=ANSWER_KIND,
        status="",
        service=incident.service if incident is not None else "",
        title=f"Answer to {heard.author}",
        reply_to=heard.external_id,
        extra={**heard.reply_ref, "answers": heard.kind},
    )


def _maintenance_request(
    session: Session, *, config: CrierConfig, delivery: Delivery, now: datetime
) -> PublishRequest:
    """A planned maintenance's post: its channel's text, the time filled in when it goes out."""
    post = session.get_one(MaintenancePost, delivery.maintenance_post_id)
    maintenance = session.get_one(Maintenance, post.maintenance_id)
    text = delivery.text
    if text is None:
        text = fill_times(
            post.texts[delivery.channel],
            zone=config.organisation.zone,
            at=now,
            next_update_minutes=None,
        )
    return PublishRequest(
        network=Network(delivery.channel),
        text=text,
        idempotency_key=delivery.idempotency_key,
        incident_id=0,
        post_kind=post.kind,
        status="",
        service=", ".join(maintenance.services),
        title=f"Planned maintenance: {maintenance.title}",
    )
