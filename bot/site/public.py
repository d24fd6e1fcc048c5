"""The status site's read model: what the public may see, read from the database.

Only what was published to the site counts: a ``Delivery`` to ``site`` in state ``sent``. An
incident with no such delivery does not exist here; its public timeline is those deliveries'
texts, as published, with the status of the post each one published. Drafts, pending or
rejected posts, internal fields and who approved never reach this module's results.

    site = read_public_site(session, config=config)
    site.open_incidents          # publicly open, newest first
    site.recent(now)             # the last 90 days
    site.service("wi-fi").state  # ServiceState.DEGRADED
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from bot.config import CrierConfig, Service, Severity
from bot.site import SITE_CHANNEL
from bot.site.maintenance import MaintenancePhase, PublicMaintenance, read_public_maintenance
from bot.storage.models import Delivery, DeliveryState, Incident, IncidentStatus, Post

RECENT_DAYS = 90


class ServiceState(StrEnum):
    """A service's public state, from its publicly open incidents."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"  # planned maintenance (issue 19) will set it


# The severity that makes a service's state, and how bad each is when several are open.
STATE_OF_SEVERITY: dict[str, ServiceState] = {
    Severity.SEV1: ServiceState.OUTAGE,
    Severity.SEV2: ServiceState.DEGRADED,
    Severity.SEV3: ServiceState.DEGRADED,
}
SEVERITY_ORDER: tuple[str, ...] = (Severity.SEV1, Severity.SEV2, Severity.SEV3)


@dataclass(frozen=True)
class PublicUpdate:
    """One post as the site published it."""

    id: int  # the site delivery's id: stable, unique across the site
    number: int  # the post's number within its incident
    kind: str  # PostKind
    status: str  # IncidentStatus as of this post
    text: str  # exactly as published, with its time
    published_at: datetime


@dataclass(frozen=True)
class PublicIncident:
    id: int
    service: str  # the catalog's name for it
    service_slug: str
    summary: str  # as of its latest published post
    severity: str
    updates: tuple[PublicUpdate, ...]  # oldest first; never empty
    changed_at: datetime  # its latest public change: a post, or its severity

    @property
    def title(self) -> str:
        return f"{self.service}: {self.summary}"

    @property
    def status(self) -> str:
        return self.updates[-1].status

    @property
    def is_open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED

    @property
    def started_at(self) -> datetime:
        return self.updates[0].published_at

    @property
    def updated_at(self) -> datetime:
        return self.updates[-1].published_at

    @property
    def resolved_at(self) -> datetime | None:
        return None if self.is_open else self.first_at(IncidentStatus.RESOLVED)

    def first_at(self, status: str) -> datetime | None:
        """When the site first said ``status`` (None if it never did)."""
        return next((u.published_at for u in self.updates if u.status == status), None)

    @property
    def newest_first(self) -> tuple[PublicUpdate, ...]:
        return tuple(reversed(self.updates))


@dataclass(frozen=True)
class PublicService:
    name: str
    slug: str
    description: str | None  # the catalog's component name
    position: int  # 1-based, in catalog order
    state: ServiceState
    worst_severity: str | None  # of its open incidents, None when none is open


@dataclass(frozen=True)
class PublicSite:
    services: tuple[PublicService, ...]  # catalog order, then services known only from incidents
    incidents: tuple[PublicIncident, ...]  # newest first (by their first public post)
    maintenances: tuple[PublicMaintenance, ...] = ()  # the soonest to start first

    @property
    def planned(self) -> tuple[PublicMaintenance, ...]:
        """Maintenance to come or under way."""
        return tuple(m for m in self.maintenances if m.is_open)

    @property
    def open_incidents(self) -> tuple[PublicIncident, ...]:
        return tuple(i for i in self.incidents if i.is_open)

    @property
    def changed_at(self) -> datetime | None:
        """The latest public change, None if nothing was ever published."""
        changes = [i.changed_at for i in self.incidents]
        changes += [m.changed_at for m in self.maintenances]
        return max(changes, default=None)

    def recent(self, now: datetime, *, days: int = RECENT_DAYS) -> tuple[PublicIncident, ...]:
        """Incidents open now or publicly updated in the last ``days`` days, newest first."""
        since = now - timedelta(days=days)
        return tuple(i for i in self.incidents if i.is_open or i.updated_at >= since)

    def incidents_of(self, slug: str) -> tuple[PublicIncident, ...]:
        return tuple(i for i in self.incidents if i.service_slug == slug)

    def service(self, slug: str) -> PublicService:
        return next(s for s in self.services if s.slug == slug)


