"""Planned maintenance on the status site: nothing until it is announced, then scheduled, in
progress (its services under maintenance) and completed, in the pages and the JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

from bot.core import Core
from bot.site.build import SiteBuild
from tests.unit.maintenance.conftest import CHECKER, PLANNER, request, run_due


async def site(core: Core) -> SiteBuild:
    assert core.site is not None
    core.site.changed()
    return await core.site.current()


def summary(build: SiteBuild) -> dict[str, Any]:
    parsed = json.loads(build.files["api/v2/summary.json"].body)
    assert isinstance(parsed, dict)
    return parsed


def maintenances(build: SiteBuild) -> list[dict[str, Any]]:
    found = summary(build)["scheduled_maintenances"]
    assert isinstance(found, list)
    return found


def component(build: SiteBuild, name: str) -> str:
    [found] = [c for c in summary(build)["components"] if c["name"] == name]
    return str(found["status"])


async def test_a_maintenance_is_shown_from_its_announcement_to_its_completion(core: Core) -> None:
    planned = await core.maintenance.propose(PLANNER, request(remind_before=None))
    starts, ends = planned.window.starts_at, planned.window.ends_at
    assert "Planned maintenance" not in (await site(core)).files[""].body.decode()

    await core.maintenance.approve(CHECKER, planned.id)
    await run_due(core, starts - timedelta(days=3))
    build = await site(core)
    home = build.files[""].body.decode()
    assert "Planned maintenance" in home and f'href="./maintenance/{planned.id}/"' in home
    page = build.files[f"maintenance/{planned.id}"].body.decode()
    assert "Scheduled" in page and "Blackboard will be unavailable" in page
    [scheduled] = maintenances(build)
    assert scheduled["status"] == "scheduled" and scheduled["impact"] == "maintenance"
    assert component(build, "Blackboard") == "operational"

    await run_due(core, starts)
    build = await site(core)
    assert component(build, "Blackboard") == "under_maintenance"
    assert "Under maintenance" in build.files[""].body.decode()
    [under_way] = maintenances(build)
    assert under_way["status"] == "in_progress"

    await run_due(core, ends)
    await core.maintenance.complete(PLANNER, planned.id)
    await run_due(core, ends + timedelta(minutes=1))
    build = await site(core)
    assert maintenances(build) == []
    assert component(build, "Blackboard") == "operational"
    page = build.files[f"maintenance/{planned.id}"].body.decode()
    assert "Completed" in page and "Maintenance complete" in page


def feed_entries(build: SiteBuild, path: str) -> list[dict[str, Any]]:
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(build.files[path].body)
    return [
        {
            "id": entry.findtext(f"{atom}id"),
            "title": entry.findtext(f"{atom}title"),
            "link": entry.find(f"{atom}link").get("href"),  # type: ignore[union-attr]
            "terms": [c.get("term") for c in entry.findall(f"{atom}category")],
            "text": entry.findtext(f"{atom}content"),
        }
        for entry in root.findall(f"{atom}entry")
    ]


async def test_each_public_maintenance_post_is_an_entry_of_the_feeds(core: Core) -> None:
    """Readers who follow the site (or Blackboard's page) by feed hear of the planned work too:
    the announcement, its start and its completion, each once, on the maintenance's page."""
    planned = await core.maintenance.propose(PLANNER, request(remind_before=None))
    starts, ends = planned.window.starts_at, planned.window.ends_at
    await core.maintenance.approve(CHECKER, planned.id)
    assert feed_entries(await site(core), "feed.atom") == []  # nothing public yet
    await run_due(core, starts - timedelta(days=3))
    await run_due(core, starts)
    await run_due(core, ends)
    await core.maintenance.complete(PLANNER, planned.id)
    await run_due(core, ends + timedelta(minutes=1))
    build = await site(core)

    entries = feed_entries(build, "feed.atom")
    titles = [e["title"] for e in entries]  # newest first
    name = "Maintenance · Blackboard: upgrading to the new version"
    assert titles == [f"{name} · Completed", f"{name} · In progress", f"{name} · Planned"]
    assert all(e["link"].endswith(f"/status/maintenance/{planned.id}/") for e in entries)
    assert all(e["terms"] == ["blackboard"] for e in entries)
    assert "Blackboard will be unavailable" in entries[-1]["text"]
    assert len({e["id"] for e in entries}) == 3 and all(
        e["id"].startswith("urn:uuid:") for e in entries
    )
    assert feed_entries(build, "services/blackboard/feed.atom") == entries
    assert feed_entries(build, "services/vpn/feed.atom") == []  # not about the VPN
    again = await site(core)  # built again: the same ids, so a reader sees none twice
    assert [e["id"] for e in feed_entries(again, "feed.atom")] == [e["id"] for e in entries]
