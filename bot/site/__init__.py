"""Crier's own public status site: a channel like any other, fed only by approved posts.

An incident is on the site once one of its posts has a ``Delivery`` to ``site`` that was sent;
its public story is those deliveries' texts, in order. ``bot.site.public`` reads that story from
the database, ``bot.site.build`` turns it into every file of the site (HTML pages, the
stylesheet, Atom feeds, Statuspage-shaped JSON), each with its ETag, for ``crier serve`` to
answer and ``crier site export`` to write.
"""

from __future__ import annotations

from bot.config import Network

SITE_CHANNEL = Network.SITE.value  # the site's deliveries are found by their channel's name


def site_url(public_url: str, path: str) -> str:
    """The site's root as its feeds, JSON and chat links name it, ending in "/":
    ``CRIER_PUBLIC_URL`` and ``channels.site.path`` (where ``crier serve`` answers it)."""
    return public_url.rstrip("/") + path
