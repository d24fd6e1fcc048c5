"""How much listening may ask each network, shared by every process on the database: a budget per
network (``BUDGETS``, well under its documented limit, since publishing uses the same account),
a budget of its own for an ask kind the network counts apart (``OWN_BUDGETS``: X's mentions),
each poll's share of them (so a window's budget is not spent in its first polls), the network's
own word on its limit (a page that says few requests are left, or a 429, holds that budget until
the time it gives), and X's monthly read budget (X charges for each post read).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlmodel import Session

from bot.config import CrierConfig, Network
from bot.listening.heard import Page, Sweep
from bot.ports import Clock, PublishError
from bot.publishing.pacing import Pacer
from bot.storage.models import ListenMark
from bot.storage.store import Store

log = logging.getLogger(__name__)

# Requests left in a network's window below which listening stops until it resets: what is left
# is the publishers'.
RESERVE = 5
# Each network's listening budget: (requests, window). Well under the documented limits
# (Mastodon 300 / 5 min per account, Bluesky's AppView 3,000 / 5 min, Graph 200 / hour per
# user, X recent search 60 / 15 min on the lowest tier), since publishing shares them.
BUDGETS: dict[Network, tuple[int, timedelta]] = {
    Network.MASTODON: (100, timedelta(minutes=5)),
    Network.BLUESKY: (300, timedelta(minutes=5)),
    Network.FACEBOOK: (100, timedelta(hours=1)),
    Network.X: (30, timedelta(minutes=15)),
}
# Ask kinds a network counts against a limit of their own, apart from its ``BUDGETS``: (requests,
# window), half the documented limit. X's mentions timeline allows 10 requests / 15 min per user
# on Basic (recent search 60): asked a minute, it would be refused and hold all of X's reading.
# Such a budget's requests go evenly spaced (window ÷ requests apart: X's mentions every 3 min),
# never more than ``requests`` in any window, so it is not spent in a window's first polls.
OWN_BUDGETS: dict[tuple[Network, str], tuple[int, timedelta]] = {
    (Network.X, "mentions"): (5, timedelta(minutes=15)),
}
NETWORK_WIDE = ""  # the kind of every ask that draws on its network's ``BUDGETS``


class BudgetSpent(Exception):
    """This poll has used what it may: the rest waits for the next."""


class ShareSpent(BudgetSpent):
    """One budget of the network (its own, or an ask kind's) has no more room this poll: the
    asks on its other budgets go on."""


@dataclass
class Share:
    """What is left of one poll's share of a budget (the network's, or an ask kind's own), in
    requests; its pacer; and until when the network refused it for rate (a 429), if it did."""

    pacer: Pacer
    left: int
    kind: str = NETWORK_WIDE
    held_until: datetime | None = None


def budget_kind(network: Network, what: str) -> str:
    """Which budget an ask of kind ``what`` draws on: its own, or ``NETWORK_WIDE``."""
    return what if (network, what) in OWN_BUDGETS else NETWORK_WIDE


Answer = TypeVar("Answer", Page, Sweep)


@dataclass
class Budgets:
    """Each network's budgets and their pacers; ``ask`` makes one source call within them."""

    store: Store
    config: CrierConfig
    clock: Clock

    def __post_init__(self) -> None:
        self._pacers: dict[tuple[Network, str], Pacer] = {
            (network, NETWORK_WIDE): self._pacer(network, limit, window)
            for network, (limit, window) in BUDGETS.items()
        }
        for (network, what), (limit, window) in OWN_BUDGETS.items():
            # One request per ``window / limit``: the same ceiling, evenly spread.
            self._pacers[network, what] = self._pacer(network, 1, window / limit, what)

    def _pacer(
        self, network: Network, limit: int, window: timedelta, what: str = NETWORK_WIDE
    ) -> Pacer:
        """A budget's pacer, shared by every process on the database: ``listen:x`` for the
        network's, ``listen:x:mentions`` for an ask kind's own."""
        return Pacer(
            limit=limit,
            window=window,
            clock=self.clock,
            max_wait=timedelta(0),  # never wait in a poll: the next poll goes on
            name=" ".join(filter(None, ["reading", network.value, what])),
            store=self.store,
            key=":".join(filter(None, ["listen", network.value, what])),
        )

    def may_read(self, network: Network) -> bool:
        """X only within a monthly read budget (X charges per post read); the others always."""
        if network is not Network.X:
            return True
        channel = self.config.channels.get(Network.X)
        return channel is not None and bool(channel.monthly_read_budget)

    def shares(self, network: Network) -> dict[str, Share]:
        """A poll's shares, by budget kind: the network's, and each ask kind's own."""
        budgets = {NETWORK_WIDE: BUDGETS[network]}
        budgets |= {what: budget for (n, what), budget in OWN_BUDGETS.items() if n is network}
        return {
            kind: Share(self._pacers[network, kind], self._per_poll(limit, window), kind)
            for kind, (limit, window) in budgets.items()
        }

    def _per_poll(self, limit: int, window: timedelta) -> int:
        """A poll's share of a budget: its window's requests spread over the polls in it, so a
        window's budget is not all spent in its first minutes (Facebook's hour in four minutes,
        then nothing read for fifty-six)."""
        every = timedelta(minutes=self.config.listening.every_minutes)
        return max(1, math.ceil(limit * min(every / window, 1)))

    async def ask(
        self, network: Network, call: Callable[[], Awaitable[Answer]], share: Share
    ) -> Answer:
        """One source call (a page, or a sweep of several posts) within the poll's share and
        the budget it draws on (``share``: the network's, or its ask kind's own); its word on
        its limit obeyed, and every request it made counted (a call may follow several pages).
        What it read is kept even when the network says its window is nearly spent: that
        budget's asks stop at the next call. A 429 holds that budget's pacer until the network's
        time, and ``ShareSpent`` says that budget is done for this poll."""
        pacer = share.pacer
        if share.left <= 0:
            raise ShareSpent
        if network is Network.X and not await self.store.run(self._x_reads_left):
            raise BudgetSpent
        try:
            await pacer.wait()
        except PublishError as exc:
            share.left = 0
            raise ShareSpent from exc
        try:
            answer = await call()
        except PublishError as exc:
            if not exc.rate_limited:
                raise
            share.left = 0
            if exc.retry_at is not None:
                await pacer.hold_until(exc.retry_at)
                share.held_until = exc.retry_at
            what = " ".join(filter(None, [network.value, share.kind]))
            log.warning("reading %s stopped for this poll: %s", what, exc.message)
            raise ShareSpent from exc
        share.left -= max(answer.requests, 1)
        await pacer.spent(answer.requests - 1)  # the pages it followed beyond the first
        if network is Network.X:
            posts = _posts_read(answer)
            await self.store.run(lambda s: self._count_x_reads(s, posts))
        if answer.remaining is not None and answer.remaining <= RESERVE and answer.reset_at:
            await pacer.hold_until(answer.reset_at)
            share.left = 0
        return answer

    # --- X's monthly read budget --------------------------------------------------------------

    def _x_month_key(self) -> str:
        return f"x:reads:{self.clock.now().astimezone(UTC):%Y-%m}"

    def _x_reads_left(self, session: Session) -> bool:
        channel = self.config.channels.get(Network.X)
        budget = channel.monthly_read_budget if channel is not None else None
        mark = session.get(ListenMark, self._x_month_key())
        read = int(mark.cursor or 0) if mark is not None else 0
        return bool(budget) and read < (budget or 0)

    def _count_x_reads(self, session: Session, posts: int) -> None:
        key = self._x_month_key()
        mark = session.get(ListenMark, key, with_for_update=True) or ListenMark(key=key)
        mark.cursor = str(int(mark.cursor or 0) + posts)  # the month's posts read so far
        mark.at = self.clock.now()
        session.add(mark)


def _posts_read(answer: Page | Sweep) -> int:
    """The posts a call was given (X bills each), those a sweep dropped included."""
    if isinstance(answer, Sweep):
        return sum(len(page.items) for page in answer.pages.values()) + answer.dropped
    return len(answer.items)
