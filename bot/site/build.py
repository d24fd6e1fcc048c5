"""Every file of the status site, built at once from the database, each with its ETag.

``crier serve`` builds the site when ``site_marker`` changes and answers every request from the
result; ``crier site export`` writes it out (a key ``incidents/12`` as
``incidents/12/index.html``, ``""`` as ``index.html``, the others as they are).

    build = build_site(session, config=config, now=now, site_url="https://it.example.edu/status/")
    build.files[""].body          # the home page
    build.files["feed.atom"].etag  # '"3f2a…"'
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.site import SITE_CHANNEL
from bot.site.feeds import FeedHead, build_feed, incident_entries, maintenance_entries
from bot.site.maintenance import maintenance_marker
from bot.site.public import read_public_site
from bot.site.render import (
    PageContext,
    render_home,
    render_incident,
    render_maintenance,
    render_service,
    render_stylesheet,
)
from bot.site.statuspage_json import StatuspageShapes
from bot.storage.models import Delivery, DeliveryState, Incident

HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"
ATOM = "application/atom+xml"
JSON = "application/json"


@dataclass(frozen=True)
class SiteFile:
    body: bytes
    content_type: str  # "text/html; charset=utf-8", "application/atom+xml", …
    etag: str  # strong and quoted: '"<first 32 hex digits of the body's SHA-256>"'

    @classmethod
    def of(cls, body: bytes | str, content_type: str) -> SiteFile:
        data = body.encode() if isinstance(body, str) else body
        return cls(data, content_type, f'"{hashlib.sha256(data).hexdigest()[:32]}"')


@dataclass(frozen=True)
class SiteBuild:
    # Keyed by path below the site's root: "" (home), "site.css", "feed.atom",
    # "services/<slug>/feed.atom", "incidents/<id>", "services/<slug>", "api/v2/summary.json",
    # "api/v2/incidents.json".
    files: Mapping[str, SiteFile]
    modified: datetime  # UTC: the latest public change, or the build time if there was none


def build_site(
    session: Session,
    *,
    config: CrierConfig,
    now: datetime,
    site_url: str,
    logo_url: str | None = None,
    subscribe: bool = False,
) -> SiteBuild:
    """Every file of the site as the database has it now.

    ``site_url`` is the site root's absolute URL, ending in "/", for the feeds and the JSON;
    pages link to each other relatively. ``now`` decides only which incidents are within the
    last 90 days (and ``modified`` when nothing was ever published): the same data and ``now``
    give the same bytes."""
    if not site_url.endswith("/"):
        raise ValueError(f"site_url must end with '/': {site_url!r}")
    site = read_public_site(session, config=config)
    modified = site.changed_at or now
    organisation = config.organisation
    page = PageContext(organisation=organisation, logo_url=logo_url, subscribe=subscribe)
    slugs = {service.name: service.slug for service in site.services}
    files: dict[str, SiteFile] = {
        "": SiteFile.of(render_home(page, site, now=now), HTML),
        "site.css": SiteFile.of(render_stylesheet(organisation), CSS),
        "feed.atom": SiteFile.of(
            build_feed(
                FeedHead(
                    title=f"{organisation.name}: service status",
                    self_url=f"{site_url}feed.atom",
                    page_url=site_url,
                    author=organisation.name,
                    updated=modified,
                ),
                incident_entries(site.incidents, site_url=site_url)
                + maintenance_entries(site.maintenances, site_url=site_url, slugs=slugs),
            ),
            ATOM,
        ),
    }
    for incident in site.incidents:
        files[f"incidents/{incident.id}"] = SiteFile.of(render_incident(page, incident), HTML)
    for maintenance in site.maintenances:
        files[f"maintenance/{maintenance.id}"] = SiteFile.of(
            render_maintenance(page, maintenance), HTML
        )
    for service in site.services:
        history = site.incidents_of(service.slug)
        files[f"services/{service.slug}"] = SiteFile.of(
            render_service(page, service, history), HTML
        )
        service_url = f"{site_url}services/{service.slug}/"
        head = FeedHead(
            title=f"{organisation.name}: {service.name}",
            self_url=f"{service_url}feed.atom",
            page_url=service_url,
            author=organisation.name,
            updated=modified,
        )
        planned = [m for m in site.maintenances if service.name in m.services]
        entries = incident_entries(history, site_url=site_url) + maintenance_entries(
            planned, site_url=site_url, slugs=slugs
        )
        files[f"services/{service.slug}/feed.atom"] = SiteFile.of(build_feed(head, entries), ATOM)
    shapes = StatuspageShapes(site, organisation=organisation, site_url=site_url, modified=modified)
    files["api/v2/summary.json"] = SiteFile.of(shapes.summary(), JSON)
    files["api/v2/incidents.json"] = SiteFile.of(shapes.incidents(), JSON)
    return SiteBuild(files=files, modified=modified)


def site_marker(session: Session) -> tuple[object, ...]:
    """A value that changes whenever ``build_site``'s output would, because of the database:
    a site delivery sent, or a change to an incident that is on the site (its severity).
    Two aggregate queries; compare it with the last one to know when to build again."""
    sent_to_site = (Delivery.channel == SITE_CHANNEL, Delivery.state == DeliveryState.SENT)
    deliveries = session.exec(
        select(func.count(col(Delivery.id)), func.max(col(Delivery.id))).where(*sent_to_site)
    ).one()
    public_ids = select(col(Delivery.incident_id)).where(*sent_to_site)
    incidents = session.exec(
        select(func.count(col(Incident.id)), func.max(col(Incident.updated_at))).where(
            col(Incident.id).in_(public_ids)
        )
    ).one()
    return (*deliveries, *incidents, *maintenance_marker(session))
