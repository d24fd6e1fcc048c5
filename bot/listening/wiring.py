"""Each network's reading side, built from the same credentials and ``channels.<network>``
settings as its publisher: a network Crier cannot post to as an account, it does not read as one
either. Bluesky reads threads and search from the AppView (``channels.bluesky.appview_url``) and
the account's notifications through the publisher's own session, so the account signs in once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.config import CrierConfig, Network
from bot.listening.heard import ListeningSource
from bot.listening.sources.bluesky import DEFAULT_APPVIEW, BlueskySource
from bot.listening.sources.facebook import DEFAULT_VERSION, FacebookSource
from bot.listening.sources.mastodon import MastodonSource
from bot.listening.sources.x import XSource
from bot.ports import Clock, Publisher
from bot.publishing.bluesky import BlueskyPublisher
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.graph import DEFAULT_BASE_URL as GRAPH_URL
from bot.publishing.http import HttpClient
from bot.publishing.x import DEFAULT_BASE_URL as X_URL
from bot.publishing.x import x_auth

log = logging.getLogger(__name__)


def build_sources(
    *,
    config: CrierConfig,
    http: HttpClient,
    credentials: NetworkCredentials,
    clock: Clock,
    publishers: Mapping[Network, Publisher] | None = None,
) -> dict[Network, ListeningSource]:
    """A reading side for each network listened to (``listening.networks``) that is enabled
    and has its credentials; none when ``listening.enabled`` is off."""
    if not config.listening.enabled:
        return {}
    sources: dict[Network, ListeningSource] = {}
    for network in config.listening.networks:
        channel = config.channels.get(network)
        if channel is None or not channel.enabled:
            continue
        source = _build(network, config, http, credentials, clock, publishers or {})
        if source is None:
            log.info("replies and mentions on %s are not read: no credentials", network.value)
            continue
        sources[network] = source
    return sources


def _build(
    network: Network,
    config: CrierConfig,
    http: HttpClient,
    credentials: NetworkCredentials,
    clock: Clock,
    publishers: Mapping[Network, Publisher],
) -> ListeningSource | None:
    channel = config.channels[network]
    if network is Network.MASTODON:
        token = credentials.mastodon_access_token
        if token is None or not channel.base_url:
            return None
        return MastodonSource(
            http=http, base_url=channel.base_url, token=token, account=channel.account, clock=clock
        )
    if network is Network.BLUESKY:
        publisher = publishers.get(Network.BLUESKY)
        if not isinstance(publisher, BlueskyPublisher):  # no account: its posts are in the outbox
            return None
        return BlueskySource(
            http=http,
            appview_url=channel.appview_url or DEFAULT_APPVIEW,
            session=publisher.session,
            account=channel.account,
            clock=clock,
        )
    if network is Network.FACEBOOK:
        token = credentials.facebook_page_token
        if token is None or not channel.account:
            return None
        return FacebookSource(
            http=http,
            page_token=token,
            base_url=channel.base_url or GRAPH_URL,
            api_version=channel.api_version or DEFAULT_VERSION,
            page_id=channel.account,
            clock=clock,
        )
    if network is Network.X:
        auth = x_auth(credentials)
        if auth is None or not channel.monthly_read_budget:
            return None
        return XSource(
            http=http,
            auth=auth,
            base_url=channel.base_url or X_URL,
            handle=channel.account,
            clock=clock,
        )
    return None
