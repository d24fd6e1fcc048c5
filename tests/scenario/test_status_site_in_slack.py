"""An approval in Slack puts the approved words on Crier's own status site — its pages, both
feeds and the Statuspage-shaped JSON — once, as soon as the site's delivery is sent; a draft
that waits for approval is on none of them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from markupsafe import escape
from multidict import CIMultiDict
from sqlmodel import select

from bot.storage.models import Delivery, DeliveryState
from tests.scenario.harness import SlackHarness
from tests.scenario.test_revise_and_resolve import approve, declare

ATOM = "{http://www.w3.org/2005/Atom}"
SUMMARY = "students cannot log in"


async def fetch(
    slack: SlackHarness, path: str, **headers: str
) -> tuple[int, str, CIMultiDict[str]]:
    """GET a file of the status site from the same ``crier serve`` that Slack talks to."""
    url = slack.url.removesuffix("/slack/events") + "/status/" + path
    async with slack.http.get(url, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.copy()


async def test_an_approval_in_slack_updates_the_site_feeds_and_json_once(
    timed_slack: SlackHarness,
) -> None:
    # The clock stands still: the site's periodic look at the database never comes, so the
    # post can show only because the sent delivery told the site at once.
    slack = timed_slack
    status, home, headers = await fetch(slack, "")
    assert status == 200 and "All services are operating normally" in home
    first_etag = headers["ETag"]

    draft = await declare(slack, f"Blackboard: {SUMMARY}")
    # Drafted, not approved: nothing of it is public.
    _, home, _ = await fetch(slack, "")
    assert SUMMARY not in home
    _, summary, _ = await fetch(slack, "api/v2/summary.json")
    assert json.loads(summary)["incidents"] == []

    await approve(slack, draft, messages_after=3)  # the "Post 1 is out" reply
    with slack.crier.core.store.transaction() as session:
        [delivery] = session.exec(select(Delivery).where(Delivery.channel == "site")).all()
        assert delivery.state == DeliveryState.SENT and delivery.text is not None
        published = delivery.text
        link = delivery.url
    assert link is not None and link.endswith(f"/status/incidents/{delivery.incident_id}/")
    # The thread links the post where it went, as for every channel.
    calls = slack.workspace.calls_to("chat.postMessage") + slack.workspace.calls_to("chat.update")
    assert any(link in str(call.args) for call in calls), [str(c.args)[:3000] for c in calls[-2:]]

    status, home, headers = await fetch(slack, "")
    assert status == 200 and headers["ETag"] != first_etag
    assert SUMMARY in home and "Blackboard" in home
    _, page, _ = await fetch(slack, f"incidents/{delivery.incident_id}/")
    first_line = published.splitlines()[0]
    assert page.count(str(escape(first_line))) == 1  # the approved text, once, escaped
    _, service_page, _ = await fetch(slack, "services/blackboard/")
    assert SUMMARY in service_page

    for feed_path in ("feed.atom", "services/blackboard/feed.atom"):
        status, feed, headers = await fetch(slack, feed_path)
        assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
        entries = ET.fromstring(feed).findall(f"{ATOM}entry")
        assert len(entries) == 1
        content = entries[0].find(f"{ATOM}content")
        assert content is not None and first_line in (content.text or "")

    _, summary, _ = await fetch(slack, "api/v2/summary.json")
    [incident] = json.loads(summary)["incidents"]
    assert SUMMARY in incident["name"]
    assert [u["body"] for u in incident["incident_updates"]] == [published]
    _, incidents, _ = await fetch(slack, "api/v2/incidents.json")
    assert [i["id"] for i in json.loads(incidents)["incidents"]] == [incident["id"]]

    # Asked again with its ETag, the home page is not sent again: a crowd costs 304s.
    _, _, headers = await fetch(slack, "")
    status, body, _ = await fetch(slack, "", **{"If-None-Match": headers["ETag"]})
    assert status == 304 and body == ""
