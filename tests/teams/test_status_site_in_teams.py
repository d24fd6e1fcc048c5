"""An approval in Teams puts the approved words on Crier's own status site — its pages, both
feeds and the Statuspage-shaped JSON — once, as soon as the site's delivery is sent; a draft
that waits for approval is on none of them."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import Incident
from tests.clock import FakeClock
from tests.fakes.bot_connector import FakeBotConnector
from tests.site.reader import SiteReader, the_site_delivery
from tests.teams.harness import APPROVER, TeamsHarness, texts
from tests.teams.test_declare_and_approve import declare

SUMMARY = "students cannot log in"


async def test_an_approval_in_teams_updates_the_site_feeds_and_json_once(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    # The clock stands still: the site's periodic look at the database never comes, so the
    # post can show only because the sent delivery told the site at once.
    teams = timed_teams
    started = clock.now()
    site = SiteReader(teams.http, teams.url.removesuffix("/api/messages") + "/status/")
    status, home, _ = await site.get("")
    assert status == 200 and "All services are operating normally" in home
    first_etag = await site.etag()

    draft_id = await declare(teams, f"Blackboard: {SUMMARY}")
    await site.shows_nothing_of(SUMMARY)
    with teams.crier.core.store.transaction() as session:
        incident_id = session.exec(select(Incident.id)).one()
    assert (await site.get(f"incidents/{incident_id}/"))[0] == 404

    answer = await teams.click(draft_id, "Approve & publish", user=APPROVER)
    assert "Approved by" in texts(answer)
    posts_when_answered = len(connector.posts())
    [*_, outcome] = await connector.wait_for_posts(posts_when_answered + 1)
    assert "Status site" in texts(outcome.cards[0])  # "Post 1 is out on …, Status site."
    await teams.settle()
    delivery = the_site_delivery(teams.crier.core.store)
    assert delivery.incident_id == incident_id

    # The draft's card, as it ends, links the post on the site: the first of its links, the
    # one everybody can open (the card shows at most five, and this incident has six channels).
    actions = connector.card(draft_id).get("actions", [])
    links = [a for a in actions if a["type"] == "Action.OpenUrl"]
    assert links and links[0]["title"] == "View on Status site"
    assert links[0]["url"] == delivery.url

    assert clock.now() == started  # so no periodic check came due
    assert await site.etag() != first_etag
    await site.shows_once(delivery, summary=SUMMARY, service_slug="blackboard")
