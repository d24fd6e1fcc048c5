"""Telling the chats what was heard: a batch of new replies for an incident's thread (each
when few, summed up when many), and a surge of mentions of a service, checked in the transaction
that kept them and alerted once per ``listening.spike.quiet_minutes``. Both are jobs written in
that transaction (``listen_show``, ``listen_spike``), so nothing kept is left untold.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.listening import spikes
from bot.listening.mood import Mood, summary
from bot.listening.topics import burst_line, mostly_about
from bot.listening.views import HeardBatch, HeardView, SpikeAlert
from bot.ports import Clock
from bot.scheduling import jobs
from bot.scheduling.jobs import JobHandler, JobRun
from bot.storage.models import HeardPost, Incident, ListenMark
from bot.storage.store import Store

SHOW = "listen_show"
SPIKE = "listen_spike"


def show_later(session: Session, incident_id: int, ids: list[int], *, now: datetime) -> None:
    """In the transaction that kept them: show these new replies in the incident's thread."""
    jobs.schedule(
        session,
        kind=SHOW,
        key=f"{SHOW}:{incident_id}:{ids[0]}",
        due_at=now,
        incident_id=incident_id,
        payload={"incident_id": incident_id, "heard": ids},
    )


def check_spike(session: Session, config: CrierConfig, service: str, *, now: datetime) -> None:
    """In the transaction that kept new mentions of ``service``: when they surge (and no alert
    was given for it within ``quiet_minutes``), write the job that alerts."""
    rules = config.listening.spike
    window = timedelta(minutes=rules.window_minutes)
    since = now - spikes.BUCKET * spikes.DAY_OF_BUCKETS - window
    rows = session.exec(
        select(HeardPost).where(
            HeardPost.service == service,
            HeardPost.kind == "mention",
            col(HeardPost.created_at) > since,
        )
    ).all()
    window_starts = spikes.bucket_start(now) - window + spikes.BUCKET
    before = spikes.count_buckets(r.created_at for r in rows if r.created_at < window_starts)
    recent = spikes.count_buckets(r.created_at for r in rows if r.created_at >= window_starts)
    usual = spikes.baseline(before, until=window_starts)
    latest = [r for r in rows if r.created_at >= window_starts]
    spike = spikes.detect(
        service,
        recent,
        usual,
        now=now,
        ratio=rules.ratio,
        min_posts=rules.min_posts,
        window_minutes=rules.window_minutes,
        heard=[(r.text, Mood(r.mood)) for r in latest],
    )
    if spike is None:
        return
    key = f"spike:{service}"
    mark = session.get(ListenMark, key, with_for_update=True)
    if not spikes.should_alert(
        mark.at if mark is not None else None, now, quiet_minutes=rules.quiet_minutes
    ):
        return
    session.merge(ListenMark(key=key, at=now))
    examples = sorted(latest, key=lambda r: (r.mood, r.id or 0))[:3]
    jobs.schedule(
        session,
        kind=SPIKE,
        key=f"{SPIKE}:{service}:{now.isoformat()}",
        due_at=now,
        payload={
            "service": service,
            "sentence": spikes.spike_line(spike),
            "examples": [r.id for r in examples],
        },
    )


# --- showing -----------------------------------------------------------------------------


@dataclass
class Telling:
    """The jobs that show what was heard, in every chat (``ChatShows.heard`` and ``.spike``)."""

    store: Store
    config: CrierConfig
    clock: Clock
    show_heard: Callable[[HeardBatch], Awaitable[None]]
    show_spike: Callable[[SpikeAlert], Awaitable[None]]

    def handlers(self) -> dict[str, JobHandler]:
        return {SHOW: self.show, SPIKE: self.spike}

    async def show(self, run: JobRun) -> str:
        """One incident's new replies, to its thread: each when few, summed up when many."""
        incident_id = int(run.payload.get("incident_id", 0))
        ids = [int(i) for i in run.payload.get("heard", [])]
        batch = await self.store.read(lambda s: self._batch(s, incident_id, ids))
        if batch is None:
            return "nothing to show"
        await self.show_heard(batch)
        now = self.clock.now()
        await self.store.run(lambda s: _mark_shown(s, ids, now))
        return f"showed {batch.count}"

    def _batch(self, session: Session, incident_id: int, ids: list[int]) -> HeardBatch | None:
        rows = session.exec(
            select(HeardPost)
            .where(col(HeardPost.id).in_(ids), col(HeardPost.shown_at).is_(None))
            .order_by(col(HeardPost.created_at), col(HeardPost.id))
        ).all()
        if not rows:
            return None
        views = [HeardView.of(row) for row in rows]
        moods = summary(v.mood for v in views)
        if len(views) <= self.config.listening.burst:
            return HeardBatch(
                incident_id=incident_id,
                count=len(views),
                items=tuple(views),
                negative_percent=moods.negative_percent,
            )
        incident = session.get(Incident, incident_id)
        known = self._known_terms(incident.service if incident is not None else None)
        about = mostly_about([v.text for v in views], known_terms=known)
        per_network: dict[str, int] = {}
        for view in views:
            per_network[view.network_label] = per_network.get(view.network_label, 0) + 1
        examples = sorted(views, key=lambda v: (v.mood.compound, v.id))[:3]
        return HeardBatch(
            incident_id=incident_id,
            count=len(views),
            items=tuple(examples),
            summary=burst_line(len(views), about, per_network),
            negative_percent=moods.negative_percent,
        )

    def _known_terms(self, service: str | None) -> list[str]:
        """What a burst may be "mostly about" before any phrase: another service, by its name
        (its own service, or the organisation, would say nothing new; aliases are often
        everyday words: "mail", "login")."""
        return [s.name for s in self.config.services if s.name != service]

    async def spike(self, run: JobRun) -> str:
        """A surge of mentions: to the comms channel, or the thread of the service's incident."""
        service = str(run.payload.get("service", ""))
        ids = [int(i) for i in run.payload.get("examples", [])]

        def read(session: Session) -> SpikeAlert:
            rows = session.exec(select(HeardPost).where(col(HeardPost.id).in_(ids))).all()
            open_incident = session.exec(
                select(Incident.id)
                .where(Incident.service == service, col(Incident.resolved_at).is_(None))
                .order_by(col(Incident.declared_at).desc())
            ).first()
            return SpikeAlert(
                service=service,
                sentence=str(run.payload.get("sentence", "")),
                examples=tuple(
                    HeardView.of(r) for r in sorted(rows, key=lambda r: (r.mood, r.id or 0))
                ),
                incident_id=open_incident,
            )

        alert = await self.store.read(read)
        await self.show_spike(alert)
        return "alerted"


def _mark_shown(session: Session, ids: list[int], now: datetime) -> None:
    for row in session.exec(select(HeardPost).where(col(HeardPost.id).in_(ids))).all():
        row.shown_at = row.shown_at or now
        session.add(row)
