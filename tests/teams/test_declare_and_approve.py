"""Stories: declare an outage from Teams (by command and by card); an approver publishes it."""

from __future__ import annotations

from sqlmodel import col, select

from bot.drafting.post_times import format_time
from bot.storage.models import AuditEvent, ChatAnchor, OutboxPost
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import (
    ANALYST,
    APPROVER,
    OUTSIDER,
    THREAD,
    TeamsHarness,
    texts,
)

NETWORKS = ("x", "facebook", "mastodon", "bluesky", "statuspage")


def outbox(teams: TeamsHarness) -> list[OutboxPost]:
    with teams.crier.core.store.transaction() as session:
        posts = list(session.exec(select(OutboxPost).order_by(col(OutboxPost.id))).all())
        session.expunge_all()
        return posts


def audit_actions(teams: TeamsHarness) -> list[str]:
    with teams.crier.core.store.transaction() as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def strings_of(element: object) -> list[str]:
    """Every ``text`` a card holds, however deep."""
    if isinstance(element, dict):
        own = [element["text"]] if isinstance(element.get("text"), str) else []
        return own + [s for value in element.values() for s in strings_of(value)]
    if isinstance(element, list):
        return [s for item in element for s in strings_of(item)]
    return []


async def declare(teams: TeamsHarness, text: str = "Blackboard: students cannot log in") -> str:
    """Quick-declare as the analyst; returns the id of the first draft's message."""
    assert await teams.say(f"outage {text}", user=ANALYST) == 202
    await teams.connector.wait_for_posts(2)
    await teams.settle()
    return teams.draft_ids()[0]


async def test_quick_declare_posts_the_incident_and_its_draft(teams: TeamsHarness) -> None:
    draft_id = await declare(teams)
    root = teams.connector.card(teams.root_id())
    assert "Blackboard: students cannot log in" in texts(root)
    assert "Ana Lyst" in texts(root)  # declared by: a name, not an object id
    draft = teams.connector.card(draft_id)
    text = texts(draft)
    for label in ("X", "Facebook", "Mastodon", "Bluesky", "Status page"):
        assert f'"text": "{label}"' in text
    assert "/280 weighted characters" in text and "/300 graphemes" in text
    for title in ("Approve & publish", "Edit", "Reject"):
        assert f'"title": "{title}"' in text
    # Both went to the conversation where it was declared, and it is remembered for later.
    assert {c.conversation_id for c in teams.connector.posts()} == {THREAD}
    with teams.crier.core.store.transaction() as session:
        root_anchor = session.exec(select(ChatAnchor).where(ChatAnchor.purpose == "root")).one()
        assert root_anchor.platform == "teams" and root_anchor.channel_id == THREAD
        assert root_anchor.reference["serviceUrl"] == teams.connector.service_url
        assert root_anchor.reference["conversation"]["id"] == THREAD


async def test_user_text_is_plain_text_on_cards(teams: TeamsHarness) -> None:
    await declare(teams, "Blackboard: **everyone** [click](http://evil.test) <at>x</at>")
    root = teams.connector.card(teams.root_id())
    runs = [
        inline
        for block in root["body"]
        if block["type"] == "RichTextBlock"
        for inline in block["inlines"]
    ]
    title = next(r for r in runs if "everyone" in r["text"])
    assert title["type"] == "TextRun"  # TextRuns are never read as markdown
    blocks = [b for b in root["body"] if b["type"] == "TextBlock"]
    assert not any("everyone" in b["text"] for b in blocks)


