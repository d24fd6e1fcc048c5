"""A staff channel follows services on the status site: `/outage follow Blackboard` there, and
each post the site publishes about Blackboard appears in it once, as plain text that pings
nobody; a post about another service does not, nor anything after `/outage unfollow`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.storage.models import AuditEvent
from bot.views import SiteUpdate
from handlers.slack.site_update_message import site_update_message
from tests.conftest import ANALYST, APPROVER
from tests.fakes import slack_requests as req
from tests.scenario.harness import SlackHarness, as_text, check_blocks
from tests.scenario.test_guards import mrkdwn_texts
from tests.site.reader import the_site_delivery

HELPDESK = "C0HELPDESK"  # the staff channel that follows Blackboard
JsonDict = dict[str, Any]


async def ask(slack: SlackHarness, text: str, *, channel: str = HELPDESK) -> JsonDict:
    """Type ``/outage <text>`` in ``channel``; what Crier answered, by the response URL."""
    url = slack.workspace.new_response_url()
    body = req.slash_command("/outage", text, user_id=ANALYST, channel_id=channel, response_url=url)
    status, acked = await slack.post(body)
    assert (status, acked.strip()) == (200, "")
    [answer] = await slack.workspace.wait_for_response(url)
    assert answer["response_type"] == "ephemeral"  # for the person, not the channel
    return answer


async def publish(slack: SlackHarness, text: str) -> None:
    """Declare ``text`` in the comms channel and have an approver publish it; then let the
    status site's subscribers be told (the notify jobs, run here to the end)."""
    posted = len(slack.workspace.calls_to("chat.postMessage"))
    status, _ = await slack.command(text, user=ANALYST)
    assert status == 200
    await slack.workspace.wait_for("chat.postMessage", count=posted + 2)  # root and draft
    await slack.settle()
    draft = slack.thread()[0]
    status, _ = await slack.click(draft, "draft_approve", user=APPROVER)
    assert status == 200
    await slack.workspace.wait_for("chat.postMessage", count=posted + 3)  # "Post 1 is out"
    await slack.settle()
    subscriptions = slack.crier.core.subscriptions
    assert subscriptions is not None
    await subscriptions.scheduler.drain()


async def test_a_channel_gets_the_site_posts_of_the_services_it_follows(
    timed_slack: SlackHarness,
) -> None:
    slack = timed_slack
    answer = await ask(slack, "follow Blackboard")
    assert "now follows Blackboard on the status site" in answer["text"]
    assert "follows Blackboard on the status site" in (await ask(slack, "following"))["text"]

    # An unknown service is refused, naming those there are; the channel's choice stays.
    refused = (await ask(slack, "follow Blakboard, Wi-Fi"))["text"]
    assert "There is no service “Blakboard”" in refused
    assert "Blackboard" in refused and "Wi-Fi" in refused and "Student Portal" in refused
    assert "follows Blackboard on" in (await ask(slack, "following"))["text"]

    # A Blackboard post reaches the channel once, its text as the site published it.
    await publish(slack, "Blackboard: <!channel> students cannot log in <b>&amp;</b>")
    delivery = the_site_delivery(slack.crier.core.store)
    [message] = slack.workspace.messages(HELPDESK)
    shown = [
        b["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "section" and b.get("text", {}).get("type") == "plain_text"
    ]
    assert shown == [delivery.text]  # "@channel … <b>&</b>": shown as text, in plain_text
    assert "Blackboard" in as_text(message) and "Investigating" in as_text(message)
    assert f"<{delivery.url}|On the status site>" in as_text(message)
    pinging = " ".join([str(message["text"]), *mrkdwn_texts(message)])
    assert "<!channel>" not in pinging and "<b>" not in pinging
    assert "&lt;b&gt;" in str(message["text"])  # the notification's text, escaped too

    # A post about another service does not reach it.
    await publish(slack, "Wi-Fi: eduroam drops connections")
    assert len(slack.workspace.messages(HELPDESK)) == 1

    # Unfollowed: a later Blackboard post does not reach it either.
    assert "no longer follows" in (await ask(slack, "unfollow"))["text"]
    assert "follows nothing" in (await ask(slack, "following"))["text"]
    await publish(slack, "Blackboard: grades do not load")
    assert len(slack.workspace.messages(HELPDESK)) == 1
    assert "was not following" in (await ask(slack, "unfollow"))["text"]

    # Who made the channel follow, and stop, is in the audit trail.
    with slack.crier.core.store.transaction() as session:
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).in_(["follow_site", "unfollow_site"]))
            .order_by(col(AuditEvent.id))
        ).all()
        assert [(e.action, e.actor) for e in events] == [
            ("follow_site", f"slack:{ANALYST}"),
            ("unfollow_site", f"slack:{ANALYST}"),
        ]
        assert events[0].detail["channel"] == f"slack:{HELPDESK}"


async def test_follow_all_and_asking_for_nothing(slack: SlackHarness) -> None:
    assert "/outage follow" in await slack.command_reply("help", user=ANALYST)
    assert "Which services?" in (await ask(slack, "follow"))["text"]
    assert "follows nothing" in (await ask(slack, "following"))["text"]
    assert "now follows every service" in (await ask(slack, "follow all"))["text"]
    answer = (await ask(slack, "follow Wi-Fi, blackboard"))["text"]
    assert "now follows Blackboard and Wi-Fi" in answer  # names, in the catalog's order


def test_a_site_update_never_pings_in_slack() -> None:
    """The site's text as it may be published from Teams or the CLI: Slack's markup in it is
    shown, never acted on."""
    update = SiteUpdate(
        incident_id=7,
        service="Blackboard",
        title="Blackboard: <!here> logins fail",
        status="Investigating",
        text="<!channel> <@U0APPROVER1> *all* logins fail & more",
        url="https://crier.test/status/incidents/7/",
        published_at=datetime(2026, 1, 15, 19, 45, tzinfo=UTC),
    )
    message = site_update_message(update, zone=ZoneInfo("America/New_York"))
    check_blocks(message["blocks"])
    pinging = " ".join([message["text"], *mrkdwn_texts(message)])
    assert "<!channel>" not in pinging and "<!here>" not in pinging and "<@U0" not in pinging
    assert "&lt;!here&gt;" in pinging
    plain = [b for b in message["blocks"] if b.get("text", {}).get("type") == "plain_text"]
    assert [b["text"]["text"] for b in plain] == [update.text]
