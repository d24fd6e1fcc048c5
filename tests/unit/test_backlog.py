"""The backlog of work after an ack: a few at a time, decisions first, refusals when full."""

from __future__ import annotations

import asyncio

import pytest

from bot.backlog import Backlog, Busy


async def test_runs_at_most_at_once_and_hands_turns_on_in_order() -> None:
    backlog = Backlog(at_once=2, most_waiting=10)
    running: list[int] = []
    peak = 0
    order: list[int] = []

    async def work(n: int) -> None:
        nonlocal peak
        async with backlog.turn():
            running.append(n)
            peak = max(peak, len(running))
            order.append(n)
            await asyncio.sleep(0.01)
            running.remove(n)

    await asyncio.gather(*(work(n) for n in range(6)))
    assert peak == 2
    assert order == list(range(6))
    assert backlog.waiting == 0


async def test_an_urgent_piece_goes_ahead_of_those_waiting() -> None:
    backlog = Backlog(at_once=1, most_waiting=10)
    order: list[str] = []
    hold = asyncio.Event()

    async def work(name: str, *, urgent: bool = False) -> None:
        async with backlog.turn(urgent=urgent):
            order.append(name)
            if name == "first":
                await hold.wait()

    first = asyncio.create_task(work("first"))
    await asyncio.sleep(0)
    later = [asyncio.create_task(work(f"declare {n}")) for n in range(3)]
    await asyncio.sleep(0)
    approve = asyncio.create_task(work("approve", urgent=True))
    await asyncio.sleep(0)
    hold.set()
    await asyncio.gather(first, approve, *later)
    assert order == ["first", "approve", "declare 0", "declare 1", "declare 2"]


async def test_when_full_new_work_is_refused_and_urgent_work_still_waits() -> None:
    backlog = Backlog(at_once=1, most_waiting=1)
    hold = asyncio.Event()

    async def work(*, urgent: bool = False) -> str:
        async with backlog.turn(urgent=urgent):
            await hold.wait()
            return "done"

    busy = asyncio.create_task(work())
    await asyncio.sleep(0)
    queued = asyncio.create_task(work())
    await asyncio.sleep(0)
    assert backlog.full and backlog.waiting == 1
    with pytest.raises(Busy) as refused:
        await work()
    assert "try again" in refused.value.message
    urgent = asyncio.create_task(work(urgent=True))
    await asyncio.sleep(0)
    hold.set()
    assert await asyncio.gather(busy, queued, urgent) == ["done"] * 3
    assert not backlog.full and backlog.waiting == 0


async def test_a_cancelled_waiter_gives_up_its_place_and_loses_no_turn() -> None:
    backlog = Backlog(at_once=1, most_waiting=5)
    hold = asyncio.Event()
    done: list[str] = []

    async def work(name: str) -> None:
        async with backlog.turn():
            await hold.wait()
            done.append(name)

    first = asyncio.create_task(work("first"))
    await asyncio.sleep(0)
    leaving = asyncio.create_task(work("leaving"))
    staying = asyncio.create_task(work("staying"))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    assert backlog.waiting == 1
    hold.set()
    await asyncio.gather(first, staying)
    assert done == ["first", "staying"]
    async with asyncio.timeout(1):  # the turn came back: the next one gets in at once
        await work("after")


async def test_drain_waits_for_work_running_and_waiting_then_reports_none_left() -> None:
    backlog = Backlog(at_once=1, most_waiting=10)
    done: list[int] = []

    async def work(n: int) -> None:
        async with backlog.turn():
            await asyncio.sleep(0.05)
            done.append(n)

    tasks = [asyncio.create_task(work(n)) for n in range(3)]
    await asyncio.sleep(0)  # one runs, two wait
    assert backlog.unfinished == 3
    assert await backlog.drain(within=5) == 0
    assert done == [0, 1, 2]
    await asyncio.gather(*tasks)


