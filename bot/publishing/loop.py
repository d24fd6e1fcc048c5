"""The publishing loop: claims due deliveries and publishes them in parallel, exactly once each.

Each claimed delivery is sent in its own task and finishes on its own: a network that hangs holds
up only its own posts, never another incident's post to another network. The loop keeps up to
each network's ``concurrency`` (and ``max_in_flight`` in all) in flight and claims more whenever
a slot frees, it is woken, or a delivery falls due.

A delivery is claimed with a lease (``claimed_until``, see ``bot.publishing.claims``), renewed
while its send lasts. A delivery whose lease ran out while it was being sent (the process died)
is sent again only where the network's idempotency key makes that safe; elsewhere it is marked
*unknown* and a person decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.config import ChannelConfig, CrierConfig, Network
from bot.ports import Clock, Published, Publisher, PublishError
from bot.publishing.claims import Claimed, claim_due, lapse_the_dead
from bot.publishing.outcomes import put_back, record_failure, record_sent, renew_lease
from bot.scheduling.scheduler import default_worker_id
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store

log = logging.getLogger(__name__)

# Told, in the transaction that changed a post's deliveries, so that chat shows the change
# (bot/scheduling/work.py queues the refresh there): never lost to a kill, never before the change.
PostChanged = Callable[[Session, int], None]
SHORTEST_NAP = 0.05  # seconds: a pass that found due work it could not take does not spin


class PublishingLoop:
    def __init__(
        self,
        *,
        store: Store,
        config: CrierConfig,
        publishers: Mapping[Network, Publisher],
        clock: Clock,
        on_post_changed: PostChanged | None = None,
        on_answer_changed: PostChanged | None = None,
        after_change: Callable[[], None] | None = None,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 6,
        max_in_flight: int = 50,
    ) -> None:
        self._store = store
        self._worker_id = default_worker_id()
        self._config = config
        self._publishers = publishers
        self._clock = clock
        self._on_post_changed = on_post_changed
        self._on_answer_changed = on_answer_changed  # an answer's delivery, as posts' above
        self._after_change = after_change  # once such a transaction has committed
        self._lease = lease
        # Renewed well before it ends, so a slow database write cannot let it lapse. In real
        # seconds: the clock may be a test's, which does not move by itself.
        self._renew_every = lease.total_seconds() / 3
        self._max_attempts = max_attempts
        self._max_in_flight = max_in_flight
        self._concurrency = {
            n: config.channels.get(n, ChannelConfig()).concurrency for n in Network
        }
        # From its claim to its outcome, each delivery this process is sending, by network.
        self._in_flight: dict[int, Network] = {}
        self._claiming = asyncio.Lock()  # one claim at a time: each counts the last one's slots
        self._first_network = 0  # claims start at a different network each time: none starves
        self._wake = asyncio.Event()
        # Networks whose quota is spent, until their reset: their posts are not claimed (and
        # not sent only to be refused) until then. In memory: a restart costs one refusal each.
        self._held_until: dict[Network, datetime] = {}

    def wake(self) -> None:
        """Ask the loop to look for due deliveries now (after an approval or a retry)."""
        self._wake.set()

    async def take_back(self) -> int:
        """What a killed process of this machine was sending is due now, not when its lease
        ends (``run_forever`` does this first); returns how many."""
        return await self._store.run(lambda s: lapse_the_dead(s, now=self._clock.now()))

    async def run_forever(self, stop: asyncio.Event, *, poll_seconds: float = 1.0) -> None:
        """Publish until ``stop``: at once when woken or a slot frees, at each delivery's due
        time, and at least every ``poll_seconds`` (another process may have approved something).

        On ``stop`` nothing more is claimed and what is in flight is finished before this
        returns. Cancelled, it abandons what is in flight: those leases run out, and the next
        claim sends them again where that is safe and marks them *unknown* elsewhere.
        """
        sending: set[asyncio.Task[None]] = set()
        try:
            await self.take_back()
        except Exception:
            log.exception("could not take back the deliveries of stopped processes")
        stopping = asyncio.create_task(stop.wait())
        stopping.add_done_callback(lambda _: self.wake())  # a stop ends the nap
        try:
            while not stop.is_set():
                self._wake.clear()
                nap = poll_seconds
                try:
                    for claimed in await self._claim_free_slots():
                        task = asyncio.create_task(self._deliver(claimed))
                        sending.add(task)
                        task.add_done_callback(sending.discard)
                        task.add_done_callback(self._log_if_failed)
                    nap = await self._seconds_to_next(poll_seconds)
                except Exception:
                    log.exception("publishing pass failed; trying again shortly")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=nap)
            if sending:
                await asyncio.wait(sending)
        except asyncio.CancelledError:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            raise
        finally:
            stopping.cancel()

    @staticmethod
    def _log_if_failed(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            # Its outcome was not recorded: the lease runs out and the next claim decides.
            log.error("a delivery's task failed", exc_info=error)

    async def run_once(self) -> int:
        """Claim what is due (as much as the free slots allow) and publish it all concurrently;
        returns how many were attempted."""
        claimed = await self._claim_free_slots()
        await asyncio.gather(*(self._deliver(c) for c in claimed))
        return len(claimed)

    # --- claiming ----------------------------------------------------------------------------

    async def _claim_free_slots(self) -> list[Claimed]:
        async with self._claiming:
            room = self._room(self._clock.now())
            total = self._max_in_flight - len(self._in_flight)
            if total <= 0 or not room:
                return []
            claimed, changed_posts = await self._store.run(lambda s: self._claim(s, room, total))
            for one in claimed:
                self._in_flight[one.delivery_id] = one.request.network
        if changed_posts:
            self._changed()
        return claimed

    def _room(self, now: datetime) -> dict[Network, int]:
        """Each network's free slots, networks held for their rate limit left out."""
        busy = Counter(self._in_flight.values())
        held = set(self._held_networks(now))
        networks = list(Network)
        start = self._first_network % len(networks)
        self._first_network += 1
        room: dict[Network, int] = {}
        for network in networks[start:] + networks[:start]:
            free = self._concurrency[network] - busy[network]
            if free > 0 and network.value not in held:
                room[network] = free
        return room

    def _claim(
        self,
        session: Session,
        room: Mapping[Network, int] | None = None,
        total: int | None = None,
    ) -> tuple[list[Claimed], set[int]]:
        """Claim due deliveries into ``room`` and ``total`` (the free slots, counted by the
        caller in the event loop); without them, as many as each network's concurrency (for a
        caller that sends what it claimed before it claims again, as bench/fanout's baseline)."""
        claimed, changed_posts = claim_due(
            session,
            config=self._config,
            publishers=self._publishers,
            room=self._concurrency if room is None else room,
            total=self._max_in_flight if total is None else total,
            lease=self._lease,
            now=self._clock.now(),
            lock_rows=self._store.is_postgres,
            claimed_by=self._worker_id,
        )
        for post_id in changed_posts:
            self._note(session, post_id)
        return claimed, changed_posts

    async def _seconds_to_next(self, longest: float) -> float:
        """How long until the next delivery falls due (a retry's time, a lapsed lease) on a
        network with a free slot; a slot freeing wakes the loop by itself."""
        now = self._clock.now()
        if len(self._in_flight) >= self._max_in_flight:
            return longest
        busy = Counter(self._in_flight.values())
        waiting_networks = [n.value for n in Network if busy[n] >= self._concurrency[n]]
        unavailable = self._held_networks(now) + waiting_networks

        def soonest(session: Session) -> datetime | None:
            waiting = select(func.min(Delivery.next_attempt_at)).where(
                col(Delivery.state).in_([DeliveryState.QUEUED, DeliveryState.RETRYING]),
                col(Delivery.channel).not_in(unavailable),
            )
            leased = select(func.min(Delivery.claimed_until)).where(
                col(Delivery.state) == DeliveryState.SENDING
            )
            times = [session.exec(waiting).one(), session.exec(leased).one()]
            return min((t for t in times if t is not None), default=None)

        due = await self._store.read(soonest)
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

    # --- sending -----------------------------------------------------------------------------

    async def _deliver(self, claimed: Claimed) -> None:
        network = claimed.request.network
        try:
            held = self._held_until.get(network)
            if held is not None and held > self._clock.now():
                # Another post just met the network's rate limit: this one waits with it.
                label = self._publishers[network].label
                await self._settle(
                    claimed, lambda s: put_back(s, claimed=claimed, until=held, label=label)
                )
            else:
                await self._settle(claimed, await self._send(claimed))
        finally:
            self._in_flight.pop(claimed.delivery_id, None)
            self._wake.set()  # a slot is free: the loop may claim the next delivery at once

    async def _send(self, claimed: Claimed) -> Callable[[Session], None]:
        """Publish; returns how to record the network's answer."""
        network = claimed.request.network
        try:
            published = await self._publish_keeping_lease(claimed)
        except PublishError as refused:
            self._hold_if_rate_limited(network, refused)
            return self._failure(claimed, refused)
        except Exception as exc:  # a bug or an unexpected answer: retry, but say so
            log.exception("publisher %s raised", network.value)
            unexpected = PublishError(f"unexpected error: {type(exc).__name__}", transient=True)
            return self._failure(claimed, unexpected)
        answered_at = self._clock.now()  # when it went public, not when it was noted
        return lambda s: record_sent(s, claimed=claimed, published=published, at=answered_at)

    def _failure(self, claimed: Claimed, error: PublishError) -> Callable[[Session], None]:
        publisher = self._publishers.get(claimed.request.network)
        idempotent = publisher is not None and publisher.idempotent
        now, most = self._clock.now(), self._max_attempts
        return lambda s: record_failure(
            s, claimed=claimed, error=error, idempotent=idempotent, max_attempts=most, now=now
        )

    async def _settle(self, claimed: Claimed, outcome: Callable[[Session], None]) -> None:
        """Record ``outcome``, telling ``on_post_changed`` in the same transaction."""

        def settle(session: Session) -> None:
            outcome(session)
            self._note(session, claimed.post_id)
            if self._on_answer_changed is not None and claimed.answer_id is not None:
                self._on_answer_changed(session, claimed.answer_id)

        await self._store.run(settle)
        self._changed()

    async def _publish_keeping_lease(self, claimed: Claimed) -> Published:
        """Publish, renewing the lease while the network takes its time: one publish may be
        several requests, each up to the HTTP time-out, and media polls between them."""
        publishing = asyncio.ensure_future(
            self._publishers[claimed.request.network].publish(claimed.request)
        )
        lease_until = claimed.lease_until
        try:
            while True:
                done, _ = await asyncio.wait({publishing}, timeout=self._renew_every)
                if done:
                    return publishing.result()
                lease_until = await self._renew(claimed, lease_until)
        finally:
            publishing.cancel()  # a no-op once done; abandons the send when we are cancelled

    async def _renew(self, claimed: Claimed, lease_until: datetime) -> datetime:
        until = self._clock.now() + self._lease
        try:
            kept = await self._store.run(
                lambda s: renew_lease(s, claimed=claimed, held_until=lease_until, until=until)
            )
        except Exception:  # the send goes on; the next renewal tries again
            log.exception("could not renew the lease of delivery %s", claimed.delivery_id)
            return lease_until
        if not kept:
            log.warning(
                "delivery %s to %s outlived its lease and was taken over; its outcome is still "
                "recorded when the network answers",
                claimed.delivery_id,
                claimed.request.network.value,
            )
            return lease_until
        return until

    def _hold_if_rate_limited(self, network: Network, error: PublishError) -> None:
        if error.rate_limited and error.retry_at is not None:
            until = max(error.retry_at, self._held_until.get(network, error.retry_at))
            self._held_until[network] = until

    def _note(self, session: Session, post_id: int | None) -> None:
        """In the transaction that changed ``post_id``'s deliveries: tell ``on_post_changed``."""
        if self._on_post_changed is not None and post_id is not None:
            self._on_post_changed(session, post_id)

    def _changed(self) -> None:
        if self._after_change is not None:
            self._after_change()
