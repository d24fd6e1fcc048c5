"""No secret — Slack's tokens and signing secret, the networks' credentials, Teams' app password —
appears in a log line, a message, the database or an exception, whatever fails.

Every network here echoes the credentials it was sent back in its error (401, then 500), and
Slack refuses Crier's calls now and then; everything Crier could let a secret out through is
then searched for every secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import SQLModel, select

from bot.config import CrierConfig
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from handlers.server import build_crier
from handlers.slack.ids import Action
from tests.conftest import ANALYST, APPROVER, COMMS, make_config
from tests.fakes import slack_requests as req
from tests.fakes.echo_network import EchoNetwork
from tests.hostile.checks import eventually, quiesce
from tests.scenario.harness import SlackHarness, find_button

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-SECRET-bot-7f3a9c",
    "SLACK_SIGNING_SECRET": "SECRET-signing-51e0d2",
    "SLACK_APP_TOKEN": "xapp-SECRET-app-88aa1f",
    "MicrosoftAppPassword": "SECRET-teams-password-3c1d",
    "MASTODON_ACCESS_TOKEN": "SECRET-mastodon-9b2e",
    "X_BEARER_TOKEN": "SECRET-x-bearer-4d7f",
    "STATUSPAGE_API_KEY": "SECRET-statuspage-6e1a",
    "WEBHOOK_SECRET": "SECRET-webhook-2f8c",
    "BLUESKY_APP_PASSWORD": "SECRET-bsky-aaaa-bbbb",
    "FACEBOOK_PAGE_TOKEN": "SECRET-facebook-7a7a",
    "LINKEDIN_ACCESS_TOKEN": "SECRET-linkedin-5b5b",
}
CHANNELS = ["x", "facebook", "mastodon", "bluesky", "linkedin", "statuspage", "webhook"]


def leaks(text: str) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in text]


def exception_texts(error: BaseException | None) -> Iterator[str]:
    """An exception, its causes and contexts, as repr and str."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield repr(error)
        yield str(error)
        yield from (repr(arg) for arg in error.args)
        error = error.__cause__ or error.__context__


def config_for(echo: EchoNetwork) -> CrierConfig:
    channels: dict[str, Any] = {
        name: {"enabled": True, "base_url": echo.base_url, "account": "it-example"}
        for name in CHANNELS
    }
    channels["webhook"]["url"] = f"{echo.base_url}/hooks/status"
    service = {"name": "Email", "aliases": ["mail"], "default_channels": CHANNELS}
    return make_config(channels=channels, services=[service])


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


@pytest.fixture
async def leaky(
    store: Store, secret_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[SlackHarness, EchoNetwork]]:
    caplog.set_level(logging.DEBUG)  # every logger, slack_sdk's and aiohttp's included
    users = {ANALYST: "ana.lyst", APPROVER: "appro.ver"}
    async with (
        EchoNetwork() as echo,
        SlackWorkspace(
            bot_token=SECRETS["SLACK_BOT_TOKEN"], users=users, channels={COMMS: "it-outages"}
        ) as workspace,
        aiohttp.ClientSession() as http,
    ):
        settings = Settings(
            SLACK_API_URL=workspace.api_url, CRIER_PUBLIC_URL="http://crier.test"
        )  # the secrets come from the environment, as in production
        crier = build_crier(settings=settings, config=config_for(echo), store=store)
        runner = web.AppRunner(crier.web)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}/slack/events"
        try:
            yield SlackHarness(workspace=workspace, crier=crier, url=url, http=http), echo
        finally:
            await runner.cleanup()


async def post(slack: SlackHarness, body: str) -> int:
    secret = SECRETS["SLACK_SIGNING_SECRET"]
    status, _ = await req.post_signed(slack.http, slack.url, body, secret=secret)
    return status


async def command(slack: SlackHarness, text: str) -> int:
    body = req.slash_command(
        "/outage",
        text,
        user_id=ANALYST,
        channel_id=COMMS,
        response_url=slack.workspace.new_response_url(),
    )
    return await post(slack, body)


async def click(slack: SlackHarness, message: dict[str, Any], action_id: str) -> int:
    block_id, value = find_button(message, action_id)
    body = req.block_action(
        action_id=action_id,
        value=value,
        block_id=block_id,
        user_id=APPROVER,
        channel_id=COMMS,
        message_ts=message["ts"],
        thread_ts=message.get("thread_ts"),
        response_url=slack.workspace.new_response_url(),
    )
    if action_id != Action.APPROVE:
        return await post(slack, body)
    # Crier asks the approver to confirm ("Publish now?"): they do.
    opened = len(slack.workspace.calls_to("views.open"))
    status = await post(slack, body)
    asked = (await slack.workspace.wait_for("views.open", count=opened + 1))[-1].args["view"]
    confirmed = await post(slack, req.view_submission(view=asked, values={}, user_id=APPROVER))
    return status if confirmed == 200 else confirmed


