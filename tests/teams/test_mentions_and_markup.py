"""What people write in Teams goes public as the words they wrote: a mention is the plain name,
``&amp;`` is ``&``, and the HTML Teams wraps a message in never reaches a public text."""

from __future__ import annotations

from bot.storage.models import OutboxPost
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import ANALYST, APPROVER, BOT, THREAD, TeamsHarness, texts
from tests.teams.test_declare_and_approve import NETWORKS, outbox


async def _publish(teams: TeamsHarness, connector: FakeBotConnector) -> list[OutboxPost]:
    await connector.wait_for_posts(2)
    await teams.settle()
    (draft_id,) = teams.draft_ids()
    answer = await teams.click(draft_id, "Approve & publish", user=APPROVER)
    assert "Approved by" in texts(answer)
    await connector.wait_for_posts(3)
    await teams.settle()
    published = outbox(teams)
    assert sorted(p.network for p in published) == sorted(NETWORKS)
    return published


async def test_a_mention_in_a_quick_declaration_goes_public_as_the_plain_name(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    said = "outage Blackboard: students cannot log in <at>everyone</at> & more"
    assert await teams.say(said, user=ANALYST) == 202
    for post in await _publish(teams, connector):
        assert "cannot log in everyone & more" in post.text, (post.network, post.text)
        assert "<at>" not in post.text and "</at>" not in post.text


async def test_the_html_of_a_formatted_message_never_reaches_a_public_text(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    mention = "<at>Crier</at>"
    html = (
        f'<p>{mention} outage Blackboard: <span style="color:red">students</span> cannot '
        "log in <at>Alex Approver</at> &amp; <b>more</b> &lt;3</p><div>see IT</div>"
    )
    activity = teams._activity(
        ANALYST,
        THREAD,
        type="message",
        text=html,
        textFormat="plain",
        entities=[{"type": "mention", "text": mention, "mentioned": dict(BOT)}],
    )
    status, _ = await teams.post(activity)
    assert status == 202
    await teams.settle()
    for post in await _publish(teams, connector):
        assert "students cannot log in Alex Approver & more <3 see IT" in post.text, post.text
        for tag in ("<p>", "</p>", "<span", "<b>", "<div>", "<at>", "&amp;", "&lt;"):
            assert tag not in post.text, (tag, post.network, post.text)
    root = teams.connector.card(teams.root_id())
    assert "students cannot log in Alex Approver & more <3 see IT" in texts(root)
