"""An approval in Teams puts the approved words on Crier's own status site — its pages, both
feeds and the Statuspage-shaped JSON — once, as soon as the site's delivery is sent; a draft
that waits for approval is on none of them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import aiohttp
import pytest
from markupsafe import escape
from multidict import CIMultiDict
from sqlmodel import select

from bot.config import CrierConfig
from bot.storage.models import Delivery, DeliveryState, Incident
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import APPROVER, TeamsHarness, start_teams, texts
from tests.teams.test_declare_and_approve import declare

ATOM = "{http://www.w3.org/2005/Atom}"
SUMMARY = "students cannot log in"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed_teams(
    store: Store, config: CrierConfig, connector: FakeBotConnector, clock: FakeClock
) -> AsyncIterator[TeamsHarness]:
    """The Teams harness on a clock that stands still unless the test moves it."""
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_teams(
            store=store, config=config, connector=connector, http=http, clock=clock
        )
        try:
            yield harness
            await harness.settle()
            harness.cards_are_valid()
        finally:
            await runner.cleanup()


async def fetch(
    teams: TeamsHarness, path: str, **headers: str
) -> tuple[int, str, CIMultiDict[str]]:
    """GET a file of the status site from the same ``crier serve`` that Teams talks to."""
    url = teams.url.removesuffix("/api/messages") + "/status/" + path
    async with teams.http.get(url, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.copy()


async def test_an_approval_in_teams_updates_the_site_feeds_and_json_once(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    # The clock stands still: the site's periodic look at the database never comes, so the
    # post can show only because the sent delivery told the site at once.
    teams = timed_teams
    started = clock.now()
    status, home, headers = await fetch(teams, "")
    assert status == 200 and "All services are operating normally" in home
    first_etag = headers["ETag"]

    draft_id = await declare(teams, f"Blackboard: {SUMMARY}")
    # Drafted, not approved: nothing of it is public.
    _, home, _ = await fetch(teams, "")
    assert SUMMARY not in home
    _, summary, _ = await fetch(teams, "api/v2/summary.json")
    assert json.loads(summary)["incidents"] == []
    _, feed, _ = await fetch(teams, "feed.atom")
    assert ET.fromstring(feed).findall(f"{ATOM}entry") == []
    with teams.crier.core.store.transaction() as session:
        incident_id = session.exec(select(Incident.id)).one()
    status, _, _ = await fetch(teams, f"incidents/{incident_id}/")
    assert status == 404

    answer = await teams.click(draft_id, "Approve & publish", user=APPROVER)
    assert "Approved by" in texts(answer)
    posts_when_answered = len(connector.posts())
    [*_, outcome] = await connector.wait_for_posts(posts_when_answered + 1)
    assert "Status site" in texts(outcome.cards[0])  # "Post 1 is out on …, Status site."
    await teams.settle()
    with teams.crier.core.store.transaction() as session:
        [delivery] = session.exec(select(Delivery).where(Delivery.channel == "site")).all()
        assert delivery.state == DeliveryState.SENT and delivery.text is not None
        published = delivery.text
        link = delivery.url
    assert delivery.incident_id == incident_id
    assert link is not None and link.endswith(f"/status/incidents/{incident_id}/")

    # The draft's card, as it ends, links the post on the site: the first of its links, the
    # one everybody can open (the card shows at most five, and this incident has six channels).
    actions = connector.card(draft_id).get("actions", [])
    links = [a for a in actions if a["type"] == "Action.OpenUrl"]
    assert links and links[0]["title"] == "View on Status site" and links[0]["url"] == link

    assert clock.now() == started  # so no periodic check came due
    status, home, headers = await fetch(teams, "")
    assert status == 200 and headers["ETag"] != first_etag
    assert SUMMARY in home and "Blackboard" in home
    _, page, _ = await fetch(teams, f"incidents/{incident_id}/")
    first_line = published.splitlines()[0]
    assert page.count(str(escape(first_line))) == 1  # the approved text, once, escaped
    _, service_page, _ = await fetch(teams, "services/blackboard/")
    assert SUMMARY in service_page

    for feed_path in ("feed.atom", "services/blackboard/feed.atom"):
        status, feed, headers = await fetch(teams, feed_path)
        assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
        entries = ET.fromstring(feed).findall(f"{ATOM}entry")
        assert len(entries) == 1
        content = entries[0].find(f"{ATOM}content")
        assert content is not None and first_line in (content.text or "")

    _, summary, _ = await fetch(teams, "api/v2/summary.json")
    [incident] = json.loads(summary)["incidents"]
    assert SUMMARY in incident["name"]
    assert [u["body"] for u in incident["incident_updates"]] == [published]
