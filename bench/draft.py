"""Time to draft: ``/outage Service: text`` → the draft with *Approve* in the incident's thread.

Signed ``/outage Service: cannot sign in (load N)`` commands go to ``/slack/events`` at a steady
pace (5 and 20 a second, for 60 s by default), each at its time whatever the answers before it
(people do not wait for each other). ``crier serve --port 0`` runs on a throw-away database with
Slack at a simulator in its own process (``bench.slack_simulator``), which notes the moment each
draft's ``chat.postMessage`` (the one with the *Approve* button) reaches it. Time to draft =
that moment minus the moment the command was sent; the draft's post is matched to its command
through Crier's database (post → incident → "(load N)").

Every command must be answered "Drafting the posts…": any other answer (and anything Crier tells
a person afterwards) is a failure, counted and printed. Goal: p99 time to draft < 1 s at 5 a
second, nothing turned away.

Ack: the same commands at the same pace to a bare slack-bolt app that answers when its listener
returns (``bench.bare_bolt``), measured just before; ratio = Crier's ack p50 (p99) ÷ the bare
app's (goal ≤ 1.5).

    python -m bench.draft [--quick] [--seconds 60] [--rates 5,20] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text

from bench.databases import throwaway_database
from bench.figures import (
    backends_argument,
    base_parser,
    chosen_backends,
    percentile,
    quiet_logs,
    ratio,
    verdict,
)
from bench.processes import ServerProcess
from bench.servers import bare_bolt, crier_serve, slack_simulator
from bench.slack_load import LOAD_NUMBER, DraftFeed, LoadResult, SlackLoad
from bot.storage.store import normalise_database_url

DRAFT_GOAL = 1.0  # seconds, p99, at the goal's pace
GOAL_RATE = 5.0
ACK_GOAL = 1.5
WARM_UP = 5  # commands before the timed ones: the first pay for imports and templates
FIRST_TIMED = 1000  # load numbers of timed commands start here (warm-up ones below)


@dataclass
class PacedRun:
    """One server's answers to commands sent at a steady pace."""

    rate: float
    seconds: float
    result: LoadResult = field(default_factory=LoadResult)
    sent_at: dict[int, float] = field(default_factory=dict)  # load number -> unix time sent
    late: float = 0.0  # the most this sender fell behind its own pace, in seconds

    @property
    def commands(self) -> int:
        return len(self.sent_at)

    @property
    def turned_away(self) -> int:
        return sum(self.result.failures.values()) + sum(self.result.refusals.values())


@dataclass(frozen=True)
class DraftFigures:
    backend: str
    rate: float
    bare: PacedRun
    crier: PacedRun
    to_draft: list[float]  # seconds, one per command whose draft reached the thread
    told: Counter[str]  # what Crier told people after the ack (refusals, failures)
    incidents: int  # incidents in Crier's database at the end (warm-up ones included)
    problems: list[str]  # error lines in Crier's log
    bare_polling: PacedRun | None = None  # with --bare-polling: bolt's default mode too

    @property
    def missing(self) -> int:
        return self.crier.commands - len(self.to_draft)

    def draft_p(self, q: float) -> float:
        return percentile(self.to_draft, q)

    def ack_ratio(self, q: float) -> float:
        return ratio(self.crier.result.p(q, "command"), self.bare.result.p(q, "command"))


async def declare_at_pace(
    load: SlackLoad, *, rate: float, seconds: float, first: int = FIRST_TIMED
) -> PacedRun:
    """Send ``rate * seconds`` commands, one every ``1 / rate`` s, without waiting for answers."""
    run = PacedRun(rate=rate, seconds=seconds)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=0)  # a late answer never holds up the next command
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        sending: list[asyncio.Task[bool]] = []
        began = time.monotonic() + 0.05
        for i in range(round(rate * seconds)):
            due = began + i / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            run.late = max(run.late, time.monotonic() - due)
            run.sent_at[first + i] = time.time()
            sending.append(
                asyncio.create_task(load.send(session, "command", run.result, number=first + i))
            )
        await asyncio.gather(*sending)
    return run


async def warm_up(load: SlackLoad) -> None:
    async with aiohttp.ClientSession() as session:
        scratch = LoadResult()
        for number in range(1, WARM_UP + 1):
            await load.send(session, "command", scratch, number=number)
    if scratch.failures or scratch.refusals:
        raise RuntimeError(
            f"the app refused the warm-up: {dict(scratch.failures)} {dict(scratch.refusals)}"
        )


