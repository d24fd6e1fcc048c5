"""The outbox worker: claims due deliveries and publishes them in parallel, exactly once each.

A delivery is claimed with a lease (``claimed_until``). On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED`` so replicas never take the same row. A delivery whose lease ran out
while it was being sent (the process died) is sent again only where the network's idempotency
key makes that safe; elsewhere it is marked *unknown* and a person decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bot import audit
from bot.config import CrierConfig, Network
from bot.costs import over_budget
from bot.incidents import facts_for
from bot.models import Delivery, DeliveryState, Incident, Post, Rendition, ScheduledPost
from bot.ports import Clock, Published, Publisher, PublishError, PublishRequest
from bot.post_times import fill_times
from bot.publishing.outbox import OutboxPublisher
from bot.store import Lane, Store

log = logging.getLogger(__name__)
BG = Lane.BACKGROUND

# Told (not awaited) when a post's deliveries change: chat is refreshed beside publishing,
# never before it, so a slow chat cannot delay a post.
PostChanged = Callable[[int], None]
SHORTEST_NAP = 0.05  # seconds: a pass that found due work it could not take does not spin


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    post_id: int | None  # None for a content-calendar post
    request: PublishRequest


def backoff(attempt: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempt - 1, 0), 600))


class DeliveryWorker:
    def __init__(
        self,
        *,
        store: Store,
        config: CrierConfig,
        publishers: Mapping[Network, Publisher],
        clock: Clock,
        on_post_changed: PostChanged | None = None,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 6,
        per_network_concurrency: int = 4,
        batch_size: int = 50,
    ) -> None:
        self._store = store
        self._config = config
        self._publishers = publishers
        self._clock = clock
        self._on_post_changed = on_post_changed
        self._lease = lease
        self._max_attempts = max_attempts
        self._batch_size = batch_size
        self._limits = {
            n: asyncio.Semaphore(
                config.channels[n].concurrency if n in config.channels else per_network_concurrency
            )
            for n in Network
        }
        self._wake = asyncio.Event()
        # Networks whose quota is spent, until their reset: their posts are not claimed (and
        # not sent only to be refused) until then. In memory: a restart costs one refusal each.
        self._held_until: dict[Network, datetime] = {}

    def wake(self) -> None:
        """Ask the loop to look for due deliveries now (after an approval or a retry)."""
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event, *, poll_seconds: float = 1.0) -> None:
        """Publish until ``stop``: at once when woken, at each delivery's due time, and at least
        every ``poll_seconds`` (another process may have approved something)."""
        while not stop.is_set():
            self._wake.clear()
            nap = poll_seconds
            try:
                await self.run_once()
                nap = await self._seconds_to_next(poll_seconds)
            except Exception:
                log.exception("publishing pass failed; trying again shortly")
            if self._wake.is_set() or stop.is_set():
                continue
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=nap, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _seconds_to_next(self, longest: float) -> float:
        """How long until the next delivery falls due (a retry's time, a lapsed lease)."""
        now = self._clock.now()
        held = self._held_networks(now)

        def soonest(session: Session) -> datetime | None:
            waiting = select(func.min(Delivery.next_attempt_at)).where(
                col(Delivery.state).in_([DeliveryState.QUEUED, DeliveryState.RETRYING]),
                col(Delivery.channel).not_in(held),
            )
            leased = select(func.min(Delivery.claimed_until)).where(
                col(Delivery.state) == DeliveryState.SENDING
            )
            times = [session.exec(waiting).one(), session.exec(leased).one()]
            return min((t for t in times if t is not None), default=None)

        due = await self._store.read(soonest, lane=Lane.BACKGROUND)
        candidates = [
            longest,
            *((h - now).total_seconds() for h in self._held_until.values() if h > now),
        ]
        if due is not None:
            if due.tzinfo is None:  # SQLite hands back naive UTC
                due = due.replace(tzinfo=now.tzinfo)
            candidates.append((due - now).total_seconds())
        return max(min(candidates), SHORTEST_NAP)

    def _held_networks(self, now: datetime) -> list[str]:
        return [n.value for n, until in self._held_until.items() if until > now]

    async def run_once(self) -> int:
        """Claim what is due and publish it all concurrently; returns how many were attempted."""
        claimed, unknown_posts = await self._store.run(self._claim, lane=Lane.BACKGROUND)
        for post_id in unknown_posts | {c.post_id for c in claimed if c.post_id is not None}:
            self._changed(post_id)
        await asyncio.gather(*(self._deliver(c) for c in claimed))
        return len(claimed)

    def _claim(self, session: Session) -> tuple[list[Claimed], set[int]]:
        now = self._clock.now()
        due = or_(
            col(Delivery.state).in_([DeliveryState.QUEUED, DeliveryState.RETRYING])
            & (col(Delivery.next_attempt_at) <= now),
            (col(Delivery.state) == DeliveryState.SENDING) & (col(Delivery.claimed_until) < now),
        )
        held = self._held_networks(now)
        if held:
            due = due & col(Delivery.channel).not_in(held)
        query = select(Delivery).where(due).order_by(col(Delivery.next_attempt_at))
        query = query.limit(self._batch_size)
        if self._store.is_postgres:
            query = query.with_for_update(skip_locked=True)
        claimed: list[Claimed] = []
        unknown_posts: set[int] = set()
        for delivery in session.exec(query).all():
            network = Network(delivery.channel)
            publisher = self._publishers.get(network)
            interrupted = delivery.state == DeliveryState.SENDING
            if interrupted and (publisher is None or not publisher.idempotent):
                delivery.state = DeliveryState.UNKNOWN
                delivery.claimed_until = None
                delivery.last_error = (
                    "Crier stopped while sending this; check the account before retrying, "
                    "so it is not posted twice."
                )
                audit.record(
                    session,
                    actor=audit.SYSTEM_ACTOR,
                    action="publish_unknown",
                    incident_id=delivery.incident_id,
                    post_id=delivery.post_id,
                    at=now,
                    detail={"channel": delivery.channel, "error": "interrupted"},
                )
                if delivery.post_id is not None:
                    unknown_posts.add(delivery.post_id)
                continue
            if publisher is None:
                delivery.state = DeliveryState.FAILED
                delivery.last_error = f"{network.value} is not enabled in crier.yml"
                if delivery.post_id is not None:
                    unknown_posts.add(delivery.post_id)
                continue
            request = self._request(session, delivery, network, now)
            # A dry run costs nothing: only a network's own publisher counts against a budget.
            held_for_cost = (
                None
                if isinstance(publisher, OutboxPublisher)
                else over_budget(
                    session, config=self._config, network=network, text=request.text, now=now
                )
            )
            if held_for_cost is not None:
                self._hold_for_budget(session, delivery, held_for_cost, now)
                if delivery.post_id is not None:
                    unknown_posts.add(delivery.post_id)
                continue
            delivery.state = DeliveryState.SENDING
            delivery.attempts += 1
            delivery.claimed_until = now + self._lease
            delivery.text = request.text
            claimed.append(Claimed(delivery.id or 0, delivery.post_id, request))
        session.flush()
        return claimed, unknown_posts

    def _hold_for_budget(
        self, session: Session, delivery: Delivery, reason: str, now: datetime
    ) -> None:
        """Not sent: it would cost more than the month allows. Failed, so it offers *Retry*."""
        delivery.state = DeliveryState.FAILED
        delivery.claimed_until = None
        delivery.last_error = reason
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="publish_held_budget",
            incident_id=delivery.incident_id,
            post_id=delivery.post_id,
            at=now,
            detail={"channel": delivery.channel},
        )
        log.warning("held a %s post over the monthly budget", delivery.channel)

    def _request(
        self, session: Session, delivery: Delivery, network: Network, now: datetime
    ) -> PublishRequest:
        if delivery.scheduled_post_id is not None:
            return self._calendar_request(session, delivery, network)
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
                zone=self._config.organisation.zone,
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
            )
            .order_by(col(Delivery.sent_at).desc())
        ).first()
        service = self._config.find_service(incident.service)
        facts = facts_for(self._config, incident, post)
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

    def _calendar_request(
        self, session: Session, delivery: Delivery, network: Network
    ) -> PublishRequest:
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

    async def _deliver(self, claimed: Claimed) -> None:
        publisher = self._publishers[claimed.request.network]
        async with self._limits[claimed.request.network]:
            held = self._held_until.get(claimed.request.network)
            if held is not None and held > self._clock.now():
                # Another post just met the network's rate limit: this one waits with it.
                await self._store.run(lambda s: self._put_back(s, claimed, held), lane=BG)
                return
            try:
                published = await publisher.publish(claimed.request)
            except PublishError as refused:
                failure = refused
                self._hold_if_rate_limited(claimed.request.network, failure)
                await self._store.run(lambda s: self._failed(s, claimed, failure), lane=BG)
            except Exception as exc:  # a bug or an unexpected answer: retry, but say so
                log.exception("publisher %s raised", claimed.request.network.value)
                error = PublishError(f"unexpected error: {type(exc).__name__}", transient=True)
                await self._store.run(lambda s: self._failed(s, claimed, error), lane=BG)
            else:
                answered_at = self._clock.now()  # when it went public, not when it was noted
                await self._store.run(
                    lambda s: self._sent(s, claimed, published, answered_at), lane=BG
                )
        self._changed(claimed.post_id)

    def _hold_if_rate_limited(self, network: Network, error: PublishError) -> None:
        if error.rate_limited and error.retry_at is not None:
            until = max(error.retry_at, self._held_until.get(network, error.retry_at))
            self._held_until[network] = until

    def _put_back(self, session: Session, claimed: Claimed, until: datetime) -> None:
        delivery = session.get(Delivery, claimed.delivery_id)
        assert delivery is not None
        delivery.state = DeliveryState.RETRYING
        delivery.attempts = max(delivery.attempts - 1, 0)  # it was never sent
        delivery.next_attempt_at = until
        delivery.claimed_until = None
        label = self._publishers[claimed.request.network].label
        delivery.last_error = f"waiting for {label}'s rate limit to reset"

    def _sent(
        self, session: Session, claimed: Claimed, published: Published, now: datetime
    ) -> None:
        delivery = session.get(Delivery, claimed.delivery_id)
        assert delivery is not None
        delivery.state = DeliveryState.SENT
        delivery.external_id = published.external_id
        delivery.url = published.url
        delivery.sent_at = now
        delivery.claimed_until = None
        delivery.last_error = None
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="publish",
            incident_id=delivery.incident_id,
            post_id=delivery.post_id,
            at=now,
            detail={
                "channel": delivery.channel,
                "url": published.url or "",
                "external_id": published.external_id,
            },
        )
        log.info("published delivery %s to %s: %s", delivery.id, delivery.channel, published.url)

    def _failed(self, session: Session, claimed: Claimed, error: PublishError) -> None:
        delivery = session.get(Delivery, claimed.delivery_id)
        assert delivery is not None
        now = self._clock.now()
        delivery.claimed_until = None
        delivery.last_error = error.message[:1000]
        publisher = self._publishers.get(claimed.request.network)
        if error.maybe_sent and (publisher is None or not publisher.idempotent):
            # Without an idempotency key a retry could post twice: a person checks first.
            delivery.state = DeliveryState.UNKNOWN
            delivery.last_error = (
                f"{error.message}. The post may or may not be up: check the account, then "
                "Retry only if it is not there."
            )
            audit.record(
                session,
                actor=audit.SYSTEM_ACTOR,
                action="publish_unknown",
                incident_id=delivery.incident_id,
                post_id=delivery.post_id,
                at=now,
                detail={"channel": delivery.channel, "error": error.message[:300]},
            )
            log.warning(
                "delivery %s to %s: outcome unknown: %s",
                delivery.id,
                delivery.channel,
                error.message,
            )
            return
        if error.rate_limited and error.retry_at is not None:
            # The network said when its quota comes back: waiting for it is not a failure, so
            # a long queue behind a rate limit is sent in full, however many windows it takes.
            delivery.attempts = max(delivery.attempts - 1, 0)
        if error.transient and delivery.attempts < self._max_attempts:
            delivery.state = DeliveryState.RETRYING
            # A network's own reset time beats our guess; otherwise back off exponentially.
            delivery.next_attempt_at = error.retry_at or now + backoff(delivery.attempts)
            log.warning(
                "delivery %s to %s will retry at %s: %s",
                delivery.id,
                delivery.channel,
                delivery.next_attempt_at.isoformat(),
                error.message,
            )
            return
        delivery.state = DeliveryState.FAILED
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="publish_failed",
            incident_id=delivery.incident_id,
            post_id=delivery.post_id,
            at=now,
            detail={"channel": delivery.channel, "error": error.message[:300]},
        )
        log.warning("delivery %s to %s failed: %s", delivery.id, delivery.channel, error.message)

    def _changed(self, post_id: int | None) -> None:
        if self._on_post_changed is None or post_id is None:
            return
        try:
            self._on_post_changed(post_id)
        except Exception:
            log.exception("could not show the outcome of post %s in chat", post_id)
