"""Who may approve: the users and groups named in crier.yml, per chat platform; and the gate
that every action with a public effect passes (``Gate.check``).

Group membership comes from the platform's ``Directory`` and is cached briefly, so a burst of
clicks asks Slack once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Approvals, Severity
from bot.drafting.post_times import format_time
from bot.errors import NotAllowed
from bot.incidents.approvals import Asked
from bot.ports import Actor, Clock, Directory
from bot.storage import audit
from bot.storage.models import PostKind
from bot.storage.store import Store

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 60.0


class ApproverPolicy:
    def __init__(self, rules: Approvals, directories: Mapping[str, Directory]) -> None:
        self._rules = rules
        # The chat handlers register their directories after the core is built: keep the map.
        self._directories = directories
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    async def is_approver(self, actor: Actor) -> bool:
        named = {"slack": self._rules.slack_users, "teams": self._rules.teams_users}
        if actor.user_id in named.get(actor.platform, ()):
            return True
        group = self._rules.slack_usergroup if actor.platform == "slack" else None
        return bool(group) and actor.user_id in await self._members("slack", group or "")

    async def _members(self, platform: str, group_id: str) -> frozenset[str]:
        directory = self._directories.get(platform)
        if directory is None:
            return frozenset()
        cached = self._cache.get((platform, group_id))
        if cached and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            members = await directory.group_members(group_id)
        except Exception as exc:
            log.warning("approver group %s could not be read: %s", group_id, exc)
            raise NotAllowed(
                f"Crier could not read the approvers' group ({group_id}) just now, so it cannot "
                "check who may approve. Try again in a minute; if it persists, check "
                "approvals.slack_usergroup in crier.yml and the usergroups:read scope."
            ) from exc
        self._cache[(platform, group_id)] = (time.monotonic(), members)
        return members


OWN = "You drafted this, so another approver needs to approve it."


def emergency_opens(rules: Approvals, actor: Actor, asked: Asked) -> datetime | None:
    """When ``actor`` may publish this draft alone by the emergency rule: a sev1 incident's
    first post, waiting ``after_minutes`` unanswered, by someone named in
    ``approvals.emergency``. None if the rule never applies to them or to it."""
    emergency = rules.emergency
    named = {"slack": emergency.slack_users, "teams": emergency.teams_users}
    if actor.user_id not in named.get(actor.platform, ()):
        return None
    if asked.severity != Severity.SEV1 or asked.kind != PostKind.INITIAL:
        return None
    return asked.requested_at + timedelta(minutes=emergency.after_minutes)


@dataclass
class Gate:
    """Only approvers make things public: approving a draft or a calendar post, retrying or
    confirming a delivery, posting (or skipping) a held calendar post. The core calls ``check``
    before each, whichever chat (or the CLI) the click came from.

    A refusal is written to the audit log (``<action>_refused``, with the reason) and to the
    log, and raised as ``NotAllowed`` with a message for the person who acted."""

    policy: ApproverPolicy
    rules: Approvals
    store: Store
    clock: Clock
    zone: ZoneInfo  # the organisation's: a refusal names a time as people there read it

    async def check_approval(self, actor: Actor, asked: Asked, *, post_id: int) -> bool:
        """``check`` for approving a draft, with the emergency rule (``approvals.emergency``):
        True when ``actor`` may publish it only by that rule (no approver answered in time);
        before then the refusal says from when they may."""
        opens = emergency_opens(self.rules, actor, asked)
        late = opens is not None and self.clock.now() >= opens
        if late and await self._refusal(actor, author=asked.requested_by) is not None:
            return True
        wait = ""
        if opens is not None:
            wait = (
                " As a sev1's first post it is yours to publish alone (approvals.emergency) "
                f"if no approver has answered by {format_time(opens, self.zone)}."
            )
        await self.check(
            actor,
            action="approve",
            refusal="Only approvers can approve public posts. "
            "Ask one of the approvers in this thread." + wait,
            own=OWN + wait,
            author=asked.requested_by,
            incident_id=asked.incident_id,
            post_id=post_id,
        )
        return False

    async def _refusal(self, actor: Actor, *, author: str | None) -> str | None:
        """Why ``check`` would refuse ``actor`` (nothing audited); None if it would pass them."""
        if not await self.policy.is_approver(actor):
            return "not an approver"
        if author is not None and author == actor.key and not self.rules.allow_self_approval:
            return "own draft"
        return None

    async def check(
        self,
        actor: Actor,
        *,
        action: str,
        refusal: str,
        author: str | None = None,
        own: str = OWN,
        incident_id: int | None = None,
        post_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Pass an approver; refuse anyone else, and ``author`` (the actor key of whoever wrote
        what is being approved) unless ``approvals.allow_self_approval`` is on."""
        reason = await self._refusal(actor, author=author)
        if reason is not None:
            await self.refuse(
                actor,
                action=action,
                reason=reason,
                message=refusal if reason == "not an approver" else own,
                incident_id=incident_id,
                post_id=post_id,
                detail=detail,
            )

    async def refuse(
        self,
        actor: Actor,
        *,
        action: str,
        reason: str,
        message: str,
        incident_id: int | None = None,
        post_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Audit and log a refusal, then raise it for the person."""
        at = self.clock.now()
        await self.store.run(
            lambda s: audit.record(
                s,
                actor=actor,
                action=f"{action}_refused",
                incident_id=incident_id,
                post_id=post_id,
                at=at,
                detail={**(detail or {}), "reason": reason},
            )
        )
        log.warning(
            "refused %s by %s: %s%s",
            action,
            actor.key,
            reason,
            f" ({', '.join(f'{k}={v}' for k, v in (detail or {}).items())})" if detail else "",
        )
        raise NotAllowed(message)
