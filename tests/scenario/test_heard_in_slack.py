"""Story: what people answer on the networks reaches Slack. New replies to an incident's posts
land in its thread, each as plain text (a ``<!channel>`` in a reply pings nobody); a burst is
summed up with its angriest three; a surge of mentions lands in the comms channel with
*Declare outage*, which opens the declare form with the service chosen (or, with an incident
open, in its thread)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.listening.views import HeardBatch
from bot.storage.models import Incident
from handlers.slack.heard_message import heard_message
from handlers.slack.ids import Action, View
from handlers.slack.modals import declare_modal
from tests.conftest import ANALYST, COMMS, make_config
from tests.fakes.slack_requests import static_select, text_input
from tests.heard_rows import (
    CALM,
    PINGING,
    SURGE,
    burst,
    hear_replies,
    hear_surge,
    heard_rows,
    latest_incident,
    reply_as_shown,
)
from tests.scenario.harness import JsonDict, SlackHarness, as_text, check_blocks
from tests.scenario.test_revise_and_resolve import declare, open_from


def text_objects(message: JsonDict) -> list[JsonDict]:
    """Every text object in the message's blocks."""
    found: list[JsonDict] = []
    stack: list[Any] = list(message.get("blocks", []))
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
                found.append(node)
            stack += list(node.values())
        elif isinstance(node, list):
            stack += node
    return found


def plain_texts(message: JsonDict) -> str:
    return "\n".join(t["text"] for t in text_objects(message) if t["type"] == "plain_text")


def pings_nobody(message: JsonDict) -> None:
    """Slack reads markup only in mrkdwn (and the notification text): none may mention."""
    read_as_markup = [t["text"] for t in text_objects(message) if t["type"] == "mrkdwn"]
    for text in [*read_as_markup, message.get("text", "")]:
        assert "<!" not in text and "<@" not in text, text
        assert "*terrible*" not in text and "Example*" not in text, text


def replies_in(message: JsonDict) -> list[str]:
    """The replies' texts: the plain-text sections after each reply's context line."""
    blocks = message["blocks"]
    return [
        blocks[i + 1]["text"]["text"]
        for i, block in enumerate(blocks[:-1])
        if block["type"] == "context" and any("mastodon.social/@ann" in t for t in _texts(block))
    ]


def _texts(block: JsonDict) -> list[str]:
    return [e.get("text", "") for e in block.get("elements", [])]


def has_buttons(message: JsonDict) -> bool:
    return any(b["type"] == "actions" or b.get("accessory") for b in message["blocks"])


def reply_buttons(message: JsonDict) -> list[tuple[str, str]]:
    """Each reply's *Reply* (beside its text): (action id, value)."""
    found = [b["accessory"] for b in message["blocks"] if b.get("accessory")]
    return [(b["action_id"], b["value"]) for b in found if b["text"]["text"] == "Reply"]


async def test_new_replies_reach_the_thread_as_plain_text(slack: SlackHarness) -> None:
    await declare(slack)
    incident_id = latest_incident(slack.crier.core.store)
    long_reply = "Still down. " + "x" * 5000
    before = len(slack.thread())

    views = await hear_replies(
        slack.crier.core, [PINGING, CALM, long_reply], incident_id=incident_id
    )

    thread = slack.thread()
    assert len(thread) == before + 1
    shown = thread[-1]
    assert "3 new replies to incident" in as_text(shown)
    replies = replies_in(shown)
    assert replies[:2] == [PINGING, CALM]  # as written, in plain text
    assert replies[2].startswith("Still down. xxx") and "more characters)" in replies[2]
    assert len(replies[2]) <= 3000
    said = plain_texts(shown)
    assert "🔴 negative · Mastodon · Ann <!here> *Example* (@ann@mastodon.social)" in said
    assert "🟢 positive" in said and "2:45 PM EST" in said
    for view in views:  # the long one's too: it is whole on the network
        assert f"<{view.url}|Open on Mastodon>" in as_text(shown)
    pings_nobody(shown)
    assert reply_buttons(shown) == [(Action.HEARD_REPLY, str(v.id)) for v in views]


