"""A load generator for one URL, in its own process (the server under test keeps its CPU and
event loop to itself): ``--connections`` clients request the URL back to back for
``--seconds``, and one JSON line of results is printed at the end.

    python -m bench.http_load http://127.0.0.1:PORT/status/ --seconds 10 --connections 16

It prints ``started`` when the first request goes out. ``--revalidate`` asks as a CDN would:
with ``If-None-Match`` carrying the last ETag it received (a 304 keeps it; a 200 replaces it).
The results count the bodies received per ETag, so a caller can tell which builds were served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from bench.figures import percentile


@dataclass
class LoadResults:
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's, user and system: is the load its own limit?
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # unexpected statuses and failed requests
    bodies_by_etag: Counter[str] = field(default_factory=Counter)  # 200s only
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "requests": self.requests,
            "statuses": dict(self.statuses),
            "error_count": len(self.errors),
            "errors": self.errors[:20],  # a sample: the count is what the bench checks
            "bodies_by_etag": dict(self.bodies_by_etag),
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p99_ms": percentile(self.latencies, 99) * 1000,
        }


class Revalidation:
    """The ETag a CDN holds for the URL: the last one a 200 brought."""

    def __init__(self) -> None:
        self.etag: str | None = None

    def headers(self) -> dict[str, str]:
        return {"If-None-Match": self.etag} if self.etag else {}


async def client(
    session: aiohttp.ClientSession,
    url: str,
    deadline: float,
    revalidation: Revalidation | None,
    results: LoadResults,
) -> None:
    while time.perf_counter() < deadline:
        headers = revalidation.headers() if revalidation else {}
        began = time.perf_counter()
        try:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                body = await response.read()
                etag = response.headers.get("ETag", "")
        except (aiohttp.ClientError, TimeoutError) as error:
            results.errors.append(f"{type(error).__name__}: {error}")
            continue
        results.latencies.append(time.perf_counter() - began)
        results.requests += 1
        results.statuses[response.status] += 1
        if response.status == 200 and body:
            results.bodies_by_etag[etag] += 1
            if revalidation is not None:
                revalidation.etag = etag
        elif response.status != 304 or revalidation is None:
            results.errors.append(f"status {response.status}, {len(body)} bytes")


async def load(url: str, *, seconds: float, connections: int, revalidate: bool) -> LoadResults:
    results = LoadResults()
    revalidation = Revalidation() if revalidate else None
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        print("started", flush=True)
        began, cpu_began = time.perf_counter(), time.process_time()
        deadline = began + seconds
        await asyncio.gather(
            *(client(session, url, deadline, revalidation, results) for _ in range(connections))
        )
        results.seconds = time.perf_counter() - began
        results.cpu_seconds = time.process_time() - cpu_began
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--revalidate", action="store_true")
    args = parser.parse_args(argv)
    results = asyncio.run(
        load(
            args.url,
            seconds=args.seconds,
            connections=args.connections,
            revalidate=args.revalidate,
        )
    )
    print(json.dumps(results.summary()), flush=True)


if __name__ == "__main__":
    main()
