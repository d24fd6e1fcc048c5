"""Each benchmark still runs: its ``main`` with tiny sizes on SQLite, figures printed.

Nothing here is timed or compared with a goal (that is what ``python -m bench.…`` is for); only
that figures come out, and that nothing was lost or sent twice where a benchmark counts it.
"""

from __future__ import annotations

import math

import pytest

from bench import ack, fanout, memory, ratelimit, replays, scheduler


def test_fanout_runs(capsys: pytest.CaptureFixture[str]) -> None:
    results = fanout.main(["--rounds", "1", "--latency", "0.02", "--backends", "sqlite"])

    figures = results["sqlite"]
    assert set(figures.solo) == set(fanout.CHANNELS)
    assert figures.parallel > 0 and figures.sequential > 0
    assert math.isfinite(figures.parallel_ratio)
    assert "Crier (parallel)" in capsys.readouterr().out


def test_ratelimit_runs_without_duplicates_or_losses(capsys: pytest.CaptureFixture[str]) -> None:
    results = ratelimit.main(
        ["--posts", "12", "--limit", "5", "--window", "1", "--backends", "sqlite"]
    )

    figures = results["sqlite"]
    assert figures.sent == 12
    assert figures.duplicates == 0 and figures.lost == 0 and figures.failed == 0
    assert figures.minimum > 0 and math.isfinite(figures.ratio)
    assert "theoretical minimum" in capsys.readouterr().out


def test_scheduler_runs_and_fires_each_job_once(capsys: pytest.CaptureFixture[str]) -> None:
    sizes = ["--incidents", "30", "--due", "6", "--jobs", "6", "--spread", "0.5"]
    results = scheduler.main([*sizes, "--backends", "sqlite"])

    [baseline, scaled] = results["sqlite"]
    for figures in (baseline, scaled):
        assert figures.job_rows >= 3 * figures.incidents
        assert figures.fired == figures.expected and figures.fired_twice == 0
        assert figures.pass_seconds > 0 and math.isfinite(figures.delay_p99)
    assert "due->fired" in capsys.readouterr().out


def test_ack_runs_against_both_servers(capsys: pytest.CaptureFixture[str]) -> None:
    results = ack.main(["--seconds", "1", "--clients", "4", "--drain", "1", "--backends", "sqlite"])

    figures = results["sqlite"]
    for load in (figures.bare, figures.crier):
        assert load.latencies["command"] and not load.failures
    assert figures.work.at_end.incidents > 0
    assert "ratio crier / bare" in capsys.readouterr().out


def test_memory_runs(capsys: pytest.CaptureFixture[str]) -> None:
    results = memory.main(["--incidents", "4", "--backends", "sqlite"])

    figures = results["sqlite"]
    assert figures.crier_idle_kib > 0 and figures.bare_idle_kib > 0
    assert figures.declared == figures.approved == 4
    assert figures.sent == figures.deliveries > 0
    assert "growth per incident" in capsys.readouterr().out


def test_replays_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert replays.main(["--quick"]) > 0
    assert "100,000 remembered" in capsys.readouterr().out