async def test_a_burst_shows_its_summary_and_the_angriest_three(slack: SlackHarness) -> None:
    await declare(slack)
    incident_id = latest_incident(slack.crier.core.store)
    texts = [PINGING, "This is awful, Duo prompt never comes", "Duo prompt broken, terrible"]
    texts += [f"Duo prompt works now {n}, thanks" for n in range(9)]
    views = heard_rows(slack.crier.core.store, texts, incident_id=incident_id)

    await slack.crier.core.chat.heard(burst(incident_id, views))

    shown = slack.thread()[-1]
    blocks = shown["blocks"]
    assert "12 new replies to incident" in as_text(blocks[0])
    assert blocks[1]["text"] == {
        "type": "plain_text",
        "text": "12 new replies, mostly about “Duo prompt” (Mastodon 12)",
        "emoji": False,
    }
    assert "25 % of them negative" in as_text(blocks[2])
    assert "The angriest of them:" in as_text(blocks[3])
    replies = replies_in(shown)
    assert len(replies) == 3 and PINGING in replies
    assert all("works now" not in r for r in replies)
    assert len(reply_buttons(shown)) == 3  # the examples are answered as any reply is
    pings_nobody(shown)


async def test_a_surge_without_an_incident_offers_the_declare_form(slack: SlackHarness) -> None:
    store = slack.crier.core.store
    await hear_surge(slack.crier.core, [PINGING, "eduroam keeps dropping"], service="Wi-Fi")

    (said,) = slack.workspace.messages(COMMS)  # in the channel itself, not in a thread
    assert SURGE in plain_texts(said)
    assert PINGING in replies_in(said)
    pings_nobody(said)
    form = await open_from(slack, said, Action.SPIKE_DECLARE, user=ANALYST)
    assert form["callback_id"] == View.DECLARE
    service = next(b for b in form["blocks"] if b.get("block_id") == "service")
    assert service["element"]["initial_option"]["value"] == "Wi-Fi"
    with store.transaction() as session:
        assert not session.exec(select(Incident)).all()  # nothing declared by the click

    values = {
        "service": static_select("Wi-Fi"),  # Slack sends the chosen option back
        "summary": text_input("eduroam keeps dropping"),
    }
    status, answer = await slack.submit(form, values, user=ANALYST)
    assert (status, answer) == (200, {})
    await slack.workspace.wait_for("chat.postMessage", count=3)  # the surge, the root, its draft
    await slack.settle()
    assert "Wi-Fi: eduroam keeps dropping" in as_text(slack.root()["blocks"][0])
    with store.transaction() as session:
        (incident,) = session.exec(select(Incident)).all()
        assert incident.declared_by == f"slack:{ANALYST}"


async def test_a_surge_with_an_open_incident_goes_to_its_thread(slack: SlackHarness) -> None:
    await declare(slack)
    incident_id = latest_incident(slack.crier.core.store)
    sentence = SURGE.replace("Wi-Fi", "Blackboard")
    tops = len(slack.workspace.messages(COMMS))

    examples = await hear_surge(
        slack.crier.core,
        [PINGING],
        service="Blackboard",
        incident_id=incident_id,
        sentence=sentence,
    )

    assert len(slack.workspace.messages(COMMS)) == tops  # nothing new in the channel itself
    said = slack.thread()[-1]
    assert sentence in plain_texts(said)
    assert f"Incident #{incident_id} is open for Blackboard" in plain_texts(said)
    assert PINGING in replies_in(said)
    # Only *Reply* beside the example: no *Declare outage* (the incident is open).
    assert not any(b["type"] == "actions" for b in said["blocks"])
    assert reply_buttons(said) == [(Action.HEARD_REPLY, str(examples[0].id))]
    pings_nobody(said)


def test_a_service_the_catalog_does_not_list_is_chosen_as_other() -> None:
    form = declare_modal(make_config(), channel_id=COMMS, service="Zoom")
    blocks = {b.get("block_id"): b for b in form["blocks"]}
    assert blocks["service"]["element"]["initial_option"]["value"] == "__other__"
    assert blocks["other_service"]["element"]["initial_value"] == "Zoom"
    plain_form = declare_modal(make_config(), channel_id=COMMS)
    assert "initial_option" not in next(b for b in plain_form["blocks"])["element"]


def test_fifty_long_replies_fit_in_one_message() -> None:
    """A batch as large as ``listening.burst`` allows, each reply long: within Slack's limits."""
    view = reply_as_shown(author_name="Ann " * 200, text="down " * 2000)
    message = heard_message(HeardBatch(1, 50, (view,) * 50), zone=ZoneInfo("America/New_York"))
    check_blocks(message["blocks"])
    assert "…and 30 more, not shown here." in as_text(message["blocks"][-1])
