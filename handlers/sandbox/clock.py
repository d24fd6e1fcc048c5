"""The sandbox's clock: the real time plus however far the person jumped ahead.

Crier's core takes its time from one injectable clock, so jumping ahead here makes the
scheduler see reminders come due, without anything in Crier knowing it is a sandbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_JUMP = timedelta(days=7)


class JumpingClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump(self, minutes: int) -> timedelta:
        """Move ahead (never back: reminders already fired cannot be undone)."""
        step = timedelta(minutes=max(0, minutes))
        self.offset = min(self.offset + step, MAX_JUMP * 4)
        return self.offset