async def test_declare_by_card_form(teams: TeamsHarness, connector: FakeBotConnector) -> None:
    assert await teams.say("outage", user=ANALYST) == 202
    (form_message,) = await connector.wait_for_posts(1)
    form = connector.card(form_message.id)
    assert "Declare an outage" in texts(form)

    # No summary: the form comes back to the person with what they chose and the problem.
    again = await teams.click(
        form_message.id,
        "Draft posts",
        user=ANALYST,
        inputs={"service": "Blackboard", "summary": " ", "channels": "x,mastodon"},
    )
    assert "summary" in texts(again).lower() and '"value": "x,mastodon"' in texts(again)
    assert len(connector.posts()) == 1 and not connector.updates()

    answer = await teams.click(
        form_message.id,
        "Draft posts",
        user=ANALYST,
        inputs={
            "service": "Blackboard",
            "summary": "students cannot log in",
            "severity": "sev1",
            "channels": "x,mastodon",
            "next_update_minutes": "20",
        },
    )
    assert "Post update" in texts(answer) and "Critical" in texts(answer)
    # The used form became the incident's card for everyone; the draft follows it.
    assert "Post update" in texts(connector.card(form_message.id))
    await connector.wait_for_posts(2)
    await teams.settle()
    draft = connector.card(teams.draft_ids()[0])
    assert '"text": "X"' in texts(draft) and '"text": "Mastodon"' in texts(draft)
    assert '"text": "Facebook"' not in texts(draft)


async def test_approve_publishes_and_replaces_the_card_for_everyone(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    draft_id = await declare(teams)

    refused = await teams.click(draft_id, "Approve & publish", user=OUTSIDER)
    assert "Only approvers" in texts(refused) and "Approve & publish" in texts(refused)
    refused = await teams.click(draft_id, "Approve & publish", user=ANALYST)
    assert "Only approvers" in texts(refused)
    assert not outbox(teams)

    answer = await teams.click(draft_id, "Approve & publish", user=APPROVER)
    posts_when_answered = len(connector.posts())
    assert "Approved by" in texts(answer) and "Alex Approver" in texts(answer)
    assert "Approve & publish" not in texts(answer)

    # The outcome comes later, as a new message, through the stored conversation reference.
    await connector.wait_for_posts(posts_when_answered + 1)
    await teams.settle()
    everyone = connector.card(draft_id)  # the message itself, as the whole channel sees it
    assert "Approved by" in texts(everyone) and "Alex Approver" in texts(everyone)
    post = await teams.crier.core.post(1)
    assert post.decided_at is not None
    decided = format_time(post.decided_at, teams.crier.core.config.organisation.zone)
    assert "Approved by" in texts(everyone) and f" at {decided}" in texts(everyone)
    assert texts(everyone).count("✅ sent") == 6  # the five networks and the status site
    assert "View on X" in texts(everyone)
    assert "Approve & publish" not in texts(everyone)

    published = outbox(teams)
    assert sorted(p.network for p in published) == sorted(NETWORKS)
    assert audit_actions(teams).count("publish") == 6
    # The card shows each channel's text exactly as the network received it.
    shown = strings_of(everyone)
    assert all(p.text in shown for p in published)

    outcome = connector.posts()[-1]
    assert len(connector.posts()) == posts_when_answered + 1
    assert outcome.conversation_id == THREAD
    assert "is out on X, Facebook, Mastodon, Bluesky, Status page" in texts(outcome.cards[0])


async def test_no_self_approval(teams: TeamsHarness) -> None:
    assert await teams.say("outage bb: cannot log in", user=APPROVER) == 202
    await teams.connector.wait_for_posts(2)
    await teams.settle()
    answer = await teams.click(teams.draft_ids()[0], "Approve & publish", user=APPROVER)
    assert "another approver needs to approve it" in texts(answer)
    assert not outbox(teams)
    assert "approve_refused" in audit_actions(teams)


async def test_commands_answer_in_plain_words(teams: TeamsHarness) -> None:
    for text, expected in (
        ("help", "outage Blackboard: students cannot log in"),
        ("what?", "I didn't catch that"),
        ("outage Nowhere: broken", "I don't know a service called"),
        ("outage just words", "I didn't catch that"),
        ("update", "No open incident lives in this conversation"),
    ):
        before = len(teams.connector.posts())
        assert await teams.say(text, user=ANALYST) == 202
        posts = await teams.connector.wait_for_posts(before + 1)
        assert expected in posts[-1].activity["text"], text
    assert await teams.say("list", user=ANALYST) == 202
    posts = await teams.connector.wait_for_posts(6)
    assert "No open incidents" in texts(posts[-1].cards[0])
