"""Story: a newcomer sees listening work in the sandbox, with no network's credentials. The
network panels' buttons make the made-up public reply to the incident's post, or post angrily
about a service; Crier's real poller hears them at once, shows the replies in the incident's
thread (each with *Reply*) and a surge of mentions in the comms channel (*Declare outage*)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from sqlmodel import Session, col, select

from bot.config import Network
from bot.listening.heard import HeardKind
from bot.ports import Actor
from bot.storage.models import HeardPost
from handlers.sandbox.app import ANALYST, CHANNEL_ID, Sandbox
from handlers.sandbox.listening import REPLIES, SURGE_SIZE
from tests.sandbox.conftest import eventually
from tests.sandbox.gestures import APPROVER, approve, approve_button, gesture, state, timeline_with


async def listen(
    http: aiohttp.ClientSession, sandbox: Sandbox, network: str, what: str
) -> dict[str, Any]:
    async with http.post(
        f"{sandbox.url}/api/listen", json={"network": network, "what": what}
    ) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def panels(http: aiohttp.ClientSession, sandbox: Sandbox) -> str:
    return str((await state(http, sandbox, ANALYST.user_id))["published"])


def thread_texts(sandbox: Sandbox) -> list[str]:
    """Every plain text of the incident's thread, one entry per text object shown."""
    assert sandbox.workspace is not None
    root = sandbox.workspace.messages(CHANNEL_ID)[0]
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for reply in sandbox.workspace.thread(CHANNEL_ID, root["ts"]):
        walk(reply.get("blocks", []))
    return found


def heard_messages(sandbox: Sandbox) -> list[dict[str, Any]]:
    assert sandbox.workspace is not None
    root = sandbox.workspace.messages(CHANNEL_ID)[0]
    return [
        reply
        for reply in sandbox.workspace.thread(CHANNEL_ID, root["ts"])
        if any(b.get("block_id") == "heard" for b in reply.get("blocks", []))
    ]


async def declare_and_publish(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    typed = "/outage bb: students cannot log in"
    await gesture(http, sandbox, "command", user=ANALYST.user_id, text=typed)
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "Approve &amp; publish"))
    ts, block_id = approve_button(sandbox)
    click = {"channel": CHANNEL_ID, "ts": ts, "block_id": block_id, "action_id": "draft_approve"}
    await approve(http, sandbox, APPROVER, click)

    async def on_mastodon() -> str | None:
        shown = await panels(http, sandbox)
        return shown if 'id="outbox-' in shown and "pub-mastodon" in shown else None

    await eventually(on_mastodon)


