"""Telling subscribers of a post on the status site: durable work, once per subscriber and post.

When the publishing loop records a post's ``site`` delivery as sent, the same transaction queues
one ``notify_post`` row (keyed by the post, so a second outcome recorded for it adds nothing).
That row fans out: it writes one ``notify`` row per subscriber who follows the post's service
(keyed ``notify:<post>:<subscriber>``, a chunk at a time, each chunk resumable), and every
``notify`` row sends one email, webhook call or staff-channel message (through
``bot.subscriptions.senders``). The rows are the job table's, run by their own ``Scheduler``
(``Core.notify``) so that a crowd of subscribers never delays a reminder; emails are paced to
the relay's rate (``CRIER_SMTP_PER_SECOND``) by a ``Pacer`` kept in the database, shared by every
process.

A kill between the relay's "250 OK" and the row's commit sends that email again after the
restart, with the same ``Message-ID`` (``<post-P.sub-S@host>``), which mail systems recognise as
one message: at most the emails in flight at the kill, and never another address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.incidents import labels
from bot.ports import Clock
from bot.publishing.http import HttpClient
from bot.publishing.pacing import Pacer
from bot.scheduling.jobs import Again, JobHandler, JobRun, enqueue
from bot.site import SITE_CHANNEL
from bot.site.public import catalog_slugs
from bot.storage.models import (
    Delivery,
    DeliveryState,
    Incident,
    Job,
    Post,
    Subscriber,
    SubscriberKind,
)
from bot.storage.store import Store
from bot.subscriptions.links import Consent, Links
from bot.subscriptions.mail import PostNotice, Sender
from bot.subscriptions.senders import Followers, Later, Refused, SubscriberSenders
from bot.subscriptions.transport import MailTransport

log = logging.getLogger(__name__)

NOTIFY_POST = "notify_post"  # one per post: fans out to its subscribers
NOTIFY = "notify"  # one per subscriber and post
CONFIRM_MAIL = "confirm_mail"  # one per subscribe form sent
CHUNK = 500  # subscribers written per fan-out step
KEEP_DONE_ROWS = timedelta(days=30)
MOST_TRIES = 8  # a transient failure is tried again, later each time, this many times


def post_changed(session: Session, post_id: int, *, now: datetime) -> bool:
    """In the transaction that recorded an outcome of ``post_id``'s deliveries: if its site
    delivery is sent, queue telling the subscribers (once per post)."""
    sent = session.exec(
        select(Delivery.id).where(
            Delivery.post_id == post_id,
            Delivery.channel == SITE_CHANNEL,
            Delivery.state == DeliveryState.SENT,
        )
    ).first()
    if sent is None:
        return False
    key = f"{NOTIFY_POST}:{post_id}"
    return enqueue(session, kind=NOTIFY_POST, key=key, now=now, payload={"post_id": post_id})


def confirmation_later(session: Session, consent: Consent, *, now: datetime) -> None:
    """Queue the confirmation email of a subscribe form (its row is emptied once it is sent:
    an address not yet confirmed is kept no longer than it takes to ask)."""
    payload = {"address": consent.address, "services": list(consent.services)}
    enqueue(session, kind=CONFIRM_MAIL, now=now, payload=payload)


@dataclass(frozen=True)
class _Told:
    subscriber: Subscriber
    notice: PostNotice


class Notifier:
    """The handlers of the notify kinds, for a ``Scheduler``."""

    def __init__(
        self,
        *,
        store: Store,
        config: CrierConfig,
        clock: Clock,
        links: Links | None,
        sender: Sender,
        transport: MailTransport,
        pacer: Pacer,
        http: HttpClient,
        followers: Followers | None = None,
        finish: Callable[[Session, JobRun], None],
    ) -> None:
        self._store, self._config, self._clock, self._sender = store, config, clock, sender
        self._senders = SubscriberSenders(
            clock=clock,
            links=links,
            sender=sender,
            transport=transport,
            pacer=pacer,
            http=http,
            followers=followers,
        )
        self._finish = finish  # marks a job done in the caller's transaction

    def handlers(self) -> dict[str, JobHandler]:
        return {
            NOTIFY_POST: self._fan_out,
            NOTIFY: self._notify,
            CONFIRM_MAIL: self._send_confirmation,
        }

    # --- fan-out ---------------------------------------------------------------------------

    async def _fan_out(self, run: JobRun) -> Again | str:
        post_id, after = int(run.payload["post_id"]), int(run.payload.get("after", 0))
        if after == 0:
            await self._store.run(self._forget_old_rows)
        last = await self._store.run(lambda s: self._queue_chunk(s, post_id, after))
        if last is None:
            return f"told subscribers of post {post_id}"
        return Again(at=self._clock.now(), payload={"after": last})

    def _queue_chunk(self, session: Session, post_id: int, after: int) -> int | None:
        """Queue the next ``CHUNK`` subscribers after ``after``; the last id looked at, or None
        when none are left. Written again after a kill, a row already there is kept."""
        slug = self._service_slug(session, post_id)
        rows = session.exec(
            select(Subscriber.id, Subscriber.services)
            .where(col(Subscriber.id) > after)
            .order_by(col(Subscriber.id))
            .limit(CHUNK)
        ).all()
        if not rows:
            return None
        now = self._clock.now()
        values = [
            {
                "kind": NOTIFY,
                "key": f"{NOTIFY}:{post_id}:{sub_id}",
                "due_at": now,
                "payload": {"post_id": post_id, "subscriber_id": sub_id},
            }
            for sub_id, services in rows
            if not services or (slug is not None and slug in services)
        ]
        if values:
            dialect = postgresql if self._store.is_postgres else sqlite
            insert = dialect.insert(Job).values(values).on_conflict_do_nothing()
            session.execute(insert)
        last = rows[-1][0]
        assert last is not None
        return last

    def _forget_old_rows(self, session: Session) -> None:
        """Each post leaves a row per subscriber: those done long ago go, so the job table does
        not grow by the subscriber count with every post. (A post's own ``notify_post`` row is
        kept: it is what stops a later outcome of the post from telling everyone again.)"""
        session.execute(
            delete(Job).where(
                col(Job.kind) == NOTIFY,
                col(Job.done_at) < self._clock.now() - KEEP_DONE_ROWS,
            )
        )

    def _service_slug(self, session: Session, post_id: int) -> str | None:
        incident = session.exec(
            select(Incident)
            .join(Post, col(Post.incident_id) == col(Incident.id))
            .where(Post.id == post_id)
        ).one()
        service = self._config.find_service(incident.service)
        return catalog_slugs(self._config).get(service.name) if service else None

    # --- one subscriber --------------------------------------------------------------------

    async def _notify(self, run: JobRun) -> Again | str:
        post_id, subscriber_id = int(run.payload["post_id"]), int(run.payload["subscriber_id"])
        told = await self._store.read(lambda s: self._what(s, post_id, subscriber_id))
        if told is None:
            return "unsubscribed before it was sent"
        subscriber, notice = told.subscriber, told.notice
        try:
            match subscriber.kind:
                case SubscriberKind.EMAIL:
                    await self._senders.email(subscriber, notice)
                case SubscriberKind.WEBHOOK:
                    await self._senders.webhook(subscriber, notice)
                case SubscriberKind.CHAT:
                    await self._senders.chat(subscriber, notice)
                case other:
                    return f"skipped: unknown kind {other}"
        except Later as later:
            return self._again(run, later)
        except Refused as refused:
            log.warning("subscriber %s refused post %s: %s", subscriber_id, post_id, refused)
            return f"refused: {refused}"
        return "sent"

    def _again(self, run: JobRun, later: Later) -> Again | str:
        tries = int(run.payload.get("tries", 0)) + 1
        if later.rate_limited:  # waiting for the relay's pace is not a failure
            return Again(at=later.at)
        if tries >= MOST_TRIES:
            log.warning("gave up on job %s after %d tries: %s", run.id, tries, later.reason)
            return f"failed: {later.reason}"
        at = max(later.at, self._clock.now() + timedelta(seconds=30 * 2**tries))
        log.info("job %s: %s; trying again at %s", run.id, later.reason, at)
        return Again(at=at, payload={"tries": tries})

    def _what(self, session: Session, post_id: int, subscriber_id: int) -> _Told | None:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            return None
        row = session.exec(
            select(Delivery, Post, Incident)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .join(Incident, col(Incident.id) == col(Post.incident_id))
            .where(Delivery.post_id == post_id, Delivery.channel == SITE_CHANNEL)
        ).one()
        delivery, post, incident = row
        service = self._config.find_service(incident.service)
        name = service.name if service else incident.service
        summary = str(post.facts.get("summary") or incident.summary)
        assert delivery.sent_at is not None and incident.id is not None
        session.expunge(subscriber)
        notice = PostNotice(
            incident_id=incident.id,
            post_id=post_id,
            service=name,
            title=f"{name}: {summary}",
            status=labels.status(post.status),
            text=delivery.text or "",
            published_at=delivery.sent_at,
            zone=ZoneInfo(self._config.organisation.time_zone),
            incident_url=f"{self._sender.site_url}incidents/{incident.id}/",
        )
        return _Told(subscriber=subscriber, notice=notice)

    # --- confirmation ----------------------------------------------------------------------

    async def _send_confirmation(self, run: JobRun) -> Again | str | None:
        address = run.payload.get("address")
        if not isinstance(address, str):  # emptied: sent already
            return "sent"
        services = [str(s) for s in run.payload.get("services", [])]
        names = {slug: name for name, slug in catalog_slugs(self._config).items()}
        try:
            await self._senders.confirmation(
                to=address,
                services=services,
                names=[names.get(s, s) for s in services],
                message_id=f"<confirm-{run.id}@{self._sender.host}>",
            )
        except Later as later:
            return self._again(run, later)
        except Refused as refused:
            log.warning("the relay refused a confirmation email: %s", refused)
        await self._store.run(lambda s: self._forget_address(s, run))
        return None

    def _forget_address(self, session: Session, run: JobRun) -> None:
        job = session.get(Job, run.id)
        if job is not None:
            job.payload = {}
        self._finish(session, run)
