"""The scheduled health check: the read-only channel checks of ``crier channels check``, run by
the scheduler (``health_check`` in crier.yml: every 24 hours from 07:00 by default), so that a
channel that stopped working is known before an outage needs it.

It tells the comms channel (``Notice``, outside any incident) when a channel stops being ready
and when it is ready again, never every day it stays the same: what it last said of each
channel is kept in its job's payload, which survives restarts. It warns once when a channel's
API version comes within ``version_warning_days`` of its end and once when it has ended. When a
network tells when its token expires, it plans one ``token_expiry`` job per
``token_reminder_days`` (14 and 3 days before); each asks the network again when it fires and
says nothing if the token was renewed meanwhile.

    schedule_check(store, config=config, now=now)  # at start-up (``open_crier``), once
    health = ChannelHealth(store=…, config=…, clock=…, publishers=…, notify=core.notice)
    health.handlers()  # the scheduler's: the check and the token reminders
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.config import CrierConfig, HealthCheckConfig, Network
from bot.drafting.post_times import format_time
from bot.ports import Clock, Publisher
from bot.publishing.checks import ChannelReport, check_channel, check_channels
from bot.publishing.versions import version_warning
from bot.scheduling.jobs import Again, JobHandler, JobRun, cancel, schedule
from bot.storage.models import Job
from bot.storage.store import Store
from bot.views import NETWORK_LABELS, Notice

log = logging.getLogger(__name__)

HEALTH = "channel_health"  # the job's kind
HEALTH_KEY = "channel_health"  # its one live job
EXPIRY = "token_expiry"  # one job per network and reminder: "token_expiry:facebook:14"
FINE = frozenset({"ready", "missing"})  # missing: no credentials, the outbox's dry run
Notify = Callable[[Notice], Awaitable[None]]


def next_run(now: datetime, *, rules: HealthCheckConfig, zone: ZoneInfo) -> datetime:
    """The first time after ``now`` on the schedule: ``at`` in the organisation's zone, then
    every ``every_hours``, counted on the wall clock (07:00 stays 07:00 across a clock change)."""
    local = now.astimezone(zone)
    step = timedelta(hours=rules.every_hours)
    slot = datetime.combine(local.date(), rules.at)
    midnight = datetime.combine(local.date(), time())
    while slot - step >= midnight:
        slot -= step
    while slot.replace(tzinfo=zone) <= now:
        slot += step
    return slot.replace(tzinfo=zone).astimezone(UTC)


def _schedule_of(rules: HealthCheckConfig) -> dict[str, Any]:
    return {"every_hours": rules.every_hours, "at": rules.at.strftime("%H:%M")}


def ensure_scheduled(session: Session, *, config: CrierConfig, now: datetime) -> str:
    """Schedule the check as crier.yml says, keeping what it remembers; or cancel it when
    ``health_check.enabled`` is off. Changes nothing when the live job already runs so."""
    rules = config.health_check
    job = session.exec(select(Job).where(Job.key == HEALTH_KEY)).first()
    if not rules.enabled:
        cancel(session, now=now, key=HEALTH_KEY)  # the live one, if any
        return "off (health_check.enabled is false)"
    wanted = _schedule_of(rules)
    if job and job.done_at is None and all(job.payload.get(k) == v for k, v in wanted.items()):
        return f"next at {job.due_at.isoformat()}"
    memory = {"said": job.payload.get("said", {})} if job is not None else {}
    due = next_run(now, rules=rules, zone=config.organisation.zone)
    schedule(session, kind=HEALTH, key=HEALTH_KEY, due_at=due, payload={**memory, **wanted})
    return f"scheduled for {due.isoformat()}"


def schedule_check(store: Store, *, config: CrierConfig, now: datetime) -> str:
    """``ensure_scheduled`` in its own transaction, at start-up: a process starting at the same
    moment may have scheduled it first (the job's key is unique), which is as good."""
    try:
        with store.transaction() as session:
            return ensure_scheduled(session, config=config, now=now)
    except IntegrityError:
        return "scheduled by another process"


@dataclass(frozen=True)
class Saying:
    """A notice, and what to remember of the channel once it has been said."""

    notice: Notice
    network: str
    remember: dict[str, Any]


@dataclass(kw_only=True, eq=False)
class ChannelHealth:
    store: Store
    config: CrierConfig
    clock: Clock
    publishers: Mapping[Network, Publisher]
    notify: Notify

    def handlers(self) -> dict[str, JobHandler]:
        return {HEALTH: self.check, EXPIRY: self.token_reminder}

    async def start(self) -> None:
        """``schedule_check`` on this core's clock, off the event loop (what ``crier serve``
        does at start-up; tests call it to start the schedule on their clock)."""
        now = self.clock.now()
        said = await asyncio.to_thread(schedule_check, self.store, config=self.config, now=now)
        log.info("channel health check: %s", said)

    async def check(self, run: JobRun) -> Again:
        """Run every channel's check; say what changed; plan the token reminders."""
        reports = await check_channels(self.publishers)
        now = self.clock.now()
        said: dict[str, dict[str, Any]] = {
            network: dict(memory)
            for network, memory in (run.payload.get("said") or {}).items()
            if isinstance(memory, dict)
        }
        sayings: list[Saying] = []
        for report in reports:
            memory = said.setdefault(report.network.value, {})
            sayings += self._state_change(report, memory)
            sayings += self._version_end(report, memory, now)
        await self.store.run(lambda s: self._plan_tokens(s, reports, now))
        for saying in sayings:
            if await self._say(saying.notice):
                said[saying.network].update(saying.remember)
            # Not said (no chat could show it): remembered as before, so the next check says it.
        due = next_run(now, rules=self.config.health_check, zone=self.config.organisation.zone)
        return Again(at=due, payload={"said": said, **_schedule_of(self.config.health_check)})

    async def _say(self, notice: Notice) -> bool:
        log.warning("channel notice: %s", notice.text)  # for whoever reads the log too
        try:
            await self.notify(notice)
        except Exception:
            log.exception("could not post the notice “%s” in chat", notice.title)
            return False
        return True

    def _state_change(self, report: ChannelReport, memory: dict[str, Any]) -> list[Saying]:
        check = report.check
        before = memory.get("state")
        was_fine = before is None or before in FINE
        fine = check.state in FINE
        label = NETWORK_LABELS[report.network]
        remember = {"state": check.state}
        if (fine and was_fine) or (not fine and before == check.state):
            memory.update(remember)  # nothing to say
            return []
        if fine:
            notice = Notice(
                kind="channel_up",
                title=f"{label} is ready again",
                text=f"{label} is ready again: {check.detail}.",
                network=report.network,
            )
        else:
            notice = Notice(
                kind="channel_down",
                title=f"{label} stopped working",
                text=f"{label} is not ready ({check.state}): {check.detail}. Posts to {label} "
                "will fail until this is fixed; `crier channels check` shows every channel.",
                network=report.network,
                mention_comms_lead=True,
            )
        return [Saying(notice, report.network.value, remember)]

    def _version_end(
        self, report: ChannelReport, memory: dict[str, Any], now: datetime
    ) -> list[Saying]:
        life = report.check.version
        if life is None:
            return []
        today = now.astimezone(self.config.organisation.zone).date()
        warning = version_warning(
            life, today=today, warn_days=self.config.health_check.version_warning_days
        )
        if warning is None:
            memory.pop("version", None)
            return []
        ended = life.ends <= today
        mark = f"{life.version}:{'ended' if ended else 'ending'}"
        if memory.get("version") == mark:
            return []
        label = NETWORK_LABELS[report.network]
        notice = Notice(
            kind="version_ended" if ended else "version_ending",
            title=f"{label}: {life.api} {life.version} "
            + ("has ended" if ended and life.exact else "is ending"),
            text=warning,
            network=report.network,
            mention_comms_lead=True,
        )
        return [Saying(notice, report.network.value, {"version": mark})]

    def _plan_tokens(self, session: Session, reports: list[ChannelReport], now: datetime) -> None:
        """One ``token_expiry`` job per reminder day for each token that will expire; a token
        found late gets only the nearest reminder already due, not one per passed day."""
        days_before = self.config.health_check.token_reminder_days
        for report in reports:
            token = report.check.token
            expires = token.expires_at if token is not None else None
            if not report.check.ready or token is None or expires is None or expires <= now:
                continue
            stamp = expires.isoformat()
            passed = [d for d in days_before if expires - timedelta(days=d) <= now]
            for days in days_before:
                if days in passed and days != min(passed):
                    continue
                key = f"{EXPIRY}:{report.network.value}:{days}"
                job = session.exec(select(Job).where(Job.key == key)).first()
                if job is not None and job.payload.get("expires_at") == stamp:
                    continue  # planned (or said) for this token already
                schedule(
                    session,
                    kind=EXPIRY,
                    key=key,
                    due_at=max(expires - timedelta(days=days), now),
                    payload={
                        "network": report.network.value,
                        "expires_at": stamp,
                        "days": days,
                        "setting": token.setting,
                        "what": token.what,
                        "renew": token.renew,
                    },
                )

    async def token_reminder(self, run: JobRun) -> str:
        """Remind of the token's expiry, unless it was renewed (the network is asked again)."""
        try:
            network = Network(str(run.payload.get("network")))
            expires = datetime.fromisoformat(str(run.payload["expires_at"]))
        except (KeyError, ValueError):
            return "not a token reminder"
        publisher = self.publishers.get(network)
        if publisher is None:
            return "the channel is gone"
        check = await check_channel(publisher)
        token = check.token
        if token is not None and (token.never or token.expires_at not in (None, expires)):
            return "renewed"
        if check.state == "expired":
            return "already expired"  # the health check says that one
        now = self.clock.now()
        if expires <= now:
            return "expired meanwhile"
        label = NETWORK_LABELS[network]
        setting = str(run.payload.get("setting") or "its token")
        left = _time_left(expires - now)
        zone = self.config.organisation.zone
        local = expires.astimezone(zone)
        when = f"{local:%a} {local.day} {local:%b %Y}, {format_time(expires, zone)}"
        notice = Notice(
            kind="token_expiring",
            title=f"{label}'s token expires in {left}",
            text=f"The {label} {run.payload.get('what') or 'access token'} in {setting} expires "
            f"on {when}, in {left}. After that every post to {label} fails. To renew it: "
            f"{run.payload.get('renew') or 'get a new token from ' + label}. Then put the new "
            f"token in {setting} where Crier runs and restart Crier; `crier channels check` "
            "shows the new date.",
            network=network,
            mention_comms_lead=True,
        )
        if not await self._say(notice):
            raise RuntimeError("no chat could show the token reminder")  # the job tries again
        return "reminded"


def _time_left(left: timedelta) -> str:
    hours = left.total_seconds() / 3600
    if hours < 24:
        return "less than a day" if hours < 1 else f"{int(hours)} hours"
    days = round(hours / 24)
    return "1 day" if days == 1 else f"{days} days"
