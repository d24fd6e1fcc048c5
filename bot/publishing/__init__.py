"""Publishing: one publisher per network behind the ``Publisher`` port, and the outbox worker;
the status card image, what a post costs, and ``crier channels check`` (``checks``).

Each network's module has ``build(context) -> Publisher | None``: None when its credentials are
missing, in which case the channel publishes to the outbox (a dry run a person can read),
never silently nowhere.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from bot.config import ChannelConfig, CrierConfig, Network
from bot.ports import Clock, Publisher, SystemClock
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.outbox import OutboxPublisher
from bot.settings import Settings
from bot.storage.store import Store

log = logging.getLogger(__name__)

MODULES: dict[Network, str] = {
    Network.X: "bot.publishing.x",
    Network.FACEBOOK: "bot.publishing.facebook",
    Network.INSTAGRAM: "bot.publishing.instagram",
    Network.MASTODON: "bot.publishing.mastodon",
    Network.BLUESKY: "bot.publishing.bluesky",
    Network.LINKEDIN: "bot.publishing.linkedin",
    Network.STATUSPAGE: "bot.publishing.statuspage",
    Network.WEBHOOK: "bot.publishing.webhook",
}


@dataclass(frozen=True)
class PublisherContext:
    """What a network's ``build`` may use."""

    network: Network
    channel: ChannelConfig
    credentials: NetworkCredentials
    http: HttpClient
    settings: Settings
    config: CrierConfig
    store: Store
    # The core's clock: a network's reset times and windows are read on the clock the worker
    # and the scheduler wait on (a test's, or the system's).
    clock: Clock = field(default_factory=SystemClock)


def build_publishers(
    *,
    config: CrierConfig,
    settings: Settings,
    store: Store,
    http: HttpClient,
    credentials: NetworkCredentials | None = None,
    clock: Clock | None = None,
) -> dict[Network, Publisher]:
    """A publisher for every enabled channel: the real network, or the outbox."""
    credentials = credentials or NetworkCredentials()
    publishers: dict[Network, Publisher] = {}
    for network in config.enabled_channels:
        context = PublisherContext(
            network=network,
            channel=config.channels[network],
            credentials=credentials,
            http=http,
            settings=settings,
            config=config,
            store=store,
            clock=clock or SystemClock(),
        )
        module = importlib.import_module(MODULES[network])
        publisher: Publisher | None = module.build(context)
        if publisher is None:
            log.info("%s has no credentials: its posts go to the outbox (dry run)", network.value)
            publisher = OutboxPublisher(
                network=network, store=store, public_url=settings.public_url
            )
        publishers[network] = publisher
    return publishers
