"""``crier worker`` killed (SIGKILL) again and again while the posts of maintenance series come
due (issue 19): started again each time on the same database, every announcement, reminder and
start goes out on every channel of its series, exactly once.

The series are planned and approved the ordinary way, through the core on the real clock, for
windows two hours ahead. Their post jobs (``maintenance_post:<id>``) are then moved in the
database: held back while a worker starts (a start takes seconds, and varies with the machine's
load), and once it says it is working, the posts still to go out come due from a moment later,
a few hundred milliseconds apart, the series interleaved. So each kill lands while the series
are going out in real time, a random moment (seeded) after the worker published a post. With no
network credentials in its environment the worker publishes to the outbox, whose rows carry each
delivery's idempotency key: a post sent twice, or not at all, shows there.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from bot.config import STARTER_CONFIG, Network, load_config
from bot.core import build_core
from bot.maintenance import series
from bot.maintenance.series import MaintenanceRequest, PostState
from bot.maintenance.window import SeriesKind, Window
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.models import (
    Delivery,
    DeliveryState,
    Job,
    Maintenance,
    MaintenancePost,
    MaintenanceState,
    OutboxPost,
)
from bot.storage.store import Store
from tests.processes import crier_worker, wait_until
from tests.unit.maintenance.conftest import CHECKER, PLANNER

SERIES = 15
# The starter config's enabled channels that take a maintenance (not the status page, not the
# site): with no credentials set, each one is a dry run into the outbox.
CHANNELS = (Network.X, Network.FACEBOOK, Network.MASTODON, Network.BLUESKY)
TIMED = (SeriesKind.ANNOUNCE, SeriesKind.REMINDER, SeriesKind.START)  # each its own job
POSTS = SERIES * len(TIMED)
KILLS = 3
FIRST_DUE = timedelta(milliseconds=200)  # after a worker says it is working
# Wide enough that each worker's short life sees only a part of the series go out.
BETWEEN_SERIES = timedelta(milliseconds=500)
BETWEEN_POSTS = timedelta(milliseconds=300)  # a series' announcement, reminder and start
SEED = 19
WORKING = "is working"  # what ``crier worker`` prints once it is under way


@dataclass(frozen=True)
class Progress:
    """What the database shows of the series at one moment."""

    published: int  # timed posts whose deliveries are written
    sent: int  # of their deliveries, those sent


def progress(store: Store) -> Progress:
    with store.transaction() as session:
        posts = session.exec(select(MaintenancePost.state)).all()
        sent = session.exec(
            select(Delivery.id).where(
                Delivery.state == DeliveryState.SENT,
                Delivery.maintenance_post_id.is_not(None),  # type: ignore[union-attr]
            )
        ).all()
    return Progress(published=posts.count(PostState.PUBLISHED), sent=len(sent))


def request(now: datetime, n: int) -> MaintenanceRequest:
    """A window two hours ahead: announced at approval, reminded an hour before, then started."""
    starts = now + timedelta(hours=2, minutes=n)
    return MaintenanceRequest(
        services=("Blackboard",),
        title=f"upgrade number {n}",
        what_users_notice="You cannot sign in to Blackboard.",
        what_to_do="Submit assignments early.",
        window=Window(starts_at=starts, ends_at=starts + timedelta(hours=2)),
        announce_at=None,
        remind_before=timedelta(hours=1),
        channels=CHANNELS,
    )


async def plan_and_approve(store: Store) -> list[int]:
    core = build_core(
        settings=Settings(),
        config=load_config(STARTER_CONFIG),
        store=store,
        credentials=NetworkCredentials.model_construct(),  # nothing from this environment
    )
    try:
        ids = []
        for n in range(SERIES):
            planned = await core.maintenance.propose(PLANNER, request(datetime.now(UTC), n))
            assert [p.kind for p in planned.posts] == [*TIMED, SeriesKind.COMPLETE]
            await core.maintenance.approve(CHECKER, planned.id)
            ids.append(planned.id)
        return ids
    finally:
        await core.close()


def _waiting(session: Session) -> list[Job]:
    """The series' post jobs not done yet (a killed worker's claims included)."""
    query = select(Job).where(Job.kind == series.POST_DUE, col(Job.done_at).is_(None))
    return list(session.exec(query).all())


def hold(store: Store) -> None:
    """Keep every post still to go out from coming due while a worker starts."""
    with store.transaction() as session:
        for job in _waiting(session):
            job.due_at = datetime.now(UTC) + timedelta(days=1)
            session.add(job)


def bring_due(store: Store, maintenance_ids: list[int], first: datetime) -> None:
    """Move the posts still to go out from tonight to the next few seconds of real time: series
    n's announcement at n * BETWEEN_SERIES, its reminder and its start each BETWEEN_POSTS later,
    the earliest of them at ``first``; so the series' posts interleave and keep coming due for
    seconds. (The posts' own times stay as planned: a post goes out when its job runs.)"""
    order = {kind.value: n for n, kind in enumerate(TIMED)}
    with store.transaction() as session:
        waiting = _waiting(session)
        offsets = {}
        for job in waiting:
            post = session.get_one(MaintenancePost, job.payload["maintenance_post_id"])
            n = maintenance_ids.index(post.maintenance_id)
            offsets[job.id] = n * BETWEEN_SERIES + order[post.kind] * BETWEEN_POSTS
        earliest = min(offsets.values(), default=timedelta(0))
        for job in waiting:
            job.due_at = first + offsets[job.id] - earliest
            session.add(job)


def workers_under_way(log: Path) -> int:
    """How many workers have said, in ``log``, that they are working."""
    return log.read_text().count(WORKING) if log.exists() else 0


async def start_worker(
    store: Store, maintenance_ids: list[int], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """A worker, and once it says it is working (its start-up takes seconds, and varies), the
    posts still to go out coming due from a moment later."""
    hold(store)
    started = workers_under_way(log)
    worker = crier_worker(env, log)
    try:
        await wait_until(lambda: workers_under_way(log) > started, "the worker to start", log)
    except BaseException:
        stop(worker, signal.SIGKILL)  # no stray worker on a failed start
        raise
    bring_due(store, maintenance_ids, datetime.now(UTC) + FIRST_DUE)
    return worker


def worker_environment(database_url: str) -> dict[str, str]:
    """The test's environment without any network's or chat's credentials: the worker
    publishes to the outbox and talks to no chat."""
    secrets = {name.upper() for name in NetworkCredentials.model_fields}
    secrets |= {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "MICROSOFTAPPID", "MICROSOFTAPPPASSWORD"}
    env = {
        name: value
        for name, value in os.environ.items()
        if name.upper() not in secrets and name.upper().removesuffix("_FILE") not in secrets
    }
    return {
        **env,
        "CRIER_DATABASE_URL": database_url,
        "CRIER_CONFIG": str(STARTER_CONFIG),
        "CRIER_LEASE_SECONDS": "2",
    }


def stop(worker: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if worker.poll() is None:
        worker.send_signal(sig)
    worker.wait(timeout=30)


async def test_killing_the_worker_between_posts_loses_and_repeats_none(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    maintenance_ids = await plan_and_approve(store)
    env = worker_environment(database_url)
    log = tmp_path / "worker.log"
    chance = random.Random(SEED)
    at_kills: list[Progress] = []

    for _ in range(KILLS):
        before = progress(store).published
        worker = await start_worker(store, maintenance_ids, env, log)
        try:
            # Killed a moment after it published a post, the series still coming due.
            await wait_until(
                lambda: progress(store).published > before,  # noqa: B023
                "the worker to publish a post",
                log,
            )
            await asyncio.sleep(chance.uniform(0.1, 0.4))
            at_kills.append(progress(store))
            worker.send_signal(signal.SIGKILL)
        finally:
            stop(worker, signal.SIGKILL)

    worker = await start_worker(store, maintenance_ids, env, log)
    try:
        await wait_until(
            lambda: progress(store) == Progress(published=POSTS, sent=POSTS * len(CHANNELS)),
            "every post of every series to be sent",
            log,
        )
    finally:
        stop(worker, signal.SIGTERM)

    # Each kill fell between two posts: some were out, some still to come.
    assert all(0 < p.published < POSTS for p in at_kills), at_kills
    with store.transaction() as session:
        posts = session.exec(select(MaintenancePost)).all()
        deliveries = session.exec(select(Delivery)).all()
        outbox = session.exec(select(OutboxPost)).all()
        maintenances = session.exec(select(Maintenance)).all()
    timed = [p for p in posts if p.kind in TIMED]
    assert len(timed) == POSTS
    assert {p.state for p in timed} == {PostState.PUBLISHED}
    # Each timed post once per channel, sent; the completion waits for someone to say so.
    per_post = Counter((d.maintenance_post_id, d.channel) for d in deliveries)
    assert set(per_post) == {(p.id, c.value) for p in timed for c in CHANNELS}
    assert set(per_post.values()) == {1}
    assert {d.state for d in deliveries} == {DeliveryState.SENT}
    # Exactly one outbox entry per delivery: none missing, none twice.
    assert Counter(o.idempotency_key for o in outbox) == Counter(
        d.idempotency_key for d in deliveries
    )
    assert Counter(o.network for o in outbox) == {c.value: POSTS for c in CHANNELS}
    assert {m.state for m in maintenances} == {MaintenanceState.IN_PROGRESS}