async def test_replies_reach_the_incidents_thread_once_each(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    shown = await panels(http, sandbox)
    for network in ("mastodon", "bluesky", "facebook"):
        assert f'data-network="{network}" data-listen="surge"' in shown
    assert 'data-network="x" data-listen' not in shown  # X charges for reading: not listened to
    assert re.search(r'data-network="mastodon" data-listen="replies" disabled', shown)
    early = await listen(http, sandbox, "mastodon", "replies")
    assert "Nothing to reply to on Mastodon yet" in early["notice"]
    assert sandbox.audience.count(Network.MASTODON, HeardKind.REPLY) == 0

    await declare_and_publish(http, sandbox)
    shown = await panels(http, sandbox)
    assert not re.search(r'data-network="mastodon" data-listen="replies" disabled', shown)

    told = await listen(http, sandbox, "mastodon", "replies")
    assert "3 people replied on Mastodon to incident #1" in told["notice"]
    # The poll ran at once: the thread has them when the button answers, no clock jump.
    assert len(heard_messages(sandbox)) == 1
    texts = thread_texts(sandbox)
    assert "💬 *3 new replies to incident #1's posts*" in texts
    first = [line.format(service="Blackboard") for line in REPLIES[0]]
    for line in first:
        assert texts.count(line) == 1, (line, texts)
    assert sum(t == "Reply" for t in texts) == 3  # *Reply* beside each
    assert any(t.startswith("🔴 negative · Mastodon · ") for t in texts)
    assert any(t.startswith("🟢 positive · Mastodon · ") for t in texts)
    timeline = await timeline_with(http, sandbox, ANALYST.user_id, "3 new replies")
    assert timeline is not None and "@mastodon.example" in timeline

    again = await listen(http, sandbox, "mastodon", "replies")
    assert "3 people replied" in again["notice"]
    assert len(heard_messages(sandbox)) == 2
    texts = thread_texts(sandbox)
    for line in first + [line.format(service="Blackboard") for line in REPLIES[1]]:
        assert texts.count(line) == 1, (line, texts)
    assert sum(t == "Reply" for t in texts) == 6

    # Answered and approved, the answer goes to the outbox like every post, shown replying.
    core = sandbox.core
    assert core is not None
    heard_id = await core.store.read(lambda s: _first_heard_id(s))
    analyst = Actor("slack", ANALYST.user_id, ANALYST.name)
    drafted = await core.answers.propose(
        analyst, heard_id, "Sorry! We are on it, see the status page."
    )
    await core.answers.approve(Actor("slack", APPROVER, "Avery"), drafted.id)

    async def answered() -> str | None:
        shown = await panels(http, sandbox)
        return shown if "We are on it, see the status page." in shown else None

    shown = await eventually(answered)
    assert re.search(r"↳ Replying to @[\w.]+@mastodon\.example", shown)


def _first_heard_id(session: Session) -> int:
    found = session.exec(select(HeardPost.id).order_by(col(HeardPost.id))).first()
    assert found is not None
    return int(found)


async def test_a_surge_of_mentions_is_alerted_in_the_comms_channel_once(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    told = await listen(http, sandbox, "bluesky", "surge")
    assert f"{SURGE_SIZE} people posted angrily about Wi-Fi on Bluesky" in told["notice"]
    assert "Crier saw the surge" in told["notice"]
    timeline = await timeline_with(http, sandbox, ANALYST.user_id, "Mentions of Wi-Fi are surging")
    assert timeline is not None
    assert "Declare outage" in timeline
    assert "No incident is open for Wi-Fi" in timeline
    assert sandbox.workspace is not None
    alerts = [
        m
        for m in sandbox.workspace.messages(CHANNEL_ID)
        if any(b.get("block_id") == "mention_spike" for b in m.get("blocks", []))
    ]
    assert len(alerts) == 1  # in the channel itself, not in a thread

    again = await listen(http, sandbox, "bluesky", "surge")
    assert "once in 60 minutes" in again["notice"]
    alerts_now = [
        m
        for m in sandbox.workspace.messages(CHANNEL_ID)
        if any(b.get("block_id") == "mention_spike" for b in m.get("blocks", []))
    ]
    assert len(alerts_now) == 1


async def test_the_listen_api_refuses_what_it_does_not_know(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    for body in ({"network": "x", "what": "surge"}, {"network": "mastodon", "what": "all"}):
        async with http.post(f"{sandbox.url}/api/listen", json=body) as response:
            assert response.status == 400


def _button(sandbox: Sandbox, action_id: str) -> dict[str, Any]:
    """The channel's newest message with a button ``action_id`` (top level), and where it is."""
    assert sandbox.workspace is not None
    for message in reversed(sandbox.workspace.messages(CHANNEL_ID)):
        for block in message.get("blocks", []):
            elements = [block.get("accessory") or {}, *block.get("elements", [])]
            for element in elements:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return {
                        "channel": CHANNEL_ID,
                        "ts": message["ts"],
                        "block_id": block["block_id"],
                        "action_id": action_id,
                    }
    raise AssertionError(f"no {action_id} button in the channel")


async def test_a_mention_in_a_surge_is_answered_from_the_comms_channel(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A newcomer's path: *Reply* on an example of the surge, the answer waits in the channel,
    another approver approves it, and it goes to the outbox as a reply to that person."""
    await listen(http, sandbox, "mastodon", "surge")
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "surging"))
    await gesture(http, sandbox, "action", user=ANALYST.user_id, **_button(sandbox, "heard_reply"))

    async def form() -> dict[str, Any] | None:
        modal = (await state(http, sandbox, ANALYST.user_id))["modal"]
        return (
            modal if isinstance(modal, dict) and 'data-block-id="answer"' in modal["html"] else None
        )

    modal = await eventually(form)
    values = {"answer": "Sorry, Wi-Fi is down in some halls: https://status.example.edu"}
    done = await gesture(
        http, sandbox, "submit", user=ANALYST.user_id, view_id=modal["id"], values=values
    )
    assert done["closed"] is True, done
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "Wi-Fi is down in"))

    approve_answer = _button(sandbox, "answer_approve")
    await gesture(http, sandbox, "action", user=ANALYST.user_id, **approve_answer)
    told = await eventually(  # the analyst is no approver: told so, nothing published
        lambda: timeline_with(http, sandbox, ANALYST.user_id, "Only approvers can approve")
    )
    assert told is not None and "Wi-Fi is down in some halls" not in await panels(http, sandbox)
    await gesture(http, sandbox, "action", user=APPROVER, **approve_answer)

    async def answered() -> str | None:
        shown = await panels(http, sandbox)
        return shown if "Wi-Fi is down in some halls" in shown else None

    shown = await eventually(answered)
    assert re.search(r"↳ Replying to @[\w.]+@mastodon\.example", shown)
    assert shown.count("Wi-Fi is down in some halls") == 1
