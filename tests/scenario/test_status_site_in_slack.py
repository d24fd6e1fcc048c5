"""An approval in Slack puts the approved words on Crier's own status site — its pages, both
feeds and the Statuspage-shaped JSON — once, as soon as the site's delivery is sent; a draft
that waits for approval is on none of them."""

from __future__ import annotations

from tests.scenario.harness import SlackHarness
from tests.scenario.test_revise_and_resolve import approve, declare
from tests.site.reader import SiteReader, the_site_delivery

SUMMARY = "students cannot log in"


async def test_an_approval_in_slack_updates_the_site_feeds_and_json_once(
    timed_slack: SlackHarness,
) -> None:
    # The clock stands still: the site's periodic look at the database never comes, so the
    # post can show only because the sent delivery told the site at once.
    slack = timed_slack
    site = SiteReader(slack.http, slack.url.removesuffix("/slack/events") + "/status/")
    status, home, _ = await site.get("")
    assert status == 200 and "All services are operating normally" in home
    first_etag = await site.etag()

    draft = await declare(slack, f"Blackboard: {SUMMARY}")
    await site.shows_nothing_of(SUMMARY)

    await approve(slack, draft, messages_after=3)  # the "Post 1 is out" reply
    delivery = the_site_delivery(slack.crier.core.store)
    # The thread links the post where it went, as for every channel.
    calls = slack.workspace.calls_to("chat.postMessage") + slack.workspace.calls_to("chat.update")
    assert any(str(delivery.url) in str(call.args) for call in calls)

    assert await site.etag() != first_etag
    await site.shows_once(delivery, summary=SUMMARY, service_slug="blackboard")

    # Asked again with its ETag, the home page is not sent again: a crowd costs 304s.
    status, body, _ = await site.get("", **{"If-None-Match": await site.etag()})
    assert status == 304 and body == ""
