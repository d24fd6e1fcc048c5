"""Crier killed (SIGKILL) in the middle of publishing, then started again.

Every approved post is delivered; a network with an idempotency key (Mastodon) gets each post
once; a network without one (X) is never posted to twice: what was in flight is marked
*unknown* for a person to check.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import yaml
from sqlmodel import select

from bot.config import load_config
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.conftest import ANALYST, APPROVER
from tests.fakes.networks.mastodon import FakeMastodon
from tests.fakes.networks.x import FakeX
from tests.processes import crier_worker, wait_until

POSTS = 3


def write_config(path: Path, *, x_url: str, mastodon_url: str) -> Path:
    config = {
        "organisation": {"name": "Northfield IT", "time_zone": "America/New_York"},
        "approvals": {"slack_users": [APPROVER]},
        "channels": {
            "x": {"enabled": True, "base_url": x_url},
            "mastodon": {"enabled": True, "base_url": mastodon_url},
        },
        "services": [
            {"name": f"Service {n}", "default_channels": ["x", "mastodon"]} for n in range(POSTS)
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def states(store: Store) -> list[tuple[str, str]]:
    with store.transaction() as session:
        return [(d.channel, d.state) for d in session.exec(select(Delivery)).all()]


async def test_a_kill_while_publishing_neither_loses_nor_duplicates(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    # Mastodon's publisher reads the instance's limit first, so its post arrives a latency later:
    # X's answers must take longer still for both to be in flight at the kill.
    async with FakeX(latency=4.0) as x, FakeMastodon(latency=1.0) as mastodon:
        path = write_config(
            tmp_path / "crier.yml", x_url=x.base_url, mastodon_url=mastodon.base_url
        )
        env = {
            **os.environ,
            "CRIER_DATABASE_URL": database_url,
            "CRIER_CONFIG": str(path),
            "X_BEARER_TOKEN": "x-user-token",
            "MASTODON_ACCESS_TOKEN": "mastodon-test-token",
            "CRIER_LEASE_SECONDS": "2",
            "CRIER_PUBLIC_URL": "http://crier.test",
        }
        core = build_core(settings=Settings(), config=load_config(path), store=store)
        for n in range(POSTS):
            draft = await core.declare(
                Actor("slack", ANALYST), DeclareRequest(service=f"Service {n}", summary="down")
            )
            await core.approve(Actor("slack", APPROVER), draft.post.id)

        log = tmp_path / "worker.log"
        first = crier_worker(env, log)
        try:

            def in_flight() -> bool:
                return (
                    sum(a == "POST /2/tweets" for a in x.arrivals) == POSTS
                    and sum(a == "POST /api/v1/statuses" for a in mastodon.arrivals) == POSTS
                )

            await wait_until(in_flight, "every post in flight", log)
            first.send_signal(signal.SIGKILL)  # mid-request: the networks will still post
        finally:
            first.wait(timeout=10)
        await wait_until(
            lambda: len(x.tweets) == POSTS and len(mastodon.statuses) == POSTS,
            "the networks to finish the killed worker's requests",
            log,
        )

        second = crier_worker(env, log)
        try:
            final = {DeliveryState.SENT, DeliveryState.UNKNOWN, DeliveryState.FAILED}
            await wait_until(
                lambda: all(state in final for _, state in states(store)),
                "every delivery to settle",
                log,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=10)

    outcome = Counter(states(store))
    assert outcome[("mastodon", DeliveryState.SENT)] == POSTS  # resent with its key: no copy
    assert len(mastodon.statuses) == POSTS
    assert outcome[("x", DeliveryState.UNKNOWN)] == POSTS  # in flight: a person decides
    assert len(x.tweets) == POSTS  # never posted twice
    with store.transaction() as session:
        unknown = session.exec(
            select(Delivery).where(Delivery.state == DeliveryState.UNKNOWN)
        ).all()
    assert all("check the account" in (d.last_error or "") for d in unknown)
