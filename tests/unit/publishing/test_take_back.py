"""A process killed while sending: started again on the same machine, Crier settles what it was
sending at once (sent again where the network's idempotency key makes that safe, *unknown*
elsewhere), not when the lease it held runs out minutes later."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

from sqlmodel import select

from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, make_config


def ended_process() -> str:
    """``host:pid`` of a process of this machine that has ended."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()}:{ended.stdout.strip()}"


async def test_what_a_killed_process_was_sending_is_settled_at_start(store: Store) -> None:
    clock = FakeClock()
    core = build_core(settings=Settings(), config=make_config(), store=store, clock=clock)
    draft = await core.declare(Actor("slack", ANALYST), DeclareRequest("bb", "cannot log in"))
    await core.approve(Actor("slack", APPROVER), draft.post.id)
    gone, alive = ended_process(), f"{socket.gethostname()}:1"  # pid 1 outlives us all
    with store.transaction() as session:
        deliveries = session.exec(select(Delivery).order_by(Delivery.id)).all()
        for n, delivery in enumerate(deliveries):  # all mid-send, leases an hour long
            delivery.state = DeliveryState.SENDING
            delivery.claimed_by = alive if n == 0 else gone
            delivery.claimed_until = clock.now() + timedelta(hours=1)
        session.add_all(deliveries)

    assert await core.publishing.take_back() == len(deliveries) - 1
    while await core.publishing.run_once():
        pass

    with store.transaction() as session:
        states = [d.state for d in session.exec(select(Delivery).order_by(Delivery.id)).all()]
    # The outbox's dry run is idempotent: sent again, once. The live process's is left to it.
    assert states == [DeliveryState.SENDING] + [DeliveryState.SENT] * (len(states) - 1)
