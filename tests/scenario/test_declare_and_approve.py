"""Story: an analyst declares an outage; an approver approves; the posts go out with the time."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.storage.models import AuditEvent, Delivery, OutboxPost, Post
from tests.conftest import ANALYST, APPROVER
from tests.scenario.harness import SlackHarness, as_text


async def test_quick_declare_posts_root_and_draft_in_its_thread(slack: SlackHarness) -> None:
    status, answer = await slack.command("Blackboard: students cannot log in", user=ANALYST)
    assert status == 200 and "Drafting" in answer
    await slack.workspace.wait_for("chat.postMessage", count=2)
    root = slack.root()
    assert "Blackboard: students cannot log in" in as_text(root["blocks"])
    assert "<@U0ANALYST1>" in as_text(root["blocks"])
    draft = slack.thread()[0]
    text = as_text(draft["blocks"])
    for network in ("X", "Facebook", "Mastodon", "Bluesky", "Status page"):
        assert f"*{network}*" in text
    assert "/280" in text and "/300 graphemes" in text
    slack.sent_blocks_are_valid()


async def test_approve_publishes_every_channel_and_shows_links(slack: SlackHarness) -> None:
    await slack.command("bb: cannot log in", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    status, _ = await slack.click(slack.thread()[0], "draft_approve", user=APPROVER)
    assert status == 200
    await slack.workspace.wait_for("chat.postMessage", count=3)  # the outcome reply
    await slack.settle()
    draft = slack.thread()[0]
    blocks = as_text(draft["blocks"])
    assert "Approved by <@U0APPROVER1>" in blocks
    assert blocks.count("✅ sent") == 6 and "view post" in blocks  # five networks and the site
    assert "http://crier.test/status/incidents/1/" in blocks
    assert "draft_approve" not in blocks
    outcome = slack.thread()[-1]
    assert "is out on X, Facebook, Mastodon, Bluesky, Status page, Status site" in outcome["text"]
    root = as_text(slack.root()["blocks"])
    assert "Investigating" in root
    with slack.crier.core.store.transaction() as session:
        posts = session.exec(select(OutboxPost)).all()
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert len(posts) == 5  # the five networks' dry runs; the site's record is its delivery
    stamped = re.compile(r"\d{1,2}:\d{2} [AP]M E[SD]T")
    assert all(stamped.search(p.text) or p.network == "statuspage" for p in posts)
    assert actions.count("publish") == 6 and "approve" in actions
    slack.sent_blocks_are_valid()


async def test_refreshing_a_draft_in_the_thread_reads_it_once(
    slack: SlackHarness, statements: list[str]
) -> None:
    await slack.command("bb: cannot log in", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.settle()
    with slack.crier.core.store.transaction() as session:
        post_id = session.exec(select(Post.id)).one()
    statements.clear()
    await slack.crier.core.show_post(post_id)
    assert slack.workspace.calls_to("chat.update")  # the draft's message, updated in place
    reads = [read for read in map(_table_read, statements) if read is not None]
    assert sorted(reads) == ["delivery", "incident", "post", "rendition"], statements


def _table_read(statement: str) -> str | None:
    """The table a statement of the refresh reads. The background loops look now and then,
    beside it, at the job table (the work runner) and at the deliveries due by state (the
    publishing loop): those are not the refresh's, whose delivery read names its post."""
    if "FROM" not in statement:
        return None
    table = statement.split("FROM")[1].split()[0]
    if table == "job" or (table == "delivery" and "post_id" not in statement):
        return None
    return table


def channel_texts(message: dict) -> dict[str, str]:
    """Each channel's text as a draft message shows it, by the label in its heading."""
    texts: dict[str, str] = {}
    label = None
    for block in message["blocks"]:
        if block["type"] == "context":
            heading = block["elements"][0]["text"]
            label = heading.split("*")[1] if heading.startswith("*") else None
        elif block["type"] == "section" and block["text"]["type"] == "plain_text" and label:
            texts[label] = texts.get(label, "") + block["text"]["text"]
    return texts


async def test_the_thread_shows_byte_for_byte_what_each_network_received(
    slack: SlackHarness,
) -> None:
    await slack.command("bb: 👨‍👩‍👧‍👦 families and 学生 cannot log in", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    before = channel_texts(slack.thread()[0])
    status_pages = ("Status page", "Status site")  # they show the time themselves
    assert all("⏱" in text for label, text in before.items() if label not in status_pages)
    await slack.click(slack.thread()[0], "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=3)  # the outcome reply
    await slack.settle()
    shown = channel_texts(slack.thread()[0])
    with slack.crier.core.store.transaction() as session:
        received = {p.network: p.text for p in session.exec(select(OutboxPost)).all()}
        # The status site keeps no outbox: what it shows is its sent delivery's text.
        site = select(Delivery).where(Delivery.channel == "site", Delivery.state == "sent")
        received |= {d.channel: d.text for d in session.exec(site).all()}
    labels = {"X": "x", "Facebook": "facebook", "Mastodon": "mastodon", "Bluesky": "bluesky"}
    labels |= {"Status page": "statuspage", "Status site": "site"}
    assert {labels[label]: text for label, text in shown.items()} == received
    assert all("⏱" not in text and "{time}" not in text for text in shown.values())
    assert "👨‍👩‍👧‍👦 families and 学生" in received["x"]
