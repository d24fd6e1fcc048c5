"""Who may do what, and what happens to bad requests: signatures, approvers, double clicks."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.storage.models import AuditEvent, Incident, OutboxPost, PostState
from tests.conftest import ANALYST, APPROVER, APPROVER_2, OUTSIDER
from tests.fakes import slack_requests as req
from tests.scenario.harness import SECRET, SlackHarness, as_text, ephemeral_texts


def count(slack: SlackHarness, table: type) -> int:
    with slack.crier.core.store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def declare_body(slack: SlackHarness) -> str:
    return req.slash_command(
        "/outage",
        "Email: outlook is down",
        user_id=ANALYST,
        channel_id="C0COMMS",
        response_url=slack.workspace.new_response_url(),
    )


async def test_forged_expired_replayed_and_tampered_requests_write_nothing(
    slack: SlackHarness,
) -> None:
    body = declare_body(slack)
    forged = await req.post_signed(slack.http, slack.url, body, secret="not-the-secret")
    expired = await slack.post(body, timestamp=int(time.time()) - 6 * 60)
    headers = req.sign(body, secret=SECRET)
    tampered_body = body.replace("outlook", "everything")
    async with slack.http.post(slack.url, data=tampered_body, headers=headers) as response:
        tampered = response.status
    assert forged[0] == 401 and expired[0] == 401 and tampered == 401
    assert count(slack, Incident) == 0 and slack.workspace.calls == []

    async with slack.http.post(slack.url, data=body, headers=headers) as response:
        assert response.status == 200
    await slack.workspace.wait_for("chat.postMessage", count=2)
    async with slack.http.post(slack.url, data=body, headers=headers) as response:
        assert response.status == 401  # the same signed request again
    await slack.settle()
    assert count(slack, Incident) == 1


async def declared(slack: SlackHarness, *, by: str = ANALYST) -> dict:
    await slack.command("Wi-Fi: eduroam drops connections", user=by)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    return slack.thread()[0]


async def test_a_non_approvers_click_is_refused_told_and_audited(slack: SlackHarness) -> None:
    draft = await declared(slack)
    status, _ = await slack.click(draft, "draft_approve", user=OUTSIDER)
    assert status == 200
    await slack.workspace.wait_for("chat.postEphemeral")
    assert any("Only approvers" in t for t in ephemeral_texts(slack.workspace, OUTSIDER))
    await slack.settle()
    with slack.crier.core.store.transaction() as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.action == "approve_refused")
        ).all()
    assert [e.actor for e in refused] == [f"slack:{OUTSIDER}"]
    assert count(slack, OutboxPost) == 0
    assert "draft_approve" in as_text(slack.thread()[0])


async def test_nobody_approves_their_own_draft(slack: SlackHarness) -> None:
    draft = await declared(slack, by=APPROVER)
    await slack.click(draft, "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postEphemeral")
    assert any("another approver" in t for t in ephemeral_texts(slack.workspace, APPROVER))
    await slack.click(draft, "draft_approve", user=APPROVER_2)
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    assert count(slack, OutboxPost) == 4  # Wi-Fi's four default channels


async def test_two_approvers_clicking_at_once_publish_once(slack: SlackHarness) -> None:
    draft = await declared(slack)
    results = await asyncio.gather(
        slack.click(draft, "draft_approve", user=APPROVER),
        slack.click(draft, "draft_approve", user=APPROVER_2),
    )
    assert [status for status, _ in results] == [200, 200]
    await slack.workspace.wait_for("chat.postEphemeral")
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    assert count(slack, OutboxPost) == 4
    told = ephemeral_texts(slack.workspace, APPROVER) + ephemeral_texts(slack.workspace, APPROVER_2)
    assert len(told) == 1 and ("already" in told[0] or "a moment ago" in told[0])
    with slack.crier.core.store.transaction() as session:
        approvals = session.exec(select(AuditEvent).where(AuditEvent.action == "approve")).all()
    assert len(approvals) == 1


def mrkdwn_texts(message: dict) -> list[str]:
    found = [str(message.get("text", ""))]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return found


async def test_user_text_never_pings(slack: SlackHarness) -> None:
    typed = "VPN: <!channel> *everyone* <@U0APPROVER1> cannot connect <b>&amp;</b>"
    await slack.command(typed, user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    # Slack's markup became words (a mention is the person's name); the rest is escaped, as
    # Slack parses mentions only in mrkdwn and in the message's fallback text.
    parsed = " ".join(mrkdwn_texts(slack.root()) + mrkdwn_texts(slack.thread()[0]))
    assert "@channel *everyone* appro.ver cannot connect &lt;b&gt;&amp;amp;&lt;/b&gt;" in parsed
    assert "<!channel>" not in parsed and "<@U0APPROVER1>" not in parsed and "<b>" not in parsed
    draft = slack.thread()[0]
    previews = [
        b for b in draft["blocks"] if b["type"] == "section" and b["text"]["type"] == "plain_text"
    ]
    shown = "@channel *everyone* appro.ver cannot connect <b>&amp;</b>"
    assert previews and all(shown in b["text"]["text"] for b in previews)  # shown as text


async def test_help_list_and_anything_else(slack: SlackHarness) -> None:
    assert "/outage list" in await slack.command_reply("help", user=ANALYST)
    assert "No open incidents" in await slack.command_reply("list", user=ANALYST)
    assert "didn't catch that" in await slack.command_reply("blackboard is down", user=ANALYST)
    unknown = await slack.command_reply("Blakboard: down", user=ANALYST)
    assert "Did you mean *Blackboard*" in unknown
    assert "Write the service, a colon" in await slack.command_reply("VPN:   ", user=ANALYST)
    await declared(slack)
    listing = await slack.command_reply("list", user=ANALYST)
    assert "Wi-Fi" in listing and "eduroam drops connections" in listing
    assert count(slack, Incident) == 1


@pytest.mark.parametrize(
    ("error", "hint"), [("not_in_channel", "/invite"), ("invalid_auth", "SLACK_BOT_TOKEN")]
)
async def test_slack_refusing_the_thread_is_explained_and_nothing_is_lost(
    slack: SlackHarness, error: str, hint: str
) -> None:
    slack.workspace.fail_next("chat.postMessage", error=error)
    url = slack.workspace.new_response_url()
    body = req.slash_command(
        "/outage", "Printing: queues stuck", user_id=ANALYST, channel_id="C0COMMS", response_url=url
    )
    assert (await slack.post(body))[0] == 200
    responses = await slack.workspace.wait_for_response(url)
    told = responses[-1]["text"]
    assert "Incident #1 is saved" in told and error in told and hint in told
    assert count(slack, Incident) == 1


async def test_slack_rate_limits_are_waited_out(slack: SlackHarness) -> None:
    slack.workspace.rate_limit_next("chat.postMessage", retry_after=1)
    await slack.command("Phones: no dial tone", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=3, timeout=10)  # 429, root, draft
    assert "Phones: no dial tone" in as_text(slack.root())
    assert len(slack.thread()) == 1
    with slack.crier.core.store.transaction() as session:
        assert session.exec(select(func.count()).select_from(Incident)).one() == 1
    assert PostState.PENDING == "pending"


async def test_what_people_type_reaches_the_public_posts_as_typed(slack: SlackHarness) -> None:
    await slack.command("Email: staff & students can't send <mail>", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.click(slack.thread()[0], "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=3)  # the outcome: all published
    await slack.settle()
    with slack.crier.core.store.transaction() as session:
        texts = [p.text for p in session.exec(select(OutboxPost)).all()]
    assert texts and all("staff & students can't send <mail>" in t for t in texts)
    assert "staff &amp; students can't send &lt;mail&gt;" in as_text(slack.root())
