"""Instagram's fake is the Graph API fake (``FakeGraph``), which serves Facebook Pages and
Instagram alike. ``CardServer`` runs Crier's own ``/cards/…`` route on 127.0.0.1 (port 0), so the
fake can fetch the status card the way Instagram fetches it from ``CRIER_PUBLIC_URL``."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
from aiohttp import web

from bot.settings import Settings
from handlers.server import CORE_KEY, card_image
from tests.fakes.networks.facebook import FakeGraph

FakeInstagram = FakeGraph


class CardServer:
    """``async with CardServer(settings) as cards: cards.base_url`` serves the cards folder."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> CardServer:
        app = web.Application()
        app[CORE_KEY] = SimpleNamespace(settings=self._settings)  # type: ignore[misc]
        app.router.add_get("/cards/{name:[0-9a-f]{32}}.{ext:png|jpg}", card_image)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @staticmethod
    async def get(url: str) -> tuple[int, str, bytes]:
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), await answer.read()


__all__ = ["CardServer", "FakeInstagram"]
