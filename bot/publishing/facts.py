"""What each publisher relies on about its network's API, in one place, with the date it was last
checked.

Every network's module has a ``FACTS = ApiFacts(…)`` near its top: the API it calls and its
version, the limits Crier checks before sending, how a retry is kept from posting twice, and the
network's rate limits. They come from the networks' documentation as gathered in the project's
PLATFORMS notes; when a network changes, correct ``FACTS`` and the code beside it together, and
move ``checked`` to the day you looked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.config import Network


@dataclass(frozen=True)
class ApiFacts:
    network: Network
    checked: str  # ISO date these were last compared with the network's documentation
    api: str  # what Crier calls, and which version
    limits: str  # text and media limits
    idempotency: str  # what stops a retry from posting twice (or why nothing does)
    rate_limits: str  # the network's limits on requests, and how they are answered

    def __post_init__(self) -> None:
        date.fromisoformat(self.checked)  # a date, or a ValueError at import

    def lines(self) -> list[str]:
        """For people: one line per fact."""
        return [
            f"API: {self.api}",
            f"limits: {self.limits}",
            f"idempotency: {self.idempotency}",
            f"rate limits: {self.rate_limits}",
            f"last checked: {self.checked}",
        ]
