"""What Crier listens for: the published posts whose replies it collects, and the words that
make a post a mention of a service.

Replies are collected for each post published (a sent delivery) of an open incident, and of one
resolved less than ``listening.after_all_clear_hours`` ago: people answer the all-clear too.

Mentions come from the account's notifications (someone wrote to it) and from searching the
networks for ``listening.terms`` (the organisation's names and handles: "Northfield", "@NorthIT").
Service names and aliases are not searched on their own: "mail", "learn" or "portal" would bring
everyone's posts about their mail. A mention is about the service it names by name or alias
("@NorthIT is eduroam down?" is about Wi-Fi), matched as whole words, whatever the case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlmodel import Session, col, or_, select

from bot.config import CrierConfig, Network
from bot.listening.heard import Watched
from bot.storage.models import Delivery, DeliveryState, Incident


@dataclass(frozen=True)
class WatchedPost:
    """A watched post and the incident it belongs to."""

    post: Watched
    incident_id: int
    service: str


def watched_posts(
    session: Session, *, config: CrierConfig, network: Network, now: datetime
) -> list[WatchedPost]:
    """The posts of ``network`` whose replies are collected now, oldest first."""
    recently = now - timedelta(hours=config.listening.after_all_clear_hours)
    rows = session.exec(
        select(Delivery, Incident)
        .join(Incident, col(Incident.id) == col(Delivery.incident_id))
        .where(
            Delivery.channel == network.value,
            Delivery.state == DeliveryState.SENT,
            col(Delivery.external_id).is_not(None),
            or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= recently),
        )
        .order_by(col(Delivery.id))
    ).all()
    return [
        WatchedPost(
            post=Watched(
                delivery_id=delivery.id or 0,
                network=network,
                external_id=delivery.external_id or "",
                url=delivery.url,
                published_at=delivery.sent_at or delivery.created_at,
            ),
            incident_id=incident.id or 0,
            service=incident.service,
        )
        for delivery, incident in rows
    ]


@dataclass(frozen=True)
class Terms:
    """The watched words: each service's name and aliases (naming that service), and
    ``listening.terms`` (naming the organisation, no one service)."""

    by_term: dict[str, str | None]  # the term as written → the service it names, or None

    @classmethod
    def of(cls, config: CrierConfig) -> Terms:
        found: dict[str, str | None] = {}
        for service in config.services:
            for term in (service.name, *service.aliases):
                found.setdefault(term, service.name)
        for term in config.listening.terms:
            found.setdefault(term, None)
        return cls(by_term=found)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.by_term:
            return None
        # Longest first, so "Wi-Fi 6" wins over "Wi-Fi"; whole words only, so "VPN" is not
        # found in "VPNs-are-fine.example" … but is in "the VPN, again".
        alternatives = sorted(self.by_term, key=len, reverse=True)
        body = "|".join(re.escape(term) for term in alternatives)
        return re.compile(rf"(?<![\w@#])({body})(?!\w)", re.IGNORECASE)

    def searches(self) -> list[str]:
        """What to search the networks for: the organisation's own terms."""
        return [term for term, service in self.by_term.items() if service is None]

    def service_in(self, text: str) -> str | None:
        """The first service ``text`` names (by name or alias), if any."""
        if self._pattern is None:
            return None
        folded = {term.casefold(): service for term, service in self.by_term.items()}
        for match in self._pattern.finditer(text):
            if (service := folded.get(match.group(1).casefold())) is not None:
                return service
        return None

    def names_us(self, text: str) -> bool:
        """Whether ``text`` names the organisation by one of its own terms (a search result
        that does not, the network matched loosely)."""
        if self._pattern is None:
            return False
        ours = {term.casefold() for term in self.searches()}
        return any(m.group(1).casefold() in ours for m in self._pattern.finditer(text))
