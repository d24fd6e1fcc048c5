"""What each reminder says when it fires — if it still matters by then.

Every handler first reads the incident again: a reminder whose moment has passed (the update
was posted, the draft decided, the incident resolved) quietly ends instead of nagging.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.drafting.post_times import format_duration, promise_time
from bot.incidents.lifecycle import pending_draft
from bot.listening.record import reaction
from bot.ports import Clock
from bot.scheduling import reminders
from bot.scheduling.jobs import Again, JobHandler, JobRun
from bot.storage import audit
from bot.storage.models import (
    AuditEvent,
    Delivery,
    DeliveryState,
    Incident,
    Post,
    PostKind,
    PostState,
)
from bot.storage.store import Store
from bot.views import Reminder, ReminderAction

Notify = Callable[[int, Reminder], Awaitable[None]]


@dataclass(frozen=True)
class Situation:
    incident: Incident
    latest_public_post_id: int | None
    pending: Post | None
    latest_public_at: datetime | None = None


def _situation(session: Session, incident_id: int) -> Situation | None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    latest = session.exec(
        select(Post.id, Post.decided_at)
        .where(Post.incident_id == incident_id, Post.state == PostState.APPROVED)
        .order_by(col(Post.decided_at).desc())
    ).first()
    pending = pending_draft(session, incident_id=incident_id)
    latest_id, latest_at = latest if latest is not None else (None, None)
    return Situation(incident, latest_id, pending, latest_at)


def _snoozes(job_id: int, *minutes: int) -> tuple[ReminderAction, ...]:
    return tuple(ReminderAction("snooze", f"Snooze {m} min", f"{job_id}:{m}") for m in minutes)


def _incident_buttons(incident_id: int, *kinds: str) -> tuple[ReminderAction, ...]:
    labels = {"post_update": "Post update", "resolve": "Resolve"}
    return tuple(ReminderAction(kind, labels[kind], str(incident_id)) for kind in kinds)


@dataclass
class ReminderJobs:
    store: Store
    config: CrierConfig
    clock: Clock
    notify: Notify

    def handlers(self) -> dict[str, JobHandler]:
        return {
            reminders.NEXT_UPDATE: self.next_update,
            reminders.APPROVAL: self.approval,
            reminders.ALL_CLEAR: self.all_clear,
            reminders.STALE: self.stale,
            reminders.REVIEW: self.review,
            reminders.EMERGENCY: self.emergency,
        }

    def _time(self, at: datetime) -> str:
        """A time as read now: with its weekday when it is another day ("Tue 5:03 AM")."""
        return promise_time(self.clock.now(), at, self.config.organisation.zone)

    def _late(self, run: JobRun) -> str:
        if run.late_by < timedelta(minutes=2):
            return ""
        return (
            f" (This reminder is late: it was due at {self._time(run.due_at)}, "
            "while Crier was unavailable.)"
        )

    def _waiting(self, state: Situation) -> str:
        """When an update already waits for approval, that is the way to keep the promise."""
        if state.pending is None:
            return ""
        waited = format_duration(self.clock.now() - state.pending.requested_at)
        return (
            f" A draft has waited {waited} for approval in this thread: approving it keeps "
            "the promise."
        )

    async def _read(self, run: JobRun) -> Situation | str:
        """The incident now, or why a reminder about its latest public post (the payload's) no
        longer matters: the incident is closed, or a newer post went out."""
        incident_id = run.incident_id or 0
        state = await self.store.read(lambda s: _situation(s, incident_id))
        if state is None or state.incident.resolved_at is not None:
            return "incident closed"
        if state.latest_public_post_id != run.payload.get("post_id"):
            return "a newer post went out"
        return state

    async def next_update(self, run: JobRun) -> Again | str | None:
        now = self.clock.now()
        if isinstance(state := await self._read(run), str):
            return state
        promised = datetime.fromisoformat(str(run.payload["promised_at"]))
        incident_id = state.incident.id or 0
        waiting = state.pending is not None
        # With a draft waiting, *Post update* would only be refused: the draft is the way.
        post_update = () if waiting else _incident_buttons(incident_id, "post_update")
        warning = run.payload.get("stage") == "warning" and now < promised
        if warning:
            ask = self._waiting(state) or " Time to draft it?"
            said = f"The next public update is promised by {self._time(promised)}.{ask}"
        else:
            await self.store.run(lambda s: self._record_missed(s, run, now))
            said = (
                f"The update promised for {self._time(promised)} is overdue: people are "
                f"waiting to hear from us.{self._waiting(state)}"
            )
        await self.notify(
            incident_id,
            Reminder(
                kind="next_update" if warning else "update_overdue",
                text=said + self._late(run),
                mention_users=(state.incident.declared_by,),
                mention_comms_lead=not warning,
                mention_approvers=waiting,
                actions=post_update + _snoozes(run.id, *((15, 30) if warning else (15,))),
            ),
        )
        return Again(at=promised, payload={"stage": "overdue"}) if warning else "overdue"

    def _record_missed(self, session: Session, run: JobRun, now: datetime) -> None:
        post_id = run.payload.get("post_id")
        already = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "promise_missed", AuditEvent.post_id == post_id
            )
        ).first()
        if already is None:
            audit.record(
                session,
                actor=audit.SYSTEM_ACTOR,
                action="promise_missed",
                incident_id=run.incident_id,
                post_id=post_id,
                at=now,
                detail={"promised_at": run.payload.get("promised_at")},
            )

    async def approval(self, run: JobRun) -> Again | str | None:
        now = self.clock.now()
        incident_id = run.incident_id or 0
        state = await self.store.read(lambda s: _situation(s, incident_id))
        post_id = run.payload.get("post_id")
        if state is None or state.pending is None or state.pending.id != post_id:
            return "decided"
        waited = format_duration(now - state.pending.requested_at)
        await self.notify(
            state.incident.id or 0,
            Reminder(
                kind="approval",
                text=f"A draft has waited {waited} for approval. Please approve, edit or "
                f"reject it in this thread.{self._late(run)}",
                mention_approvers=True,
            ),
        )
        repeat = reminders.policy(self.config, state.incident).approval_repeat_minutes
        times = int(run.payload.get("times", 0)) + 1
        return Again(
            at=now + timedelta(minutes=approval_interval(repeat, times)),
            payload={"times": times},
        )

    async def all_clear(self, run: JobRun) -> Again | str | None:
        if isinstance(state := await self._read(run), str):
            return state
        incident_id = state.incident.id or 0
        await self.notify(
            incident_id,
            Reminder(
                kind="all_clear",
                text="This incident has been in monitoring for a while. Ready to post the "
                f"all-clear?{self._late(run)}",
                mention_users=(state.incident.declared_by,),
                actions=_incident_buttons(incident_id, "resolve") + _snoozes(run.id, 30),
            ),
        )
        return "asked"

    async def stale(self, run: JobRun) -> Again | str | None:
        now = self.clock.now()
        if isinstance(state := await self._read(run), str):
            return state
        rules = reminders.policy(self.config, state.incident)
        incident_id = state.incident.id or 0
        since = now - state.latest_public_at if state.latest_public_at else None
        silent = format_duration(since or timedelta(minutes=rules.stale_after_minutes))
        ask = self._waiting(state) or " Is it resolved? If not, people would like an update."
        buttons = () if state.pending else _incident_buttons(incident_id, "post_update", "resolve")
        await self.notify(
            incident_id,
            Reminder(
                kind="stale",
                text=f"No public post for {silent} or more.{ask}{self._late(run)}",
                mention_users=(state.incident.declared_by,),
                mention_approvers=state.pending is not None,
                actions=buttons,
            ),
        )
        return Again(at=now + timedelta(minutes=rules.stale_after_minutes))

    async def emergency(self, run: JobRun) -> str:
        incident_id = run.incident_id or 0
        minutes = self.config.approvals.emergency.after_minutes
        by = str(run.payload.get("by") or "")
        await self.notify(
            incident_id,
            Reminder(
                kind="emergency",
                text=f"⚠️ Published WITHOUT an approver, by the emergency rule: nobody approved "
                f"this sev1 incident's first post within {minutes} minutes, so it went out on "
                "the word of the person named in approvals.emergency alone. Approvers: read it "
                f"now; *Post update* corrects it.{self._late(run)}",
                mention_users=(by,) if by else (),
                mention_approvers=True,
                mention_comms_lead=True,
            ),
        )
        return "told"

    async def review(self, run: JobRun) -> Again | str | None:
        incident_id = run.incident_id or 0
        figures = await self.store.read(lambda s: review_figures(s, incident_id))
        if figures is None:
            return "incident gone"
        incident, details = figures
        await self.notify(
            incident_id,
            Reminder(
                kind="review",
                text=f"Time for the post-incident review of #{incident_id} "
                f"({incident.service}: {incident.summary}).{self._late(run)}",
                mention_users=(incident.declared_by,),
                mention_comms_lead=True,
                details=details,
            ),
        )
        return "sent"


STEADY_REMINDERS = 3  # approval reminders at the configured pace before they space out
LONGEST_REMINDER_GAP = 60  # minutes


def approval_interval(repeat: int, times: int) -> int:
    """Minutes until the next approval reminder, after ``times`` of them: the configured pace
    at first, then twice as long each time, up to an hour, so a draft nobody can approve
    overnight does not ping everyone every few minutes until morning."""
    if times <= STEADY_REMINDERS:
        return repeat
    return max(repeat, min(repeat * 2 ** (times - STEADY_REMINDERS), LONGEST_REMINDER_GAP))


def _minutes(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def review_figures(
    session: Session, incident_id: int
) -> tuple[Incident, tuple[tuple[str, str], ...]] | None:
    """The figures a post-incident review starts from."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    approved = session.exec(
        select(Post).where(Post.incident_id == incident_id, Post.state == PostState.APPROVED)
    ).all()
    first_sent = session.exec(
        select(func.min(Delivery.sent_at)).where(
            Delivery.incident_id == incident_id, Delivery.state == DeliveryState.SENT
        )
    ).one()
    waits = [p.decided_at - p.requested_at for p in approved if p.decided_at]

    def count(*where: Any) -> int:
        return session.exec(select(func.count()).where(*where)).one()

    missed = count(AuditEvent.incident_id == incident_id, AuditEvent.action == "promise_missed")
    failed = count(
        Delivery.incident_id == incident_id,
        col(Delivery.state).in_([DeliveryState.FAILED, DeliveryState.UNKNOWN]),
    )
    first = first_sent - incident.declared_at if first_sent else None
    average = sum(waits, timedelta()) / len(waits) if waits else None
    duration = (incident.resolved_at - incident.declared_at) if incident.resolved_at else None
    details = (
        ("Declared to first public post", _minutes(first)),
        ("Updates published", str(sum(p.kind == PostKind.UPDATE for p in approved))),
        ("Approval wait (average)", _minutes(average)),
        ("Approval wait (longest)", _minutes(max(waits) if waits else None)),
        ("Promised updates missed", str(missed)),
        ("Channels that failed", str(failed)),
        ("Declared to all-clear", _minutes(duration)),
        *_listening_figures(session, incident_id),
    )
    return incident, details


def _listening_figures(session: Session, incident_id: int) -> tuple[tuple[str, str], ...]:
    """What the public answered (bot/listening): how many replies, how many of them negative,
    overall and after each post, and how long the first had to wait for a public answer.
    Nothing when nothing was heard."""
    found = reaction(session, incident_id)
    if found is None:
        return ()
    waited = found.first_answer_after
    return (
        ("Replies heard", str(found.overall.count)),
        ("Replies negative", f"{round(found.overall.negative_percent)} %"),
        ("Negative replies by post", found.trend_line() or "—"),
        ("First reply to first public answer", "none" if waited is None else _minutes(waited)),
    )
