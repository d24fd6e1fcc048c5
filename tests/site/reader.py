"""The status site read as the public reads it, from a running ``crier serve``: what a test of
a chat (Slack or Teams) checks once a post is approved, or while it waits."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import aiohttp
from markupsafe import escape
from multidict import CIMultiDict
from sqlmodel import select

from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class SiteReader:
    http: aiohttp.ClientSession
    root: str  # the site's address, ending in "/": http://127.0.0.1:…/status/

    async def get(self, path: str, **headers: str) -> tuple[int, str, CIMultiDict[str]]:
        async with self.http.get(self.root + path, headers=headers, allow_redirects=False) as r:
            return r.status, await r.text(), r.headers.copy()

    async def etag(self) -> str:
        """The home page's ETag: it changes with anything public."""
        return (await self.get(""))[2]["ETag"]

    async def shows_nothing_of(self, summary: str) -> None:
        """A waiting draft is on no page, feed or JSON file."""
        _, home, _ = await self.get("")
        assert summary not in home
        _, summary_json, _ = await self.get("api/v2/summary.json")
        assert json.loads(summary_json)["incidents"] == []
        _, feed, _ = await self.get("feed.atom")
        assert ET.fromstring(feed).findall(f"{ATOM}entry") == []

    async def shows_once(self, delivery: Delivery, *, summary: str, service_slug: str) -> None:
        """``delivery`` (sent to the site) on the home, incident and service pages, in both
        feeds and in the JSON: its text once on its incident's page, escaped as pages escape."""
        assert delivery.text is not None
        published, first_line = delivery.text, delivery.text.splitlines()[0]
        _, home, _ = await self.get("")
        assert summary in home
        _, page, _ = await self.get(f"incidents/{delivery.incident_id}/")
        assert page.count(str(escape(first_line))) == 1
        _, service_page, _ = await self.get(f"services/{service_slug}/")
        assert summary in service_page
        for feed_path in ("feed.atom", f"services/{service_slug}/feed.atom"):
            status, feed, headers = await self.get(feed_path)
            assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
            [entry] = ET.fromstring(feed).findall(f"{ATOM}entry")
            content = entry.find(f"{ATOM}content")
            assert content is not None and first_line in (content.text or "")
        _, summary_json, _ = await self.get("api/v2/summary.json")
        [incident] = json.loads(summary_json)["incidents"]
        assert summary in incident["name"]
        assert [u["body"] for u in incident["incident_updates"]] == [published]
        _, incidents_json, _ = await self.get("api/v2/incidents.json")
        assert [i["id"] for i in json.loads(incidents_json)["incidents"]] == [incident["id"]]


def the_site_delivery(store: Store) -> Delivery:
    """The one delivery to the site, sent: an approval reaches the site exactly once."""
    with store.transaction() as session:
        [delivery] = session.exec(select(Delivery).where(Delivery.channel == "site")).all()
        assert delivery.state == DeliveryState.SENT and delivery.text is not None
        assert delivery.url is not None
        assert delivery.url.endswith(f"/status/incidents/{delivery.incident_id}/")
        session.expunge(delivery)
        return delivery
