"""The status site kept in memory: built once per public change, not once per request.

Every request asks ``current()``. At most every ``check_seconds`` one of them reads the site's
marker (one cheap query) and rebuilds only when it moved; the others answer from memory::

    cache = SiteCache(store=store, config=config, clock=SystemClock(),
                      site_url="https://crier.example.edu/status/")
    build = await cache.current()
    cache.changed()  # a site delivery was just sent here: the next request looks at once

Other replicas see a publish within ``check_seconds``, without any message between them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.config import CrierConfig
from bot.ports import Clock
from bot.site.build import SiteBuild, build_site, site_marker
from bot.storage.store import Store

log = logging.getLogger(__name__)


class SiteCache:
    """The current ``SiteBuild`` of one process; safe to share between concurrent requests."""

    def __init__(
        self,
        *,
        store: Store,
        config: CrierConfig,
        clock: Clock,
        site_url: str,
        logo_url: str | None = None,
        subscribe: bool = False,
        check_seconds: float = 0.5,
    ) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.site_url, self.logo_url = site_url, logo_url
        self.subscribe = subscribe  # the pages link the email form
        self.check_every = timedelta(seconds=check_seconds)
        self.builds = 0  # how many times the site was built (for tests and metrics)
        self._build: SiteBuild | None = None
        self._built_for: tuple[object, ...] | None = None
        self._checked_at: datetime | None = None  # None: check at the next request
        # One refresh at a time: callers that arrive during a rebuild share it, not N of them.
        self._refreshing = asyncio.Lock()

    async def current(self) -> SiteBuild:
        """The site as it stands, rebuilt first if the database says it changed.

        While one caller rebuilds, the others answer with the previous build (a publish is
        seen a moment later, and a crowd never waits on the database); before the first build
        they wait for it. If the database cannot be read, the last build is kept: the status
        page stays up when the database does not."""
        if self._build is None or self._check_due():
            async with self._refreshing:
                if self._build is None or self._check_due():
                    await self._refresh()
        assert self._build is not None
        return self._build

    def changed(self) -> None:
        """Something public changed in this process: the next ``current()`` checks at once."""
        self._checked_at = None

    def _check_due(self) -> bool:
        return self._checked_at is None or self.clock.now() - self._checked_at >= self.check_every

    async def _refresh(self) -> None:
        # Stamped before reading, so a ``changed()`` during the refresh is not lost.
        now = self._checked_at = self.clock.now()
        try:
            # The day is part of the key: "the last 90 days" moves on even when nothing is
            # published. The marker is read before the build, so a change that lands between
            # the two makes the next check build again, never keeps a stale page.
            key = (await self.store.read(site_marker), self._today(now))
            if self._build is not None and key == self._built_for:
                return
            build = await self.store.read(lambda session: self._build_site(session, now))
        except Exception:
            if self._build is None:
                raise
            log.exception("status site: cannot refresh; still serving the last build")
            return
        self._build, self._built_for = build, key
        self.builds += 1

    def _today(self, now: datetime) -> date:
        return now.astimezone(self.config.organisation.zone).date()

    def _build_site(self, session: Session, now: datetime) -> SiteBuild:
        return build_site(
            session,
            config=self.config,
            now=now,
            site_url=self.site_url,
            logo_url=self.logo_url,
            subscribe=self.subscribe,
        )