def slugify(name: str) -> str:
    """A name as a URL path segment: "Wi-Fi" → "wi-fi", "Student Portal" → "student-portal"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "service"


def unique_slugs(names: Iterable[str]) -> dict[str, str]:
    """Each name's slug, with "-2", "-3" … where two names would share one (in order given)."""
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = slug = slugify(name)
        counter = 1
        while slug in taken:
            counter += 1
            slug = f"{base}-{counter}"
        slugs[name] = slug
        taken.add(slug)
    return slugs


def read_public_site(session: Session, *, config: CrierConfig) -> PublicSite:
    """Everything the site shows, from the sent site deliveries (one query)."""
    rows = session.exec(
        select(Delivery, Post, Incident)
        .join(Post, col(Post.id) == col(Delivery.post_id))
        .join(Incident, col(Incident.id) == col(Post.incident_id))
        .where(Delivery.channel == SITE_CHANNEL, Delivery.state == DeliveryState.SENT)
        .order_by(col(Incident.id), col(Post.number), col(Delivery.id))
    ).all()
    updates: dict[int, list[PublicUpdate]] = defaultdict(list)
    incidents: dict[int, Incident] = {}
    summaries: dict[int, str] = {}
    # The severity as of the latest post on the site, not the incident's: an approval sets the
    # new severity a moment before its post is sent, and the site must not run ahead of it.
    severities: dict[int, str] = {}
    for delivery, post, incident in rows:
        assert delivery.id is not None and incident.id is not None
        incidents[incident.id] = incident
        summaries[incident.id] = str(post.facts.get("summary", incident.summary))
        severities[incident.id] = str(
            post.facts.get("severity") or severities.get(incident.id) or incident.severity
        )
        updates[incident.id].append(
            PublicUpdate(
                id=delivery.id,
                number=post.number,
                kind=post.kind,
                status=post.status,
                text=delivery.text or "",
                published_at=delivery.sent_at or delivery.created_at,
            )
        )

    def catalog_name(incident: Incident) -> str:
        service = config.find_service(incident.service)
        return service.name if service else incident.service

    catalog = {s.name: s for s in config.services}
    unlisted = sorted({catalog_name(i) for i in incidents.values()} - set(catalog))
    slugs = unique_slugs([*catalog, *unlisted])
    public = sorted(
        (
            _public_incident(
                incident,
                service=catalog_name(incident),
                slug=slugs[catalog_name(incident)],
                summary=summaries[incident_id],
                severity=severities[incident_id],
                updates=updates[incident_id],
            )
            for incident_id, incident in incidents.items()
        ),
        key=lambda i: (i.started_at, i.id),
        reverse=True,
    )
    maintenances = read_public_maintenance(session)
    under_way = {
        name for m in maintenances if m.phase == MaintenancePhase.IN_PROGRESS for name in m.services
    }
    services = tuple(
        _public_service(
            name, slugs[name], catalog.get(name), position, public, maintenance=name in under_way
        )
        for position, name in enumerate([*catalog, *unlisted], start=1)
    )
    return PublicSite(services=services, incidents=tuple(public), maintenances=maintenances)


def _public_incident(
    incident: Incident,
    *,
    service: str,
    slug: str,
    summary: str,
    severity: str,
    updates: list[PublicUpdate],
) -> PublicIncident:
    assert incident.id is not None
    in_order = tuple(sorted(updates, key=lambda u: (u.published_at, u.id)))
    return PublicIncident(
        id=incident.id,
        service=service,
        service_slug=slug,
        summary=summary,
        severity=severity,
        updates=in_order,
        changed_at=max(incident.updated_at, in_order[-1].published_at),
    )


def _public_service(
    name: str,
    slug: str,
    service: Service | None,
    position: int,
    incidents: Iterable[PublicIncident],
    *,
    maintenance: bool = False,
) -> PublicService:
    open_severities = {i.severity for i in incidents if i.service_slug == slug and i.is_open}
    worst = next((s for s in SEVERITY_ORDER if s in open_severities), None)
    if worst is not None:
        state = STATE_OF_SEVERITY[worst]
    elif open_severities:  # a severity this code does not know: still not operational
        state = ServiceState.DEGRADED
    elif maintenance:  # an outage during the window says outage: it is worse news
        state = ServiceState.MAINTENANCE
    else:
        state = ServiceState.OPERATIONAL
    return PublicService(
        name=name,
        slug=slug,
        description=service.component if service else None,
        position=position,
        state=state,
        worst_severity=worst,
    )


def catalog_slugs(config: CrierConfig) -> dict[str, str]:
    """Each catalog service's slug by its name, as the site's pages use them."""
    return unique_slugs(s.name for s in config.services)
