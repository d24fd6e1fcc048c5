"""What the status site's subscription forms do: subscribe, confirm, unsubscribe.

Each answer is a ``Reply`` (a status and plain words) that ``handlers/site_forms.py`` shows as a
page. The subscribe form answers the same whatever the address (known, unknown, or subscribed
already), so it cannot be used to learn who subscribes; it queues the confirmation email as a
row instead of sending it, so it takes the same time either way too. It is limited per client
address and per email address (a form cannot be used to flood someone's inbox), and nothing
about the person is stored until they click the signed link in that email.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.config import CrierConfig
from bot.errors import CrierError
from bot.limits import RollingLimit
from bot.ports import Clock
from bot.site.public import catalog_slugs
from bot.storage.store import Store
from bot.subscriptions import subscribers
from bot.subscriptions.links import Consent, LinkExpired, LinkInvalid, Links
from bot.subscriptions.notify import confirmation_later

CHECK_YOUR_INBOX = (
    "Check your inbox. If that address can receive email, a confirmation link is on its way; "
    "it works for 48 hours. Nothing is stored until you click it."
)


@dataclass(frozen=True)
class Reply:
    status: int  # HTTP
    title: str
    text: str
    retry_after: int | None = None  # seconds, with a 429


class SubscribeDesk:
    def __init__(
        self,
        *,
        store: Store,
        config: CrierConfig,
        clock: Clock,
        links: Links,
        wake: Callable[[], None],
        per_client: int = 5,
        per_address: int = 3,
    ) -> None:
        self._store, self._config, self._clock, self._links = store, config, clock, links
        self._wake = wake  # the notify scheduler: the confirmation email goes at once
        self._clients = RollingLimit(most=per_client, window=timedelta(minutes=10), clock=clock)
        self._addresses = RollingLimit(most=per_address, window=timedelta(hours=1), clock=clock)

    async def subscribe(self, client: str, address: str, services: list[str]) -> Reply:
        """The form sent: ask the address's owner to confirm. ``client``: who sent it (the
        request's remote address)."""
        try:
            normalised = subscribers.email_address(address)
            chosen = subscribers.chosen_services(self._config, services)
        except CrierError as problem:
            return Reply(400, "Please check the form", str(problem))
        if not self._clients.allow(client):
            return Reply(
                429,
                "Too many requests",
                "This form was sent too often from your network. Please try again in a few "
                "minutes.",
                retry_after=600,
            )
        # Over the limit for this address, nothing is sent, and the answer does not say so.
        if self._addresses.allow(hashlib.sha256(normalised.casefold().encode()).hexdigest()):
            consent = Consent(address=normalised, services=chosen)
            now = self._clock.now()
            await self._store.run(lambda s: confirmation_later(s, consent, now=now))
            self._wake()
        return Reply(202, "Check your inbox", CHECK_YOUR_INBOX)

    def consent(self, token: str) -> Consent | Reply:
        """What a confirmation link asks for, or why it cannot be used."""
        try:
            return self._links.read_confirm(token)
        except LinkExpired:
            return Reply(
                410,
                "This link has expired",
                "Confirmation links work for 48 hours. Please subscribe again.",
            )
        except LinkInvalid as problem:
            return Reply(400, "This link does not work", str(problem))

    async def confirm(self, token: str) -> Reply:
        consent = self.consent(token)
        if isinstance(consent, Reply):
            return consent
        now = self._clock.now()
        await self._store.run(lambda s: subscribers.confirm(s, consent, now=now))
        which = "every service" if not consent.services else ", ".join(self._names(consent))
        return Reply(
            200,
            "You are subscribed",
            f"{consent.address} will be told of every update about {which}. Each email has a "
            "link to unsubscribe.",
        )

    async def unsubscribe(self, token: str) -> Reply:
        if (problem := self.unsubscribe_link_works(token)) is not None:
            return problem
        ask = self._links.read_unsubscribe(token)
        await self._store.run(lambda s: subscribers.unsubscribe(s, ask))
        # The same answer when it was done already: a second click, or a mail client's.
        return Reply(
            200,
            "You are unsubscribed",
            "Your address has been deleted; you will get no more emails from this status page.",
        )

    def unsubscribe_link_works(self, token: str) -> Reply | None:
        """Why an unsubscribe link cannot be used, or None if it can (the page asking to
        confirm checks first, so nobody presses a button that cannot work)."""
        try:
            self._links.read_unsubscribe(token)
        except LinkExpired:
            return Reply(
                410,
                "This link has expired",
                "Unsubscribe links work for 90 days. The link in a recent email from us works.",
            )
        except LinkInvalid as problem:
            return Reply(400, "This link does not work", str(problem))
        return None

    def _names(self, consent: Consent) -> list[str]:
        names = {slug: name for name, slug in catalog_slugs(self._config).items()}
        return [names.get(s, s) for s in consent.services]
