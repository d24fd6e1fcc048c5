"""Who may approve: the users and groups named in crier.yml, per chat platform.

Group membership comes from the platform's ``Directory`` and is cached briefly, so a burst of
clicks asks Slack once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from bot.config import Approvals
from bot.errors import NotAllowed
from bot.ports import Actor, Directory

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 60.0


class ApproverPolicy:
    def __init__(self, rules: Approvals, directories: Mapping[str, Directory]) -> None:
        self._rules = rules
        # The chat handlers register their directories after the core is built: keep the map.
        self._directories = directories
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    async def is_approver(self, actor: Actor) -> bool:
        if actor.platform == "slack":
            if actor.user_id in self._rules.slack_users:
                return True
            group = self._rules.slack_usergroup
            return bool(group) and actor.user_id in await self._members("slack", group or "")
        if actor.platform == "teams":
            return actor.user_id in self._rules.teams_users
        return False

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
