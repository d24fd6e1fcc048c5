"""Drive the real Crier web app as Slack would: signed HTTP requests in, Web API calls out.

The app runs on 127.0.0.1 (port 0) with bolt's request verification on; its Web API client
points at the simulated workspace, which records every call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.config import CrierConfig
from bot.ports import Clock
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.store import Store
from handlers.sandbox.workspace import RecordedCall, SlackWorkspace, WorkspaceEvent
from handlers.server import Crier, build_crier
from tests.conftest import COMMS
from tests.fakes import slack_requests as req
from tests.settling import settle

APPROVE = "draft_approve"
SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"

JsonDict = dict[str, Any]


def check_blocks(blocks: list[JsonDict]) -> None:
    """Every Block Kit payload Crier sends must parse with slack_sdk's models."""
    assert len(blocks) <= 50, f"{len(blocks)} blocks"
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


def check_view(view: JsonDict) -> None:
    View(**view).validate_json()
    assert len(view.get("blocks", [])) <= 100


def find_button(message: JsonDict, action_id: str) -> tuple[str, str]:
    """(block_id, value) of the button with this action id in a stored message."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return block["block_id"], element.get("value", "")
    raise AssertionError(f"no {action_id!r} button in {json.dumps(message)[:500]}")


@dataclass
class SlackHarness:
    workspace: SlackWorkspace
    crier: Crier
    url: str
    http: aiohttp.ClientSession

    async def post(self, body: str, **kwargs: Any) -> tuple[int, str]:
        return await req.post_signed(self.http, self.url, body, secret=SECRET, **kwargs)

    async def command(self, text: str, *, user: str, channel: str = COMMS) -> tuple[int, str]:
        body = req.slash_command(
            "/outage",
            text,
            user_id=user,
            channel_id=channel,
            response_url=self.workspace.new_response_url(),
        )
        return await self.post(body)

    async def command_reply(self, text: str, *, user: str, channel: str = COMMS) -> str:
        """What Crier answered the person: the ack's text, or else what it sent to response_url."""
        body = req.slash_command(
            "/outage",
            text,
            user_id=user,
            channel_id=channel,
            response_url=(url := self.workspace.new_response_url()),
        )
        status, answer = await self.post(body)
        assert status == 200, answer
        if answer.strip():
            return str(json.loads(answer).get("text", ""))
        responses = await self.workspace.wait_for_response(url)
        return str(responses[-1].get("text", ""))

    async def click(
        self, message: JsonDict, action_id: str, *, user: str, channel: str = COMMS
    ) -> tuple[int, str]:
        """Click a button. *Approve & publish* is confirmed too, as its person would: Crier
        asks only who may publish ("Publish now?", a modal) and refuses the others at once."""
        block_id, value = find_button(message, action_id)
        body = req.block_action(
            action_id=action_id,
            value=value,
            block_id=block_id,
            user_id=user,
            channel_id=channel,
            message_ts=message["ts"],
            thread_ts=message.get("thread_ts"),
            message=message,
            response_url=self.workspace.new_response_url(),
        )
        if action_id != APPROVE:
            return await self.post(body)
        events = self.workspace.subscribe()
        try:
            answered = await self.post(body)
            trigger = req.interaction_payload(body)["trigger_id"]
            asked = await self._asked_or_told(events, trigger=trigger, user=user)
        finally:
            self.workspace.unsubscribe(events)
        if asked is not None:
            status, confirmed = await self.submit(asked, {}, user=user)
            assert (status, confirmed) == (200, {}), confirmed
        return answered

    async def _asked_or_told(
        self, events: asyncio.Queue[WorkspaceEvent], *, trigger: str, user: str
    ) -> JsonDict | None:
        """The confirmation Crier opened for this click, or None when it told the person
        something instead (a refusal) or nothing (a click delivered twice)."""
        async with asyncio.timeout(5):
            while True:
                event = await events.get()
                if not isinstance(event, RecordedCall):
                    continue
                if event.method == "views.open" and event.args.get("trigger_id") == trigger:
                    view: JsonDict = event.args["view"]
                    check_view(view)
                    return view
                if event.method == "chat.postEphemeral" and event.args.get("user") == user:
                    return None

    async def submit(
        self, view: JsonDict, values: dict[str, JsonDict], *, user: str
    ) -> tuple[int, JsonDict]:
        """Submit a modal; ``values`` maps block id → input state (text_input(...) etc.)."""
        body = req.view_submission(
            view=view,
            values={block: {"value": state} for block, state in values.items()},
            user_id=user,
        )
        status, text = await self.post(body)
        return status, (json.loads(text) if text.strip() else {})

    async def open_modal(self, count: int = 1) -> JsonDict:
        calls = await self.workspace.wait_for("views.open", count=count)
        view: JsonDict = calls[-1].args["view"]
        check_view(view)
        return view

    async def settle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Let the publisher and the chat updates finish what they started."""
        await settle(self.crier.core, timeout)

    def root(self) -> JsonDict:
        """The latest incident's root message (proposed calendar posts are top-level too)."""
        roots = [
            m
            for m in self.workspace.messages(COMMS)
            if ("thread_ts" not in m or m["thread_ts"] == m["ts"]) and not is_calendar(m)
        ]
        assert roots, "no root message in the comms channel"
        return roots[-1]

    def calendar_posts(self) -> list[JsonDict]:
        """Proposed calendar posts shown in the comms channel, oldest first."""
        return [m for m in self.workspace.messages(COMMS) if is_calendar(m)]

    def thread(self) -> list[JsonDict]:
        root = self.root()
        return [m for m in self.workspace.thread(COMMS, root["ts"]) if m["ts"] != root["ts"]]

    def drafts(self) -> list[JsonDict]:
        return [
            m
            for m in self.thread()
            if any(
                e.get("action_id") == "draft_approve"
                or "Approved by" in json.dumps(m)
                or "revision" in json.dumps(m)
                for b in m.get("blocks", [])
                for e in b.get("elements", []) or [{}]
            )
        ]

    def sent_blocks_are_valid(self) -> None:
        for call in self.workspace.calls:
            if call.args.get("blocks"):
                check_blocks(call.args["blocks"])
            if "view" in call.args:
                check_view(call.args["view"])


