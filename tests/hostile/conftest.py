"""The scenario tests' fixtures: the real app, signed requests, the simulated workspace."""

from __future__ import annotations

from tests.scenario.conftest import clock, slack, timed_slack, workspace

__all__ = ["clock", "slack", "timed_slack", "workspace"]