def read_record(path: Path) -> tuple[dict[int, float], Counter[str]]:
    """The simulator's record: when each draft (by post id) reached Slack, and what was told."""
    drafts: dict[int, float] = {}
    told: Counter[str] = Counter()
    if not path.exists():
        return drafts, told
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if "post_id" in entry:
            drafts.setdefault(int(entry["post_id"]), float(entry["at"]))  # the first posting
        else:
            told[str(entry["told"])] += 1
    return drafts, told


def load_numbers(database_url: str, post_ids: list[int]) -> dict[int, int]:
    """Post id -> the load number of the command that declared its incident."""
    if not post_ids:
        return {}
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT post.id, incident.summary FROM post"
                    " JOIN incident ON incident.id = post.incident_id"
                )
            ).all()
    finally:
        engine.dispose()
    wanted = set(post_ids)
    found = {}
    for post_id, summary in rows:
        match = LOAD_NUMBER.search(str(summary))
        if int(post_id) in wanted and match:
            found[int(post_id)] = int(match.group(1))
    return found


def incident_count(database_url: str) -> int:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM incident")).scalar_one())
    finally:
        engine.dispose()


async def wait_for_drafts(record: Path, expected: int, *, drain: float) -> None:
    """Until ``expected`` drafts have reached Slack, or ``drain`` seconds have passed."""
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline:
        drafts, _ = await asyncio.to_thread(read_record, record)
        if len(drafts) >= expected:
            return
        await asyncio.sleep(0.25)


def measure_bare(rate: float, seconds: float, *, on_return: bool = True) -> PacedRun:
    with slack_simulator() as slack, bare_bolt(slack, on_return=on_return) as bare:
        load = SlackLoad(
            url=f"{bare.url}/slack/events",
            simulator_url=slack.url,
            drafts=DraftFeed(None),
            expect_drafting=False,
        )
        asyncio.run(warm_up(load))
        return asyncio.run(declare_at_pace(load, rate=rate, seconds=seconds))


def measure_crier(
    backend: str,
    *,
    rate: float,
    seconds: float,
    drain: float,
    bare: PacedRun,
    bare_polling: PacedRun | None = None,
) -> DraftFigures:
    with tempfile.TemporaryDirectory(prefix="crier-draft-") as made:
        folder = Path(made)
        record = folder / "slack-record.jsonl"
        with (
            throwaway_database(backend, folder=folder) as url,
            slack_simulator(record=record) as slack,
            crier_serve(slack, url, folder) as crier,
        ):
            run = asyncio.run(
                _crier_run(crier, slack, record, rate=rate, seconds=seconds, drain=drain)
            )
            drafts, told = read_record(record)
            numbers = load_numbers(url, list(drafts))
            incidents = incident_count(url)
            problems = crier.problems()
    to_draft = [
        drafts[post_id] - run.sent_at[number]
        for post_id, number in numbers.items()
        if number in run.sent_at
    ]
    return DraftFigures(
        backend, rate, bare, run, sorted(to_draft), told, incidents, problems, bare_polling
    )


