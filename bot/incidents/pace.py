"""How often one person may declare: a limit per person, not a queue that turns everyone away.

A stuck key, a script or a panicking person sending ``/outage`` again and again is told to wait,
with the count; everyone else's declarations and every decision go on. The count is per process:
replicas behind a load balancer each allow the limit, which still stops a runaway sender.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from bot.errors import CrierError
from bot.ports import Actor, Clock

WINDOW = timedelta(minutes=1)


class TooFast(CrierError):
    pass


class DeclarationPace:
    def __init__(self, *, most: int, clock: Clock) -> None:
        self._most = most
        self._clock = clock
        self._recent: dict[str, deque[datetime]] = {}

    def note(self, actor: Actor) -> None:
        """Count a declaration by ``actor``; raises TooFast (nothing counted) over the limit."""
        now = self._clock.now()
        recent: deque[datetime] = self._recent.setdefault(actor.key, deque())
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        if len(recent) >= self._most:
            raise TooFast(
                f"You have declared {len(recent)} incidents in the last minute, the most Crier "
                "takes from one person, so this one was not saved. `/outage list` shows what "
                "was; try again in a minute if this one is new."
            )
        recent.append(now)
        # Forget people who have not declared for a while, so the table stays small.
        if len(self._recent) > 1000:
            for key in [k for k, q in self._recent.items() if not q or q[-1] <= now - WINDOW]:
                del self._recent[key]
