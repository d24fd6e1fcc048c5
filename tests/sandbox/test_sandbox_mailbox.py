"""Story: a newcomer subscribes on the sandbox's status site, confirms from the email in the
page's mailbox, approves a post, and sees its notification arrive there too. No mail relay: the
sandbox keeps every email in the outbox, and its links point at the sandbox's own site."""

from __future__ import annotations

import html
import re

import aiohttp

from handlers.sandbox.app import ANALYST, CHANNEL_ID, Sandbox
from tests.sandbox.conftest import eventually
from tests.sandbox.gestures import APPROVER, approve, approve_button, gesture, state, timeline_with

ADA = "ada@example.edu"


async def mailbox_with(http: aiohttp.ClientSession, sandbox: Sandbox, words: str) -> str | None:
    shown = (await state(http, sandbox, ANALYST.user_id))["mailbox"]
    assert isinstance(shown, str), "the page has no mailbox"
    return shown if words in shown else None


def link_to(mailbox: str, path: str) -> str:
    """The first link of the mailbox to ``path``, as the browser would follow it."""
    found = re.search(r'href="([^"]*' + re.escape(path) + r'\?t=[^"]+)"', mailbox)
    assert found, f"no link to {path} in the mailbox:\n{mailbox}"
    return html.unescape(found.group(1))


async def test_subscribe_confirm_then_an_approved_post_lands_in_the_mailbox(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    empty = await mailbox_with(http, sandbox, "No email yet")
    assert empty is not None
    async with http.get(sandbox.url) as response:
        assert "Subscribers' mailbox" in await response.text()

    form = {"email": ADA}  # no service ticked: every service
    async with http.post(f"{sandbox.url}/status/subscribe/", data=form) as response:
        assert response.status == 202, await response.text()
    asked = await eventually(lambda: mailbox_with(http, sandbox, "Confirm"))
    assert f"To {ADA}" in asked and re.search(r"\d{1,2}:\d{2} [AP]M E[SD]T", asked)

    confirm = link_to(asked, "/status/subscribe/confirm/")
    assert confirm.startswith(f"{sandbox.url}/status/subscribe/confirm/?t=")
    async with http.get(confirm) as response:  # the page with the button
        assert response.status == 200 and "Confirm" in await response.text()
    token = confirm.partition("?t=")[2]
    async with http.post(confirm.partition("?")[0], data={"t": token}) as response:
        assert response.status == 200 and "You are subscribed" in await response.text()
    mail_id = re.search(r'id="mail-(\d+)"', asked)
    assert mail_id is not None
    async with http.get(f"{sandbox.url}/mailbox/{mail_id.group(1)}") as response:
        assert response.status == 200 and "subscribe/confirm/?t=" in await response.text()
    async with http.get(f"{sandbox.url}/mailbox/999") as response:
        assert response.status == 404

    typed = "/outage bb: students cannot log in <b>now</b>"
    await gesture(http, sandbox, "command", user=ANALYST.user_id, text=typed)
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "Approve &amp; publish"))
    ts, block_id = approve_button(sandbox)
    click = {"channel": CHANNEL_ID, "ts": ts, "block_id": block_id, "action_id": "draft_approve"}
    await approve(http, sandbox, APPROVER, click)

    told = await eventually(lambda: mailbox_with(http, sandbox, "students cannot log in"))
    assert told.count('class="mail"') == 2  # the confirmation, then the one notification
    assert "&lt;b&gt;now&lt;/b&gt;" in told and "<b>now</b>" not in told  # email text is escaped
    assert "\ufffd" not in told  # its non-ASCII characters (·, —) read as they were sent
    assert link_to(told, "/status/unsubscribe/").startswith(f"{sandbox.url}/status/unsubscribe/")