async def test_no_secret_escapes_whatever_fails(
    leaky: tuple[SlackHarness, EchoNetwork], caplog: pytest.LogCaptureFixture
) -> None:
    slack, echo = leaky
    workspace, store = slack.workspace, slack.crier.core.store

    # Every network refuses the credentials (401), echoing them back.
    assert await command(slack, "Email: outlook is down") == 200
    await workspace.wait_for("chat.postMessage", count=2)
    draft = [m for m in slack.thread() if Action.APPROVE in json.dumps(m)][-1]
    assert await click(slack, draft, Action.APPROVE) == 200
    await quiesce(slack)
    with store.transaction() as session:
        failed = session.exec(select(Delivery).where(Delivery.state == DeliveryState.FAILED)).all()
        assert {d.channel for d in failed} == set(CHANNELS), [(d.channel, d.state) for d in failed]
        assert all("[redacted]" in (d.last_error or "") for d in failed if d.channel != "webhook")

    # Then they fail with 500s, echoing again, while a person retries.
    echo.status = 500

    def retry_buttons() -> int:
        return json.dumps(slack.thread()[0]).count(f'"action_id": "{Action.RETRY}_')

    await eventually(lambda: retry_buttons() == len(CHANNELS), "a Retry button per channel")
    draft = slack.thread()[0]
    for block in draft["blocks"]:
        for button in block.get("elements", []) if block["type"] == "actions" else []:
            assert await click(slack, draft, button["action_id"]) == 200
    await quiesce(slack)

    # Slack refuses Crier's own token now and then, and answers 500 to updates.
    workspace.fail_next("chat.postMessage", error="invalid_auth")
    workspace.fail_next("chat.postEphemeral", error="invalid_auth")
    workspace.server_error_next("chat.update", times=4)
    assert await command(slack, "mail: sign-in fails") == 200
    await quiesce(slack)
    assert await command(slack, "Nowhere: <@U0X>") == 200
    await quiesce(slack)

    assert len(echo.received) >= len(CHANNELS) * 2  # the networks were asked, and answered
    search_everything(slack, caplog)


async def test_a_revoked_slack_token_leaks_nothing(
    store: Store, secret_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        SlackWorkspace(bot_token="xoxb-the-token-slack-knows") as workspace,
        aiohttp.ClientSession() as http,
    ):
        settings = Settings(SLACK_API_URL=workspace.api_url)
        crier = build_crier(settings=settings, config=make_config(), store=store)
        runner = web.AppRunner(crier.web)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        slack = SlackHarness(
            workspace=workspace, crier=crier, url=f"http://{host}:{port}/slack/events", http=http
        )
        try:
            assert await command(slack, "Email: outlook is down") == 200
            await quiesce(slack)
        finally:
            await runner.cleanup()
    assert [c.response.get("error") for c in workspace.calls] == ["invalid_auth"]
    search_everything(slack, caplog)


async def test_a_secret_logged_by_anyone_is_masked_in_the_log(
    leaky: tuple[SlackHarness, EchoNetwork], caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth: whatever library logs a secret, in a message or a traceback."""
    token = SECRETS["X_BEARER_TOKEN"]
    logging.getLogger("some.library").debug("calling with Authorization: Bearer %s", token)
    try:
        raise RuntimeError(f"refused {SECRETS['SLACK_BOT_TOKEN']}")
    except RuntimeError:
        logging.getLogger("another.library").exception("it failed")
    assert not leaks(caplog.text), caplog.text
    assert "Bearer [redacted]" in caplog.text and "refused [redacted]" in caplog.text


def search_everything(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    """Logs (messages, tracebacks, the exceptions themselves), every message sent to Slack,
    every row of every table, and the settings' repr: no secret anywhere."""
    assert caplog.records, "nothing was logged: the search would prove nothing"
    found: dict[str, list[str]] = {}
    for record in caplog.records:
        texts = [record.getMessage(), record.exc_text or "", record.stack_info or ""]
        if record.exc_info:
            texts += list(exception_texts(record.exc_info[1]))
        for text in texts:
            for name in leaks(text):
                found.setdefault(f"log {record.name}", []).append(name)
    assert not leaks(caplog.text), leaks(caplog.text)

    workspace = slack.workspace
    sent = [c.args for c in workspace.calls] + [r.body for r in workspace.responses]
    for body in sent:
        for name in leaks(json.dumps(body, ensure_ascii=False)):
            found.setdefault("message to Slack", []).append(name)

    with slack.crier.core.store.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(table.select()).all():
                for name in leaks(repr(tuple(row))):
                    found.setdefault(f"table {table.name}", []).append(name)

    for shown in (repr(Settings()), str(Settings()), repr(NetworkCredentials())):
        for name in leaks(shown):
            found.setdefault("settings repr", []).append(name)
    assert not found, found
