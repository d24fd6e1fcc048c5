"""Drive Crier as Teams would: activities POSTed as JSON to ``/api/messages`` (unauthenticated,
no token), with a ``serviceUrl`` pointing at the fake Bot Connector that records what Crier sends.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.config import CrierConfig
from bot.ports import Clock
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.store import Store
from handlers.server import Crier, build_crier
from tests.fakes.bot_connector import ConnectorCall, FakeBotConnector
from tests.settling import settle
from tests.teams.card_schema import check_card

JsonDict = dict[str, Any]
TENANT = "tenant-1"
BOT = {"id": "28:crier-bot", "name": "Crier"}
CHANNEL = "19:it-outages@thread.tacv2"
THREAD = f"{CHANNEL};messageid=1700000000001"

# Teams people: (Teams id, name, Entra object id)
ANALYST = ("29:ana", "Ana Lyst", "00000000-0000-0000-0000-00000000a001")
APPROVER = ("29:alex", "Alex Approver", "00000000-0000-0000-0000-00000000a002")
APPROVER_2 = ("29:sam", "Sam Second", "00000000-0000-0000-0000-00000000a003")
OUTSIDER = ("29:olly", "Olly Outsider", "00000000-0000-0000-0000-00000000a004")
Person = tuple[str, str, str]


def teams_settings(**overrides: Any) -> Settings:
    """No Slack, and no MicrosoftAppId: Teams unauthenticated, which Crier allows only when told
    (``CRIER_TEAMS_UNAUTHENTICATED``) and only on this machine."""
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": None,
        "SLACK_SIGNING_SECRET": None,
        "MicrosoftAppId": "",
        "MicrosoftAppPassword": "",
        "CRIER_TEAMS_UNAUTHENTICATED": True,
        "CRIER_PUBLIC_URL": "http://crier.test",
    }
    return Settings(**{**values, **overrides})


def find_action(card: JsonDict, title: str) -> JsonDict:
    """The action with this title, in the card's actions or any ActionSet."""
    stack: list[Any] = [card]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type", "").startswith("Action.") and node.get("title") == title:
                return node
            stack += list(node.values())
        elif isinstance(node, list):
            stack += node
    raise AssertionError(f"no {title!r} action in {json.dumps(card)[:400]}")


def texts(card: JsonDict) -> str:
    """Everything a card says, as one searchable string."""
    return json.dumps(card, ensure_ascii=False)


@dataclass
class TeamsHarness:
    crier: Crier
    connector: FakeBotConnector
    http: aiohttp.ClientSession
    url: str
    responses: list[JsonDict] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _activity(self, person: Person, conversation: str, **fields: Any) -> JsonDict:
        teams_id, name, aad = person
        return {
            "id": f"f:{next(self._ids)}",
            "channelId": "msteams",
            "serviceUrl": self.connector.service_url,
            "timestamp": "2026-01-15T19:45:00.000Z",
            "from": {"id": teams_id, "name": name, "aadObjectId": aad},
            "recipient": dict(BOT),
            "conversation": {
                "id": conversation,
                "conversationType": "channel",
                "tenantId": TENANT,
                "isGroup": True,
            },
            "channelData": {"tenant": {"id": TENANT}, "channel": {"id": CHANNEL}},
            **fields,
        }

    async def post(self, activity: JsonDict) -> tuple[int, str]:
        async with self.http.post(self.url, json=activity) as response:
            return response.status, await response.text()

    async def say(self, text: str, *, user: Person, conversation: str = THREAD) -> int:
        """A message to the bot, @mentioning it as Teams does in a channel."""
        mention = "<at>Crier</at>"
        activity = self._activity(
            user,
            conversation,
            type="message",
            text=f"{mention} {text}",
            textFormat="plain",
            entities=[{"type": "mention", "text": mention, "mentioned": dict(BOT)}],
        )
        status, _ = await self.post(activity)
        await self.crier.core.settle()  # a message is queued (202), then answered by the runner
        return status

    async def invoke(
        self,
        message_id: str,
        title: str,
        *,
        user: Person,
        inputs: dict[str, str] | None = None,
        card: JsonDict | None = None,
    ) -> JsonDict:
        """Press ``title`` on a message's card (or on ``card``, a view only this person has);
        returns the invoke response's body."""
        shown = card if card is not None else self.connector.card(message_id)
        action = find_action(shown, title)
        data = {**action.get("data", {}), **(inputs or {})}
        activity = self._activity(
            user,
            self.connector.conversations.get(message_id, THREAD),
            type="invoke",
            name="adaptiveCard/action",
            replyToId=message_id,
            value={
                "action": {"type": "Action.Execute", "verb": action["verb"], "data": data},
                "trigger": "manual",
            },
        )
        status, body = await self.post(activity)
        assert status == 200, body
        answer: JsonDict = json.loads(body)
        assert answer["statusCode"] == 200, answer
        return answer

    async def click(
        self,
        message_id: str,
        title: str,
        *,
        user: Person,
        inputs: dict[str, str] | None = None,
        card: JsonDict | None = None,
    ) -> JsonDict:
        """Press a button whose answer is a card: the card the person sees now."""
        answer = await self.invoke(message_id, title, user=user, inputs=inputs, card=card)
        assert answer["type"] == "application/vnd.microsoft.card.adaptive", answer
        check_card(answer["value"])
        self.responses.append(answer["value"])
        return dict(answer["value"])

    async def settle(self) -> None:
        """Let the publisher and the chat updates finish what they started."""
        await settle(self.crier.core)

    def cards_are_valid(self) -> None:
        for card in self.connector.all_cards() + self.responses:
            check_card(card)

    def card_posts(self, conversation: str = THREAD) -> list[ConnectorCall]:
        return [c for c in self.connector.posts(conversation) if c.cards]

    def root_id(self) -> str:
        roots = [c for c in self.card_posts() if "Post update" in texts(c.cards[0])]
        if roots:
            return roots[-1].id
        raise AssertionError("no incident card was posted")

    def draft_ids(self, conversation: str = THREAD) -> list[str]:
        """Messages holding drafts, oldest first."""
        return [c.id for c in self.card_posts(conversation) if "revision" in texts(c.cards[0])]


async def start_teams(
    *,
    store: Store,
    config: CrierConfig,
    connector: FakeBotConnector,
    http: aiohttp.ClientSession,
    clock: Clock | None = None,
    credentials: NetworkCredentials | None = None,
    background: bool = True,
    settings: Settings | None = None,
) -> tuple[TeamsHarness, web.AppRunner]:
    """``credentials``: the networks' (pointed at fakes in ``config``); else the outbox.
    ``background=False``: no publishing and scheduling loops; the test runs them (``tick``).
    ``settings``: other than ``teams_settings()`` (a MicrosoftAppId, say)."""
    settings = settings or teams_settings()
    crier = build_crier(
        settings=settings, config=config, store=store, clock=clock, credentials=credentials
    )
    crier.runs_background = background
    runner = web.AppRunner(crier.web)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    harness = TeamsHarness(
        crier=crier, connector=connector, http=http, url=f"http://{host}:{port}/api/messages"
    )
    return harness, runner
