"""Small helpers every benchmark prints with: percentiles, ratios and one-line results."""

from __future__ import annotations

import argparse
import logging
import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0 to 100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else math.inf


def busiest_window(times: Sequence[float], window: float) -> tuple[int, float]:
    """The most of ``times`` within any ``window`` seconds (sliding, half-open [t, t + window):
    stricter than a network's or a relay's fixed windows), and when that window began, in
    seconds after the first of ``times``; (0, 0.0) for none."""
    ordered, most, began, start = sorted(times), 0, 0.0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        if end - start + 1 > most:
            most, began = end - start + 1, ordered[start] - ordered[0]
    return most, began


def verdict(value: float, goal: float) -> str:
    """``ok`` or ``OVER`` against a goal that is an upper bound."""
    return "ok" if value <= goal else "OVER"


def base_parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark shares: ``--quick`` and ``--verbose``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="a short run (about 20 s) with smaller sizes"
    )
    parser.add_argument("--verbose", action="store_true", help="show Crier's own log lines")
    return parser


def quiet_logs(verbose: bool) -> None:
    """Crier logs every delivery at INFO; a benchmark shows warnings only, unless asked."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # Expected during the rate-limit benchmark: every 429 is logged as a retry.
        logging.getLogger("bot.publishing.loop").setLevel(logging.ERROR)


def backends_argument(parser: argparse.ArgumentParser, default: str = "sqlite,postgresql") -> None:
    """``--backends sqlite,postgresql`` (``--quick`` alone means SQLite only); PostgreSQL is
    skipped, with a note, if it is not up. Read the choice with ``chosen_backends``."""
    parser.add_argument(
        "--backends",
        default=None,
        help=f"comma-separated: sqlite, postgresql (default {default}; with --quick, sqlite)",
    )
    parser.set_defaults(default_backends=default)


def chosen_backends(args: argparse.Namespace) -> list[str]:
    if args.backends is not None:
        return _backends(args.backends)
    return _backends("sqlite" if args.quick else args.default_backends)


def _backends(value: str) -> list[str]:
    from bench.databases import BACKENDS, postgres_available

    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in BACKENDS]
    if unknown:
        raise SystemExit(f"unknown backend(s) {unknown}; use {', '.join(BACKENDS)}")
    if "postgresql" in chosen and not postgres_available():
        print("(PostgreSQL is not reachable: set CRIER_BENCH_POSTGRES_URL; skipping it)")
        chosen.remove("postgresql")
    return chosen
