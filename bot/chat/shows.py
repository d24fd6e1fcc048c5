"""Telling every chat platform what changed: a post's message, an incident's root, a reminder,
a calendar post, a notice.

Each chat platform is a presenter (``bot.ports.ChatPresenter``); one failing must not keep the
others from showing the news, so each call's failure is logged and the rest go on.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.config import CrierConfig, Network
from bot.incidents.readers import incident_of, incident_view, load_post, post_view
from bot.listening.answers import AnswerView
from bot.listening.views import HeardBatch, SpikeAlert
from bot.maintenance.series import MaintenanceShown
from bot.ports import ChatPresenter, Clock, Publisher
from bot.scheduling.calendar import CalendarBatch, CalendarEntry
from bot.storage.models import Post
from bot.storage.store import Store
from bot.views import IncidentView, Notice, PostView, Reminder

log = logging.getLogger(__name__)


@dataclass
class ChatShows:
    store: Store
    config: CrierConfig
    clock: Clock
    presenters: dict[str, ChatPresenter]  # the core's, one per chat platform
    publishers: Mapping[Network, Publisher]  # for each delivery's label ("outbox", "X")
    # One lock per post being shown, gone once nobody holds or waits for it.
    _showing: weakref.WeakValueDictionary[int, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary, init=False, repr=False
    )

    def view_of(self, session: Session, post: Post) -> PostView:
        labels = {n.value: p.label for n, p in self.publishers.items()}
        return post_view(session, self.config, post, publisher_labels=labels)

    async def post(self, post_id: int) -> None:
        """Refresh a post (and its incident) in every chat that shows the incident.

        One post's refreshes come from concurrent deliveries and decisions: they run one at a
        time, each reading the newest state once it has its turn, so an older view never
        replaces a newer one and the presenters need not read the post again."""

        def both(session: Session) -> tuple[PostView, IncidentView]:
            incident, post = load_post(session, post_id)
            return self.view_of(session, post), incident_view(self.config, incident)

        if not self.presenters:  # no chat here (a worker without Slack or Teams): nothing to read
            return
        turn = self._showing.setdefault(post_id, asyncio.Lock())
        async with turn:
            post, incident = await self.store.read(both)
            await self._to_all([p.show_post(incident, post) for p in self.presenters.values()])

    async def incident(self, incident_id: int) -> None:
        if not self.presenters:
            return
        incident = await self.incident_view(incident_id)
        await self._to_all([p.show_incident(incident) for p in self.presenters.values()])

    async def reminder(self, incident_id: int, reminder: Reminder) -> None:
        """Post a reminder wherever the incident is shown."""
        incident = await self.incident_view(incident_id)
        calls = [p.remind(incident, reminder) for p in self.presenters.values()]
        await self._to_one_at_least(calls, f"the reminder for incident #{incident_id}")

    async def calendar(self, entry: CalendarEntry, where: str | None) -> None:
        """Show a proposed calendar post to the approvers in every chat."""
        author_platform = entry.created_by.partition(":")[0]
        calls = [
            p.show_calendar(entry, where=where if p.platform == author_platform else None)
            for p in self.presenters.values()
        ]
        await self._to_one_at_least(calls, f"scheduled post #{entry.id}")

    async def calendar_batch(self, batch: CalendarBatch) -> None:
        """Show a batch of a recurring series' drafted posts to the approvers in every chat:
        one message, each post with *Approve* and *Skip*, and *Approve all*."""
        calls = [p.show_calendar_batch(batch) for p in self.presenters.values()]
        await self._to_one_at_least(calls, f"batch #{batch.id} of the content calendar")

    async def maintenance(self, shown: MaintenanceShown, where: str | None) -> None:
        """Show a maintenance (for approval, or past its end) in every chat; ``where``: the
        channel it was planned from, for the chat of whoever planned it."""
        planner_platform = shown.maintenance.created_by.partition(":")[0]
        calls = [
            p.show_maintenance(shown, where=where if p.platform == planner_platform else None)
            for p in self.presenters.values()
        ]
        await self._to_one_at_least(calls, f"maintenance #{shown.maintenance.id}")

    async def notice(self, notice: Notice) -> None:
        """Post a notice in every chat's comms channel, outside any incident."""
        calls = [p.show_notice(notice) for p in self.presenters.values()]
        await self._to_one_at_least(calls, f"the notice “{notice.title}”")

    async def heard(self, batch: HeardBatch) -> None:
        """New replies to an incident's posts, in its conversation in every chat."""
        incident = await self.incident_view(batch.incident_id)
        calls = [p.show_heard(incident, batch) for p in self.presenters.values()]
        await self._to_one_at_least(calls, f"the replies heard for incident #{batch.incident_id}")

    async def spike(self, alert: SpikeAlert) -> None:
        """A surge of mentions: in the thread of the service's open incident, else in the comms
        channel, in every chat."""
        incident = None
        if alert.incident_id is not None:
            incident = await self.incident_view(alert.incident_id)
        calls = [p.show_spike(alert, incident) for p in self.presenters.values()]
        await self._to_one_at_least(calls, f"the surge of mentions of {alert.service}")

    async def answer(self, answer: AnswerView) -> None:
        """A public answer to something heard, in the conversation of its incident (for its
        approval, then its outcome), in every chat."""
        incident = None
        if answer.incident_id is not None:
            incident = await self.incident_view(answer.incident_id)
        calls = [p.show_answer(answer, incident) for p in self.presenters.values()]
        await self._to_one_at_least(calls, f"answer #{answer.id}")

    async def incident_view(self, incident_id: int) -> IncidentView:
        """The incident as chat shows it (NotFound if there is none)."""
        return await self.store.read(
            lambda s: incident_view(self.config, incident_of(s, incident_id))
        )

    async def _to_one_at_least(self, calls: list[Coroutine[Any, Any, None]], what: str) -> None:
        """Tell every chat; if none could be told, fail, so the job (or the caller) tries
        again rather than taking it as said. (If one chat got it, a retry would tell that one
        twice.)"""
        if calls and len(await self._to_all(calls)) == len(calls):
            raise RuntimeError(f"no chat could show {what}")

    async def _to_all(self, calls: list[Coroutine[Any, Any, None]]) -> list[Exception]:
        """Tell every chat; returns the failures, each already logged."""
        failures = []
        for outcome in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("a chat presenter failed: %s", outcome, exc_info=outcome)
                failures.append(outcome)
        return failures
