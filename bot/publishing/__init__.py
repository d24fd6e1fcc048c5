"""Publishing: one publisher per network behind the ``Publisher`` port, and the outbox worker;
the status card image, what a post costs, and ``crier channels check`` (``checks``).

Each network's module has ``build(context) -> Publisher | None``: None when its credentials are
missing, in which case the channel publishes to the outbox (a dry run a person can read),
never silently nowhere. The status site (``site``) needs no credentials: its ``build`` never
returns None.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from pydantic import SecretStr

from bot.config import ChannelConfig, CrierConfig, Network
from bot.ports import Clock, Publisher, SystemClock
from bot.publishing.credentials import NEEDED, NetworkCredentials
from bot.publishing.http import HttpClient
from bot.publishing.outbox import OutboxPublisher
from bot.settings import Settings
from bot.storage.store import Store
from bot.views import NETWORK_LABELS

log = logging.getLogger(__name__)

# Each network's publisher is the module named as the network is: bot/publishing/x.py, …
MODULES = {network: f"{__name__}.{network.value}" for network in Network}


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

    def setting(self, secret: SecretStr | None, name: str, *, what: str) -> str | None:
        """``channels.<network>.<name>`` (``what`` says what it is) when ``secret`` is set too;
        None otherwise (the outbox), with a warning when only the secret is set."""
        if secret is None or not secret.get_secret_value():
            return None
        value = (getattr(self.channel, name) or "").strip()
        if not value:
            log.warning(
                "%s is set but channels.%s.%s (%s) is not: %s posts go to the outbox",
                NEEDED[self.network],
                self.network.value,
                name,
                what,
                NETWORK_LABELS[self.network],
            )
        return value or None


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