def is_calendar(message: JsonDict) -> bool:
    return str(message.get("text", "")).startswith("Scheduled post #")


def ephemeral_texts(workspace: SlackWorkspace, user: str) -> list[str]:
    return [str(m.get("text", "")) for m in workspace.ephemerals(user)]


PLENTY = 100_000


def form_of(body: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body).items()}


async def start_harness(
    *,
    store: Store,
    config: CrierConfig,
    workspace: SlackWorkspace,
    http: aiohttp.ClientSession,
    clock: Clock | None = None,
    credentials: NetworkCredentials | None = None,
    background: bool = True,
    more_settings: Mapping[str, Any] | None = None,
) -> tuple[SlackHarness, web.AppRunner]:
    """``credentials``: the networks' (pointed at fakes in ``config``); else the outbox.
    ``background=False``: no publishing and scheduling loops; the test runs them (``tick``).
    ``more_settings``: more of Crier's settings, by their environment names
    (``CRIER_SMTP_URL``…)."""
    settings = Settings(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=workspace.api_url,
        CRIER_PUBLIC_URL="http://crier.test",
        # Stories and attacks declare many times a minute as one person; the limit has its own.
        CRIER_DECLARATIONS_PER_MINUTE=PLENTY,
        **(more_settings or {}),
    )
    crier = build_crier(
        settings=settings, config=config, store=store, clock=clock, credentials=credentials
    )
    crier.runs_background = background
    runner = web.AppRunner(crier.web)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    harness = SlackHarness(
        workspace=workspace, crier=crier, url=f"http://{host}:{port}/slack/events", http=http
    )
    return harness, runner


def as_text(value: Any) -> str:
    """A message or its blocks as one searchable string (emoji kept as they are)."""
    return json.dumps(value, ensure_ascii=False)
