"""How often one person may declare: a limit per person, not a queue that turns everyone away.

A stuck key, a script or a panicking person sending ``/outage`` again and again is told to wait,
with the count; everyone else's declarations and every decision go on. The count is per process:
replicas behind a load balancer each allow the limit, which still stops a runaway sender.
"""

from __future__ import annotations

from datetime import timedelta

from bot.errors import CrierError
from bot.limits import RollingLimit
from bot.ports import Actor, Clock

WINDOW = timedelta(minutes=1)


class TooFast(CrierError):
    pass


class DeclarationPace:
    def __init__(self, *, most: int, clock: Clock) -> None:
        self._recent = RollingLimit(most=most, window=WINDOW, clock=clock, keep_keys=1000)

    def note(self, actor: Actor) -> None:
        """Count a declaration by ``actor``; raises TooFast (nothing counted) over the limit."""
        if not self._recent.allow(actor.key):
            raise TooFast(
                f"You have declared {self._recent.count(actor.key)} incidents in the last "
                "minute, the most Crier takes from one person, so this one was not saved. "
                "`/outage list` shows what was; try again in a minute if this one is new."
            )
