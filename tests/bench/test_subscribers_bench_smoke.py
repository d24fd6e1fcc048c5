"""The subscribers' benchmark still runs (``python -m bench.subscribers``), with tiny sizes.

As in ``test_bench_smoke``: figures come out and no email is lost, across a kill -9 of the
worker too; never a speed or the goal. Duplicates are only counted: how many emails were
in flight when the kill came depends on the moment, and the resend is Crier's documented
behaviour (same Message-ID).
"""

from __future__ import annotations

import math

import pytest

from bench import subscribers


def test_subscribers_bench_tells_everyone_across_a_kill(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sizes = ["--subscribers", "60", "--rate", "100", "--connections", "2"]
    results = subscribers.main([*sizes, "--backends", "sqlite"])

    clean, killed = results["sqlite"]
    assert (clean.run, killed.run) == ("clean", "kill")
    for figures in (clean, killed):
        assert figures.expected == 54  # 6 of the 60 follow only the VPN
        assert figures.lost == 0 and figures.unexpected == 0 and figures.unreadable == 0
        assert figures.left == 0 and figures.outcomes == {"sent": 54}
        assert math.isfinite(figures.ratio) and figures.most_in_a_second > 0
    assert clean.duplicates == 0  # no kill: each email once
    assert killed.killed_after is not None and killed.killed_after >= 27  # half of 54
    assert 0 <= killed.duplicates <= 2  # at most the emails in flight (2 connections)
    out = capsys.readouterr().out
    assert "kill -9 after" in out and "ratio" in out
