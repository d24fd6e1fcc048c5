"""A Teams conversation follows services on the status site: "follow Blackboard" there, and
each post the site publishes about Blackboard appears in it once, sent unprompted to the
conversation reference kept then; a post about another service does not, nor anything after
"unfollow"."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import Subscriber
from tests.fakes.bot_connector import ConnectorCall, FakeBotConnector
from tests.site.reader import the_site_delivery
from tests.teams.harness import ANALYST, APPROVER, TeamsHarness, texts

HELPDESK = "19:helpdesk@thread.tacv2"  # the staff channel that follows Blackboard
HELPDESK_THREAD = f"{HELPDESK};messageid=1700000000009"
ELSEWHERE = f"{HELPDESK};messageid=1700000000042"  # another thread of the same channel


async def ask(teams: TeamsHarness, text: str, *, conversation: str = HELPDESK_THREAD) -> str:
    """Say ``text`` to Crier in ``conversation``; its answer there."""
    before = len(teams.connector.posts(conversation))
    assert await teams.say(text, user=ANALYST, conversation=conversation) == 202
    answers = teams.connector.posts(conversation)
    assert len(answers) == before + 1, [c.activity for c in answers[before:]]
    return str(answers[-1].activity.get("text", ""))


async def publish(teams: TeamsHarness, text: str) -> None:
    """Declare ``text`` in the incidents' conversation and have an approver publish it; then
    let the status site's subscribers be told (the notify jobs, run here to the end)."""
    connector = teams.connector
    posted = len(connector.posts())
    assert await teams.say(f"outage {text}", user=ANALYST) == 202
    await connector.wait_for_posts(posted + 2)  # the incident's card and the draft's
    await teams.settle()
    answer = await teams.click(teams.draft_ids()[-1], "Approve & publish", user=APPROVER)
    assert "Approved by" in texts(answer)
    await connector.wait_for_posts(len(connector.posts()) + 1)  # "Post 1 is out on …"
    await teams.settle()
    subscriptions = teams.crier.core.subscriptions
    assert subscriptions is not None
    await subscriptions.scheduler.drain()


def site_updates(connector: FakeBotConnector) -> list[ConnectorCall]:
    return [c for c in connector.posts(HELPDESK_THREAD) if c.cards]


def runs_and_blocks(element: object) -> tuple[list[str], list[str]]:
    """The texts a card shows as written (``TextRun``), and those it reads as markdown."""
    runs: list[str] = []
    blocks: list[str] = []
    if isinstance(element, dict):
        if element.get("type") == "TextRun":
            runs.append(str(element["text"]))
        if element.get("type") == "TextBlock":
            blocks.append(str(element["text"]))
        for value in element.values():
            more_runs, more_blocks = runs_and_blocks(value)
            runs, blocks = runs + more_runs, blocks + more_blocks
    elif isinstance(element, list):
        for value in element:
            more_runs, more_blocks = runs_and_blocks(value)
            runs, blocks = runs + more_runs, blocks + more_blocks
    return runs, blocks


async def test_a_conversation_gets_the_site_posts_of_the_services_it_follows(
    timed_teams: TeamsHarness,
) -> None:
    teams, connector = timed_teams, timed_teams.connector
    assert "follow Blackboard, Wi-Fi" in await ask(teams, "help")
    assert "now follows Blackboard on the status site" in await ask(teams, "follow Blackboard")
    # Its reference is kept, for messages Crier sends unasked; one channel, whatever thread.
    with teams.crier.core.store.transaction() as session:
        [follower] = session.exec(select(Subscriber)).all()
        assert follower.address == f"teams:{HELPDESK}"
        assert follower.reference["conversation"]["id"] == HELPDESK_THREAD
        assert follower.reference["serviceUrl"] == connector.service_url
    assert "follows Blackboard on" in await ask(teams, "following", conversation=ELSEWHERE)

    # An unknown service is refused, naming those there are; the choice stays.
    refused = await ask(teams, "follow Blakboard, Wi-Fi")
    assert "There is no service “Blakboard”" in refused
    assert "Blackboard" in refused and "Student Portal" in refused
    assert "follows Blackboard on" in await ask(teams, "following")

    # A Blackboard post reaches the conversation once, its text as the site published it.
    await publish(teams, "Blackboard: &lt;!channel&gt; students cannot log in **now**")
    delivery = the_site_delivery(teams.crier.core.store)
    assert delivery.text is not None and "<!channel>" in delivery.text
    [update] = site_updates(connector)
    [card] = update.cards
    runs, blocks = runs_and_blocks(card)
    assert delivery.text in runs  # shown as written: no markdown, no mention
    assert not any("<!channel>" in block or "**now**" in block for block in blocks)
    assert {"type": "Action.OpenUrl", "title": "On the status site", "url": delivery.url} in (
        card["actions"]
    )
    assert "Investigating" in texts(card) and "Blackboard" in texts(card)

    # A post about another service does not reach it.
    await publish(teams, "Wi-Fi: eduroam drops connections")
    assert len(site_updates(connector)) == 1

    # Unfollowed (from another thread of the channel): a later Blackboard post stays away.
    assert "no longer follows" in await ask(teams, "unfollow", conversation=ELSEWHERE)
    assert "follows nothing" in await ask(teams, "following")
    await publish(teams, "Blackboard: grades do not load")
    assert len(site_updates(connector)) == 1
    nothing = await ask(teams, "following")
    assert "follow Blackboard, Wi-Fi" in nothing and "/outage" not in nothing  # Teams' words
