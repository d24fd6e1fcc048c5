"""Sending one post to one subscriber, by its kind: an email, a signed webhook call, or a message
in a staff channel that follows the service; and the confirmation email of a subscribe form.

``bot.subscriptions.notify`` decides who is told and when; a sender only sends, and says what
went wrong as ``Later`` (try again at a time) or ``Refused`` (never). Emails are paced to the
relay's rate by the ``Pacer`` kept in the database, shared by every process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.ports import ChatPresenter, Clock, PublishError
from bot.publishing.http import HttpClient
from bot.publishing.pacing import Pacer
from bot.publishing.webhook import signature
from bot.storage.models import Subscriber
from bot.subscriptions.links import Links
from bot.subscriptions.mail import PostNotice, Sender, confirmation, notification
from bot.subscriptions.transport import MailError, MailTransport
from bot.views import SiteUpdate


class Followers(Protocol):
    """The chats, for staff channels that follow services."""

    async def tell(self, channel: str, reference: dict[str, Any], update: SiteUpdate) -> None:
        """Post ``update`` in ``channel`` ("slack:C0123", "teams:…"); a PublishError if the
        chat refuses."""


class ChatFollowers:
    """``Followers`` through the chats' presenters, by the platform a channel's address names."""

    def __init__(self, presenters: Mapping[str, ChatPresenter]) -> None:
        self._presenters = presenters

    async def tell(self, channel: str, reference: dict[str, Any], update: SiteUpdate) -> None:
        platform, _, where = channel.partition(":")
        presenter = self._presenters.get(platform)
        if presenter is None:
            raise PublishError(f"{platform or channel} is not connected to Crier", transient=False)
        await presenter.show_site_update(where, reference, update)


class Later(Exception):
    """Not now: try again at ``at`` (a rate limit's wait is not counted as a failure)."""

    def __init__(self, reason: str, *, at: datetime, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.at, self.rate_limited = reason, at, rate_limited


class Refused(Exception):
    """Never: the receiver (or Crier's own setup) refuses this one for good."""


class SubscriberSenders:
    """One sender per kind of subscriber, each raising ``Later`` or ``Refused`` when not sent."""

    def __init__(
        self,
        *,
        clock: Clock,
        links: Links | None,
        sender: Sender,
        transport: MailTransport,
        pacer: Pacer,
        http: HttpClient,
        followers: Followers | None,
    ) -> None:
        self._clock, self._links, self._sender = clock, links, sender
        self._transport, self._pacer = transport, pacer
        self._http, self._followers = http, followers

    async def email(self, subscriber: Subscriber, notice: PostNotice) -> None:
        assert subscriber.id is not None
        await self._pace()
        message = notification(
            self._sender,
            notice,
            to=subscriber.address,
            subscriber_id=subscriber.id,
            unsubscribe_url=self._signing().unsubscribe_url(subscriber.id, subscriber.address),
        )
        await self._mail(message)

    async def webhook(self, subscriber: Subscriber, notice: PostNotice) -> None:
        assert subscriber.id is not None
        body = json.dumps(
            {
                "event": "crier.site.post",
                "incident_id": notice.incident_id,
                "post_id": notice.post_id,
                "service": notice.service,
                "title": notice.title,
                "status": notice.status,
                "text": notice.text,
                "url": notice.incident_url,
                "published_at": notice.published_at.isoformat(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"post-{notice.post_id}.sub-{subscriber.id}",
            "X-Crier-Timestamp": timestamp,
            "X-Crier-Signature": signature(
                self._signing().webhook_key(subscriber.id), timestamp, body
            ),
        }
        try:
            answer = await self._http.send(
                "POST",
                subscriber.address,
                network="a webhook subscriber",
                data=body,
                headers=headers,
                allow_redirects=False,
            )
        except PublishError as error:
            raise Later(str(error), at=self._clock.now()) from None
        if answer.ok:
            return
        if answer.status == 429 or answer.status >= 500:
            raise Later(f"the receiver answered {answer.status}", at=self._clock.now())
        raise Refused(f"the receiver answered {answer.status}")

    async def chat(self, subscriber: Subscriber, notice: PostNotice) -> None:
        if self._followers is None:
            raise Refused("no chat is connected to tell this channel")
        update = SiteUpdate(
            incident_id=notice.incident_id,
            service=notice.service,
            title=notice.title,
            status=notice.status,
            text=notice.text,
            url=notice.incident_url,
            published_at=notice.published_at,
        )
        try:
            await self._followers.tell(subscriber.address, subscriber.reference, update)
        except PublishError as error:
            if not error.transient:
                raise Refused(str(error)) from None
            raise Later(str(error), at=error.retry_at or self._clock.now()) from None

    async def confirmation(
        self, *, to: str, services: list[str], names: list[str], message_id: str
    ) -> None:
        """The email asking ``to`` to confirm a subscription to ``services`` (slugs; ``names``
        are what the email shows)."""
        message = confirmation(
            self._sender,
            to=to,
            confirm_url=self._signing().confirm_url(to, services),
            services=names,
            message_id=message_id,
        )
        await self._pace()
        await self._mail(message)

    async def _pace(self) -> None:
        try:
            await self._pacer.wait()
        except PublishError as paced:
            # The relay's pace has no slot soon enough: the row waits in the table until then.
            raise Later(
                "paced", at=paced.retry_at or self._clock.now(), rate_limited=True
            ) from None

    def _signing(self) -> Links:
        if self._links is None:
            raise Refused("CRIER_SITE_SECRET is not set, so Crier cannot sign its links")
        return self._links

    async def _mail(self, message: Any) -> None:
        try:
            await self._transport.send(message)
        except MailError as error:
            if not error.transient:
                raise Refused(str(error)) from None
            later = self._clock.now() + timedelta(seconds=error.retry_after or 0)
            raise Later(str(error), at=later) from None
