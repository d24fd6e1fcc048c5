"""The replay guard's cost per request once it is full, against the same guard nearly empty.

``crier serve`` remembers every signed request for Slack's 5-minute window (up to 100,000) to
refuse a replay. Under a flood it is full, and each request then also drops the oldest entry.
Its cost per request must not grow with what it remembers: the ratio printed is the time per
request with 100,000 remembered ÷ the time with 1,000. 100,000 entries outgrow the CPU's caches,
so some growth is expected (goal ≤ 2); growth with the number remembered is not (a plain dict,
which scans past the entries deleted from its front, gave 15 on a short run, 100 on a long one).

    python -m bench.replays [--quick]
"""

from __future__ import annotations

import time

from bench.figures import base_parser, ratio, verdict
from handlers.slack.app import REPLAYS_REMEMBERED, ReplayGuard

GOAL = 2.0
SIGNATURE = "v0=" + "5f" * 32  # as long as Slack's


def per_request(remembered: int, requests: int) -> float:
    """Seconds per new request for a guard that already holds ``remembered`` and is full."""
    guard = ReplayGuard(most=remembered)
    for n in range(remembered):
        guard.first_time(str(n), SIGNATURE)
    began = time.perf_counter()
    for n in range(remembered, remembered + requests):
        guard.first_time(str(n), SIGNATURE)
    return (time.perf_counter() - began) / requests


def main(argv: list[str] | None = None) -> float:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "replays")
    args = parser.parse_args(argv)
    requests = 50_000 if args.quick else 200_000
    small = per_request(1_000, requests)
    full = per_request(REPLAYS_REMEMBERED, requests)
    found = ratio(full, small)
    print(
        f"replays: {requests} requests through a full replay guard; "
        f"1,000 remembered {small * 1e6:.2f} µs each, {REPLAYS_REMEMBERED:,} remembered "
        f"{full * 1e6:.2f} µs each: ratio {found:.2f} (goal <= {GOAL}: {verdict(found, GOAL)})"
    )
    return found


if __name__ == "__main__":
    main()