async def test_drain_gives_up_after_its_time_and_says_how_many_are_left() -> None:
    backlog = Backlog(at_once=1, most_waiting=10)
    release = asyncio.Event()

    async def work() -> None:
        async with backlog.turn():
            await release.wait()

    tasks = [asyncio.create_task(work()) for _ in range(2)]
    await asyncio.sleep(0)
    assert await backlog.drain(within=0.05) == 2
    release.set()
    await asyncio.gather(*tasks)
    assert backlog.unfinished == 0
    assert await backlog.drain(within=0.05) == 0


async def test_a_reserved_place_is_kept_however_full_it_gets_before_its_turn() -> None:
    backlog = Backlog(at_once=1, most_waiting=1)
    backlog.reserve()  # acked as taken on, its work not started yet
    backlog.reserve()
    assert backlog.full and backlog.unfinished == 2
    with pytest.raises(Busy):
        backlog.reserve()  # a third is told at once, in its ack
    backlog.reserve(urgent=True)  # a decision is never turned away
    order: list[str] = []

    async def work(name: str, *, urgent: bool = False) -> None:
        async with backlog.turn(reserved=True, urgent=urgent):
            order.append(name)
            await asyncio.sleep(0.01)

    await asyncio.gather(work("first"), work("second"), work("decision", urgent=True))
    assert sorted(order) == ["decision", "first", "second"]
    assert backlog.unfinished == 0 and not backlog.full
    assert await backlog.drain(within=0.05) == 0


async def test_a_place_whose_work_was_done_elsewhere_is_given_back() -> None:
    backlog = Backlog(at_once=1, most_waiting=0)
    backlog.reserve()
    assert backlog.full  # counted while the work process does it
    draining = asyncio.create_task(backlog.drain(within=5))
    await asyncio.sleep(0.01)
    assert not draining.done()  # a stop waits for it
    backlog.release_reserved()
    assert await draining == 0
    assert not backlog.full


async def test_taken_work_holds_its_place_and_promised_work_is_never_refused() -> None:
    backlog = Backlog(at_once=1, most_waiting=1)
    hold = asyncio.Event()
    done: list[str] = []

    async def work(name: str) -> str:
        await hold.wait()
        done.append(name)
        return name

    first = backlog.take(work("first"))
    second = backlog.take(work("second"))  # both places counted before either runs
    assert backlog.full
    refused = work("refused")
    with pytest.raises(Busy):
        backlog.take(refused)
    assert refused.cr_frame is None  # closed, not left to warn "never awaited"
    promised = backlog.take(work("promised"), promised=True)  # acked elsewhere: taken anyway
    approval = backlog.take(work("approval"), urgent=True, promised=True)
    assert backlog.unfinished == 4
    tasks = [asyncio.ensure_future(c) for c in (first, second, promised, approval)]
    await asyncio.sleep(0)
    hold.set()
    assert await asyncio.gather(*tasks) == ["first", "second", "promised", "approval"]
    assert done == ["first", "approval", "second", "promised"]  # the approval went ahead
    assert backlog.unfinished == 0
    assert await backlog.drain(within=0.1) == 0


async def test_held_work_is_counted_until_it_is_done_elsewhere() -> None:
    backlog = Backlog(at_once=1, most_waiting=0)
    answer = asyncio.Event()

    async def handed_over() -> str:
        await answer.wait()  # the work process answering
        return "done"

    held = asyncio.ensure_future(backlog.hold(handed_over()))
    assert backlog.full  # counted while it is done elsewhere
    refused = handed_over()
    with pytest.raises(Busy):
        backlog.hold(refused)
    assert refused.cr_frame is None  # closed, not left to warn "never awaited"
    approval = asyncio.ensure_future(backlog.hold(handed_over(), urgent=True))
    assert backlog.unfinished == 2  # a decision is held however full
    answer.set()
    assert await asyncio.gather(held, approval) == ["done", "done"]
    assert backlog.unfinished == 0
