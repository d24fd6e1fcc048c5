"""Crier's own status site as a channel: publishing to it is marking its delivery sent.

The site has no API to call. The publishing loop has already written the text as published
(with its time) on the delivery when it claimed it, and writes ``sent_at`` when ``publish``
returns: a sent ``site`` delivery *is* the site's record of the post, which ``bot.site`` reads
to build the pages, feeds and JSON. So ``publish`` records nothing itself and cannot fail, and
an approval reaches the site through the outbox exactly once, like every other channel.

    >>> publisher = SitePublisher(site_url="https://crier.example.edu/status/")
    >>> await publisher.publish(request)  # incident 12
    Published(external_id='<the idempotency key>', url='https://crier.example.edu/status/incidents/12/')
"""

from __future__ import annotations

from bot.config import Network
from bot.ports import ChannelCheck, Published, PublishRequest
from bot.publishing import PublisherContext
from bot.site import site_url
from bot.views import NETWORK_LABELS


class SitePublisher:
    network = Network.SITE
    # Nothing leaves Crier: marking a delivery sent again cannot show the post twice.
    idempotent = True
    label = NETWORK_LABELS[Network.SITE]

    def __init__(self, *, site_url: str) -> None:
        self._site_url = site_url

    async def publish(self, request: PublishRequest) -> Published:
        return Published(
            external_id=request.idempotency_key,
            url=f"{self._site_url}incidents/{request.incident_id}/",
        )

    async def check(self) -> ChannelCheck:
        return ChannelCheck(self.network, "ready", f"served by crier serve at {self._site_url}")


def build(context: PublisherContext) -> SitePublisher:
    """Never None: the site needs no credentials, so it never falls back to the outbox."""
    return SitePublisher(site_url=site_url(context.settings.public_url, context.channel.path))
