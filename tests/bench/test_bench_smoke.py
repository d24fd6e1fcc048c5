"""Each benchmark still runs: its ``main`` with tiny sizes, figures printed.

Nothing here is timed or compared with a goal (that is what ``python -m bench.…`` is for); only
that figures come out, and that nothing was lost, turned away or sent twice where a benchmark
counts it.
"""

from __future__ import annotations

import math

import pytest

from bench import (
    delivery_cost,
    draft,
    fanout,
    listening,
    memory,
    ratelimit,
    replays,
    scaleout,
    scheduler,
)
from bench.databases import postgres_available


def test_fanout_runs(capsys: pytest.CaptureFixture[str]) -> None:
    results = fanout.main(["--rounds", "1", "--latency", "0.02", "--backends", "sqlite"])

    figures = results["sqlite"]
    assert set(figures.solo) == set(fanout.CHANNELS)
    assert figures.parallel > 0 and figures.sequential > 0
    assert math.isfinite(figures.parallel_ratio)
    assert "Crier (parallel)" in capsys.readouterr().out


def test_listening_runs_within_every_networks_limit(capsys: pytest.CaptureFixture[str]) -> None:
    results = listening.main(["--hours", "0.25", "--seconds", "0", "--backends", "sqlite"])

    budget, latency = results["sqlite"]
    assert latency is None
    assert {n.network.value for n in budget.networks} == {"mastodon", "bluesky", "facebook", "x"}
    assert all(n.refused == 0 and n.never_read == 0 for n in budget.networks)
    assert budget.x_counted == budget.x_posts_read
    assert "busiest" in capsys.readouterr().out


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


def test_draft_times_each_command_to_its_draft(capsys: pytest.CaptureFixture[str]) -> None:
    results = draft.main(
        ["--seconds", "2", "--rates", "5", "--drain", "20", "--backends", "sqlite"]
    )

    [figures] = results
    assert figures.crier.commands == figures.bare.commands == 10
    assert figures.crier.turned_away == 0 and not figures.told
    assert len(figures.to_draft) == 10 and all(s > 0 for s in figures.to_draft)
    assert math.isfinite(figures.ack_ratio(99)) and math.isfinite(figures.draft_p(99))
    out = capsys.readouterr().out
    assert "time to draft" in out and "draft summary" in out


def test_memory_runs(capsys: pytest.CaptureFixture[str]) -> None:
    results = memory.main(["--incidents", "4", "--backends", "sqlite"])

    figures = results["sqlite"]
    assert figures.crier_idle_kib > 0 and figures.bare_idle_kib > 0
    assert figures.processes == 1
    assert figures.declared == figures.approved == 4
    assert figures.sent == figures.deliveries > 0
    assert "growth per incident" in capsys.readouterr().out


@pytest.mark.skipif(not postgres_available(), reason="scale-out needs PostgreSQL")
def test_scaleout_sends_each_delivery_once(capsys: pytest.CaptureFixture[str]) -> None:
    results = scaleout.main(["--approvals", "3", "--workers", "1,2", "--latency", "0.02"])

    for figures in results:
        assert figures.sent == figures.deliveries == 3 * len(fanout.CHANNELS)
        assert figures.duplicates == 0 and figures.lost == 0 and not figures.unchecked
        assert figures.drain > 0
    assert "speed-up" in capsys.readouterr().out


def test_delivery_cost_counts_cpu_and_statements(capsys: pytest.CaptureFixture[str]) -> None:
    [figures] = delivery_cost.main(["--quick", "--approvals", "3", "--latency", "0.02"])

    assert figures.sent == figures.deliveries == 3 * len(fanout.CHANNELS)
    assert figures.cpu > 0
    assert "a delivery" in capsys.readouterr().out


def test_replays_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert replays.main(["--quick"]) > 0
    assert "100,000 remembered" in capsys.readouterr().out
