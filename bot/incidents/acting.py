"""What every incident use case runs with: one transaction, crier.yml, who acts, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config import CrierConfig
from bot.ports import Actor
from bot.storage import audit


@dataclass(frozen=True)
class Acting:
    """One person's use case in one transaction (``bot.core`` makes one per change)::

    approvals.approve(Acting(session, config, actor, now), post_id=12)
    """

    session: Session
    config: CrierConfig
    actor: Actor
    now: datetime

    def record(
        self,
        action: str,
        *,
        incident_id: int | None,
        post_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Audit ``action`` as this person's, now, in this transaction."""
        audit.record(
            self.session,
            actor=self.actor,
            action=action,
            at=self.now,
            incident_id=incident_id,
            post_id=post_id,
            detail=detail,
        )