async def _crier_run(
    crier: ServerProcess,
    slack: ServerProcess,
    record: Path,
    *,
    rate: float,
    seconds: float,
    drain: float,
) -> PacedRun:
    load = SlackLoad(
        url=f"{crier.url}/slack/events", simulator_url=slack.url, drafts=DraftFeed(None)
    )
    await warm_up(load)
    await wait_for_drafts(record, WARM_UP, drain=30)
    run = await declare_at_pace(load, rate=rate, seconds=seconds)
    accepted = run.commands - run.turned_away
    await wait_for_drafts(record, WARM_UP + accepted, drain=drain)
    return run


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(f: DraftFigures) -> None:
    print(
        f"draft: /outage at {f.rate:g} a second for {f.crier.seconds:g} s "
        f"({f.crier.commands} commands), until its draft with Approve is in the thread; {f.backend}"
    )
    print(f"  {'server':<22} {'commands':>8} {'ack p50':>10} {'ack p99':>10} {'turned away':>12}")
    runs = [("bare bolt (on return)", f.bare), ("crier serve", f.crier)]
    if f.bare_polling is not None:
        runs.insert(1, ("bare bolt (polling)", f.bare_polling))
    for name, run in runs:
        r = run.result
        print(
            f"  {name:<22} {run.commands:>8} {_ms(r.p(50, 'command')):>10} "
            f"{_ms(r.p(99, 'command')):>10} {run.turned_away:>12}"
        )
    worst = max(f.ack_ratio(50), f.ack_ratio(99))
    print(
        f"ratio crier / bare ack: p50 {f.ack_ratio(50):.2f}, p99 {f.ack_ratio(99):.2f} "
        f"(goal <= {ACK_GOAL}: {verdict(worst, ACK_GOAL)})"
    )
    if f.bare_polling is not None:
        polling = f.bare_polling.result
        print(
            "ratio crier / bare in bolt's default mode (it polls every 10 ms for the ack): "
            f"p50 {ratio(f.crier.result.p(50, 'command'), polling.p(50, 'command')):.2f}, "
            f"p99 {ratio(f.crier.result.p(99, 'command'), polling.p(99, 'command')):.2f}"
        )
    goal = (
        f"goal p99 < {DRAFT_GOAL:g} s: {'ok' if f.draft_p(99) < DRAFT_GOAL else 'OVER'}"
        if f.rate <= GOAL_RATE
        else f"the goal is set at {GOAL_RATE:g} a second"
    )
    print(
        f"time to draft: {len(f.to_draft)}/{f.crier.commands} drafts in the thread; "
        f"p50 {f.draft_p(50):.3f} s, p99 {f.draft_p(99):.3f} s, "
        f"max {f.draft_p(100):.3f} s ({goal})"
    )
    print(
        f"  {f.incidents - WARM_UP} incidents declared; "
        f"sender at most {f.crier.late * 1000:.0f} ms behind its pace"
    )
    for what, n in [*f.crier.result.refusals.items(), *f.crier.result.failures.items()]:
        print(f"  TURNED AWAY {n}x: {what[:160]}")
    for what, n in f.told.items():
        print(f"  TOLD afterwards {n}x: {what[:160]}")
    if f.missing:
        print(f"  MISSING: {f.missing} commands have no draft in the thread")
    for line in f.problems[:5]:
        print(f"  crier logged: {line[:160]}")


def summary(results: list[DraftFigures]) -> None:
    print("draft summary")
    print(
        f"  {'backend':<11} {'rate':>5} {'commands':>8} {'turned away':>11} "
        f"{'ack p99 crier/bare':>22} {'ratio':>6} {'draft p50':>10} {'draft p99':>10}"
    )
    for f in results:
        acks = f"{_ms(f.crier.result.p(99, 'command'))} / {_ms(f.bare.result.p(99, 'command'))}"
        print(
            f"  {f.backend:<11} {f.rate:>4g}/s {f.crier.commands:>8} "
            f"{f.crier.turned_away + sum(f.told.values()):>11} {acks:>22} "
            f"{f.ack_ratio(99):>6.2f} {f.draft_p(50):>8.3f} s {f.draft_p(99):>8.3f} s"
        )


def main(argv: list[str] | None = None) -> list[DraftFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "draft")
    parser.add_argument("--seconds", type=float, default=None, help="per run (60; quick 10)")
    parser.add_argument("--rates", default="5,20", help="declarations a second (5,20)")
    parser.add_argument(
        "--drain", type=float, default=60.0, help="seconds to wait for the last drafts (60)"
    )
    parser.add_argument(
        "--bare-polling",
        action="store_true",
        help="also measure the bare app in bolt's default mode (as Crier runs bolt), which "
        "polls every 10 ms for the listener's ack",
    )
    backends_argument(parser)
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    results: list[DraftFigures] = []
    for rate in (float(r) for r in args.rates.split(",")):
        bare = measure_bare(rate, seconds)
        polling = measure_bare(rate, seconds, on_return=False) if args.bare_polling else None
        for backend in chosen_backends(args):
            results.append(
                measure_crier(
                    backend,
                    rate=rate,
                    seconds=seconds,
                    drain=args.drain,
                    bare=bare,
                    bare_polling=polling,
                )
            )
            report(results[-1])
    summary(results)
    return results


if __name__ == "__main__":
    main()
