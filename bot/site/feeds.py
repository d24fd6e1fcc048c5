"""Atom feeds (RFC 4287) of the site's public updates: one entry per published post.

The site's feed (``feed.atom``) carries every service; each service has its own
(``services/<slug>/feed.atom``). Ids are stable: the feed's is its own URL, an entry's a
``urn:uuid`` made from the site's URL and the update's id, so a reader never sees one twice.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from bot.incidents import labels
from bot.site.public import PublicIncident, PublicUpdate

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


def entry_id(site_url: str, update: PublicUpdate) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{site_url}#update-{update.id}").urn


def build_feed(head: FeedHead, incidents: Iterable[PublicIncident], *, site_url: str) -> bytes:
    """The Atom document of ``incidents``' updates, newest first."""
    updates = sorted(
        ((update, incident) for incident in incidents for update in incident.updates),
        key=lambda pair: (pair[0].published_at, pair[0].id),
        reverse=True,
    )[:MAX_ENTRIES]
    # Plain tag names under a default namespace: Atom readers expect no prefixes.
    feed = ET.Element("feed", xmlns=ATOM)
    _text(feed, "id", head.self_url)
    _text(feed, "title", head.title)
    _text(feed, "updated", atom_time(updates[0][0].published_at if updates else head.updated))
    author = ET.SubElement(feed, "author")
    _text(author, "name", head.author)
    _link(feed, "self", head.self_url, "application/atom+xml")
    _link(feed, "alternate", head.page_url, "text/html")
    _text(feed, "generator", "Crier")
    for update, incident in updates:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", entry_id(site_url, update))
        _text(entry, "title", f"{incident.title} · {labels.status(update.status)}")
        _text(entry, "updated", atom_time(update.published_at))
        _text(entry, "published", atom_time(update.published_at))
        _link(entry, "alternate", f"{site_url}incidents/{incident.id}/", "text/html")
        category = ET.SubElement(entry, "category")
        category.set("term", incident.service_slug)
        category.set("label", incident.service)
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
