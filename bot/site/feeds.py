"""Atom feeds (RFC 4287) of the site's public updates: one entry per published post, of an
incident or of a planned maintenance (announced, reminded, started, completed …).

The site's feed (``feed.atom``) carries every service; each service has its own
(``services/<slug>/feed.atom``), with the maintenance of that service too. Ids are stable: the
feed's is its own URL, an entry's a ``urn:uuid`` made from the site's URL and the update's id,
so a reader never sees one twice.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from bot.incidents import labels
from bot.site.maintenance import PublicMaintenance
from bot.site.public import PublicIncident

ATOM = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 50  # readers poll often; the whole story stays on the incident pages
# Characters XML 1.0 cannot carry at all: an approved text holding one must not break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class FeedHead:
    """What identifies one feed."""

    title: str
    self_url: str  # where the feed itself is (absolute)
    page_url: str  # the HTML page it follows (absolute)
    author: str  # the organisation
    updated: datetime  # when nothing was published: the site's build time


def atom_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class FeedEntry:
    """One public update as a feed shows it, whatever it is about."""

    id: str  # a urn:uuid, stable
    order: int  # the update's delivery id: ties at the same second keep the order of sending
    title: str
    published_at: datetime
    page_url: str  # its page on the site (absolute)
    categories: tuple[tuple[str, str], ...]  # (slug, name) of each service it is about
    text: str


def _urn(site_url: str, fragment: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{site_url}#{fragment}").urn


def incident_entries(incidents: Iterable[PublicIncident], *, site_url: str) -> list[FeedEntry]:
    return [
        FeedEntry(
            id=_urn(site_url, f"update-{update.id}"),
            order=update.id,
            title=f"{incident.title} · {labels.status(update.status)}",
            published_at=update.published_at,
            page_url=f"{site_url}incidents/{incident.id}/",
            categories=((incident.service_slug, incident.service),),
            text=update.text,
        )
        for incident in incidents
        for update in incident.updates
    ]


def maintenance_entries(
    maintenances: Iterable[PublicMaintenance], *, site_url: str, slugs: Mapping[str, str]
) -> list[FeedEntry]:
    """``slugs``: each catalog service's slug by its name."""
    return [
        FeedEntry(
            id=_urn(site_url, f"maintenance-update-{update.id}"),
            order=update.id,
            title=f"Maintenance · {maintenance.name} · {update.label}",
            published_at=update.published_at,
            page_url=f"{site_url}maintenance/{maintenance.id}/",
            categories=tuple((slugs.get(name, ""), name) for name in maintenance.services),
            text=update.text,
        )
        for maintenance in maintenances
        for update in maintenance.updates
    ]


def build_feed(head: FeedHead, entries: Iterable[FeedEntry]) -> bytes:
    """The Atom document of ``entries``, newest first."""
    updates = sorted(entries, key=lambda e: (e.published_at, e.order), reverse=True)
    updates = updates[:MAX_ENTRIES]
    # Plain tag names under a default namespace: Atom readers expect no prefixes.
    feed = ET.Element("feed", xmlns=ATOM)
    _text(feed, "id", head.self_url)
    _text(feed, "title", head.title)
    _text(feed, "updated", atom_time(updates[0].published_at if updates else head.updated))
    author = ET.SubElement(feed, "author")
    _text(author, "name", head.author)
    _link(feed, "self", head.self_url, "application/atom+xml")
    _link(feed, "alternate", head.page_url, "text/html")
    _text(feed, "generator", "Crier")
    for update in updates:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", update.id)
        _text(entry, "title", update.title)
        _text(entry, "updated", atom_time(update.published_at))
        _text(entry, "published", atom_time(update.published_at))
        _link(entry, "alternate", update.page_url, "text/html")
        for slug, name in update.categories:
            category = ET.SubElement(entry, "category")
            category.set("term", slug)
            category.set("label", name)
        _text(entry, "content", update.text).set("type", "text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _NOT_XML.sub("", text)
    return element


def _link(parent: ET.Element, rel: str, href: str, media_type: str) -> None:
    link = ET.SubElement(parent, "link")
    link.set("rel", rel)
    link.set("type", media_type)
    link.set("href", href)
