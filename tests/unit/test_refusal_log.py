"""Refusal lines are few: at most so many a window, then one line with how many more."""

from __future__ import annotations

import asyncio
import logging

import pytest

from handlers.refusals import MOST_A_MINUTE, RefusalLog, RefusedAccess

LOGGER = "tests.refusals"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_beyond_the_limit_lines_are_counted_and_summed_up_with_the_next_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = Clock()
    refusals = RefusalLog(logging.getLogger(LOGGER), most=3, window=60, clock=clock)
    for n in range(10):
        refusals.refused("refused request %d", n)
    assert said(caplog) == ["refused request 0", "refused request 1", "refused request 2"]

    clock.now += 59  # the same window
    refusals.refused("refused request %d", 10)
    assert len(said(caplog)) == 3

    clock.now += 1  # a new one: first the sum of the last, then the line
    refusals.refused("refused request %d", 11)
    assert said(caplog)[3:] == [
        "refused 8 more like those in the last 60 s (at most 3 such lines are logged a window)",
        "refused request 11",
    ]


def test_a_quiet_window_says_nothing_more(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = Clock()
    refusals = RefusalLog(logging.getLogger(LOGGER), most=3, window=60, clock=clock)
    refusals.refused("one")
    clock.now += 600
    refusals.refused("two")
    assert said(caplog) == ["one", "two"]


async def test_with_the_loop_running_the_sum_comes_when_the_window_ends() -> None:
    """No later refusal needed: the count is not lost when the flood stops."""
    summed = asyncio.Event()

    class Heard(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "more like those" in record.getMessage():
                self.line = record.getMessage()
                summed.set()

    heard = Heard()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(heard)
    try:
        refusals = RefusalLog(logger, most=2, window=0.05)
        for _ in range(5):
            refusals.refused("refused")
        await asyncio.wait_for(summed.wait(), timeout=5)
    finally:
        logger.removeHandler(heard)
    assert heard.line.startswith("refused 3 more like those")


def test_access_lines_of_refused_requests_are_kept_to_the_limit_and_others_pass() -> None:
    """aiohttp passes the status as ``extra``: a 4xx line counts against the limit, others do
    not, and a line without a status (another format) is never held back."""
    access = RefusedAccess()

    def line(**fields: object) -> logging.LogRecord:
        return logging.makeLogRecord({"name": "aiohttp.access", "msg": "a request", **fields})

    refused = [access.filter(line(response_status=401)) for _ in range(MOST_A_MINUTE + 10)]
    assert refused == [True] * MOST_A_MINUTE + [False] * 10
    assert access.filter(line(response_status=200))
    assert access.filter(line(response_status=503))
    assert access.filter(line())
