"""The status site's subscriptions, put together for one process (``Core.subscriptions``).

    subscriptions = build_subscriptions(**basics, settings=settings, http=http, ...)
    subscriptions.post_changed(session, post_id)  # in the publishing loop's transaction
    await subscriptions.scheduler.run_forever(stop)

Without ``CRIER_SMTP_URL`` emails go to the outbox (``crier outbox``, the sandbox's mailbox):
never silently nowhere. Without ``CRIER_SITE_SECRET`` nothing can be signed, so the site offers
no email form and webhook subscribers cannot be told; staff channels still can.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import Session

from bot.config import CrierConfig
from bot.ports import Clock
from bot.publishing.http import HttpClient
from bot.publishing.pacing import Pacer, key_fingerprint
from bot.scheduling.scheduler import Scheduler
from bot.settings import Settings
from bot.site import site_url
from bot.storage.store import Store
from bot.subscriptions.desk import SubscribeDesk
from bot.subscriptions.links import Links
from bot.subscriptions.mail import Sender
from bot.subscriptions.notify import Notifier, post_changed
from bot.subscriptions.senders import Followers
from bot.subscriptions.transport import MailTransport, OutboxTransport, SmtpTransport

log = logging.getLogger(__name__)


@dataclass
class Subscriptions:
    links: Links | None  # None: no CRIER_SITE_SECRET, so no email form
    sender: Sender
    transport: MailTransport
    scheduler: Scheduler  # runs the notify kinds (bot.subscriptions.notify)
    relay: str  # "the outbox", or the relay's host:port (never its password)
    desk: SubscribeDesk | None  # the site's email form; None without CRIER_SITE_SECRET

    def post_changed(self, session: Session, post_id: int) -> None:
        if post_changed(session, post_id, now=self.scheduler.clock.now()):
            self.scheduler.wake()  # once committed: a wake now finds it, or the next poll does

    async def close(self) -> None:
        await self.transport.close()


def sender_of(config: CrierConfig, settings: Settings) -> Sender:
    url = site_url(settings.public_url, config.site.path)
    host = urlsplit(settings.public_url).hostname or "localhost"
    organisation = config.organisation
    return Sender(
        organisation=organisation.name,
        address=organisation.email_from or f"status@{host}",
        reply_to=organisation.reply_to,
        site_url=url,
        host=host,
    )


def build_subscriptions(
    *,
    store: Store,
    config: CrierConfig,
    clock: Clock,
    settings: Settings,
    http: HttpClient,
    followers: Followers | None,
    lease: timedelta,
) -> Subscriptions:
    sender = sender_of(config, settings)
    secret = settings.site_secret.get_secret_value() if settings.site_secret else None
    links = Links(secret, clock=clock, site_url=sender.site_url) if secret else None
    transport: MailTransport
    if settings.smtp_url is not None:
        smtp = SmtpTransport.from_url(
            settings.smtp_url.get_secret_value(), connections=settings.smtp_connections
        )
        transport, relay = smtp, f"{smtp.host}:{smtp.port}"
    else:
        transport, relay = OutboxTransport(store), "the outbox"
    pacer = relay_pacer(settings.smtp_per_second, clock=clock, store=store, relay=relay)
    scheduler = Scheduler(
        store=store, clock=clock, handlers={}, lease=lease, at_once=settings.smtp_connections
    )
    notifier = Notifier(
        store=store,
        config=config,
        clock=clock,
        links=links,
        sender=sender,
        transport=transport,
        pacer=pacer,
        http=http,
        followers=followers,
        finish=scheduler.finish_in,
    )
    for kind, handler in notifier.handlers().items():
        scheduler.add_handler(kind, handler)
    desk = None
    if links is not None:
        desk = SubscribeDesk(
            store=store, config=config, clock=clock, links=links, wake=scheduler.wake
        )
    else:
        log.warning(
            "CRIER_SITE_SECRET is not set: the status site offers no email subscriptions "
            "(it signs their links)"
        )
    return Subscriptions(
        links=links,
        sender=sender,
        transport=transport,
        scheduler=scheduler,
        relay=relay,
        desk=desk,
    )


def relay_pacer(per_second: float, *, clock: Clock, store: Store, relay: str) -> Pacer:
    """``per_second`` emails a second, counted across every process on this database."""
    limit = max(1, int(per_second))
    return Pacer(
        limit=limit,
        window=timedelta(seconds=limit / per_second),
        clock=clock,
        store=store,
        key=key_fingerprint(f"smtp:{relay}"),
        name="the mail relay",
    )
