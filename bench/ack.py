"""Ack latency under load: ``crier serve`` against a bare slack-bolt app, 50 clients, 20 s.

Three processes besides this one: a simulated Slack workspace (``bench.slack_simulator``), the
server under test — ``crier serve --port 0`` on a throw-away database, or the bare bolt app that
acks and does nothing (``bench.bare_bolt``) — each on 127.0.0.1, port 0. This process runs the
clients (``bench.slack_load``): each sends a signed ``/outage Service: summary`` (which declares
an incident and drafts its posts), then an *Approve* click on a draft such a command made (which
publishes it, here to the outbox), and so on, the next request as soon as the last was answered.

That is the saturating load the issue asks for; ``--pace S`` makes each client send one request
every S seconds instead (``--pace 1``: 50 requests a second, a very busy outage), which shows the
ack latency a person sees when Crier is not flooded.

Latency is from sending the request to reading Slack's answer (the ack), which Slack needs
within 3 s. Ratio = Crier's p50 (p99) ÷ the bare app's, measured just before, in the same run
(goal ≤ 1.5). After the load, the time Crier took to finish the work it had acked is shown too.

    python -m bench.ack [--quick] [--clients 50] [--seconds 20] [--pace 1.0] [--backends …]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from bench.crier_setup import write_bench_config
from bench.databases import throwaway_database
from bench.figures import (
    backends_argument,
    base_parser,
    chosen_backends,
    quiet_logs,
    ratio,
    verdict,
)
from bench.processes import ServerProcess, clean_environment, crier_command
from bench.slack_load import WARM_UP_COMMANDS, DraftFeed, LoadResult, SlackLoad
from bench.slack_simulator import BOT_TOKEN, SIGNING_SECRET
from bot.store import normalise_database_url

GOAL = 1.5
SLACK_DEADLINE = 3.0


@dataclass(frozen=True)
class Counts:
    incidents: int
    approved: int
    deliveries: int
    sent: int


@dataclass(frozen=True)
class CrierWork:
    """What Crier had done with what it acked, read from its database: when the load ended,
    and after up to ``--drain`` seconds more."""

    commands_acked: int
    at_end: Counts
    after: Counts
    drained_for: float
    problems: list[str]

    @property
    def incidents_per_second(self) -> float:
        done = self.after.incidents - self.at_end.incidents
        return done / self.drained_for if self.drained_for > 0 else 0.0


@dataclass(frozen=True)
class AckFigures:
    backend: str
    bare: LoadResult
    crier: LoadResult
    work: CrierWork
    bare_problems: list[str]
    bare_on_return: bool = False

    @property
    def p50_ratio(self) -> float:
        return ratio(self.crier.p(50), self.bare.p(50))

    @property
    def p99_ratio(self) -> float:
        return ratio(self.crier.p(99), self.bare.p(99))


def slack_env(slack: ServerProcess) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack.url}/api/",
    }


@contextmanager
def slack_simulator(*, give_way: bool = True) -> Iterator[ServerProcess]:
    """Slack's stand-in; by default at the lowest CPU priority (see ``bench.slack_simulator``)."""
    command = [sys.executable, "-m", "bench.slack_simulator", *(["--give-way"] if give_way else [])]
    with ServerProcess.start(command, env=clean_environment({}), name="slack") as slack:
        yield slack


@contextmanager
def bare_bolt(slack: ServerProcess, *, on_return: bool = False) -> Iterator[ServerProcess]:
    command = [sys.executable, "-m", "bench.bare_bolt"]
    env = clean_environment(
        {**slack_env(slack), "BARE_ANSWERS_ON_RETURN": "1" if on_return else ""}
    )
    with ServerProcess.start(command, env=env, name="bare") as app:
        yield app


@contextmanager
def crier_serve(
    slack: ServerProcess,
    database_url: str,
    folder: Path,
    extra: dict[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """``crier serve --port 0`` with Slack at the simulator and no network credentials."""
    env = clean_environment(
        {
            **slack_env(slack),
            "CRIER_DATABASE_URL": database_url,
            "CRIER_CONFIG": str(write_bench_config(folder / "crier.yml")),
            "CRIER_PUBLIC_URL": "http://127.0.0.1:9",
            "CRIER_LOG_LEVEL": "WARNING",
            **(extra or {}),
        }
    )
    command = [*crier_command(), "serve", "--host", "127.0.0.1", "--port", "0"]
    with ServerProcess.start(command, env=env, name="crier") as crier:
        yield crier


def load(
    server: ServerProcess, slack: ServerProcess, drafts: DraftFeed, **run: float
) -> LoadResult:
    async def go() -> LoadResult:
        client = SlackLoad(url=f"{server.url}/slack/events", simulator_url=slack.url, drafts=drafts)
        await client.warm_up()
        pace = run.get("pace") or None
        return await client.run(clients=int(run["clients"]), seconds=run["seconds"], pace=pace)

    try:
        return asyncio.run(go())
    finally:
        drafts.close()


def counts(engine: Engine) -> Counts:
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM incident),"
                " (SELECT count(*) FROM post WHERE state = 'approved'),"
                " (SELECT count(*) FROM delivery),"
                " (SELECT count(*) FROM delivery WHERE state = 'sent')"
            )
        ).one()
    return Counts(*(int(v) for v in row))


def crier_work(database_url: str, *, commands: int, drain: float) -> tuple[Counts, Counts, float]:
    """Counts at the end of the load, then once every acked command is an incident and every
    delivery is sent, or ``drain`` seconds have passed; and how long that wait was."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        at_end = counts(engine)
        began = time.monotonic()
        after = at_end
        while time.monotonic() - began < drain:
            if after.incidents >= commands and after.sent >= after.deliveries:
                break
            time.sleep(0.25)
            after = counts(engine)
        return at_end, after, time.monotonic() - began
    finally:
        engine.dispose()


def measure(
    slack: ServerProcess,
    *,
    backend: str,
    clients: int,
    seconds: float,
    drain: float,
    pace: float = 0.0,
    bare_on_return: bool = False,
) -> AckFigures:
    run = {"clients": clients, "seconds": seconds, "pace": pace}
    with bare_bolt(slack, on_return=bare_on_return) as bare:
        bare_result = load(bare, slack, DraftFeed(None), **run)
        bare_problems = bare.problems()
    with (
        tempfile.TemporaryDirectory(prefix="crier-ack-") as made,
        throwaway_database(backend, folder=Path(made)) as url,
        crier_serve(slack, url, Path(made)) as crier,
    ):
        crier_result = load(crier, slack, DraftFeed(url), **run)
        commands = len(crier_result.latencies["command"]) + WARM_UP_COMMANDS
        at_end, after, waited = crier_work(url, commands=commands, drain=drain)
        work = CrierWork(commands, at_end, after, waited, crier.problems())
    return AckFigures(backend, bare_result, crier_result, work, bare_problems, bare_on_return)


def _line(name: str, result: LoadResult) -> str:
    failures = sum(result.failures.values())
    return (
        f"  {name:<14} {result.requests:>8} {result.requests / result.seconds:>7.0f} "
        f"{result.p(50) * 1000:>8.0f} ms {result.p(99) * 1000:>7.0f} ms {failures:>9}"
        + (f" {dict(result.failures)}" if failures else "")
    )


def report(
    figures: AckFigures, *, clients: int, seconds: float, pace: float, slack_gives_way: bool
) -> None:
    f = figures
    how = f"one request every {pace:g} s" if pace else "the next as soon as answered"
    slack = "gives way" if slack_gives_way else "at normal priority"
    print(
        f"ack: {clients} clients for {seconds:g} s, each sending /outage and Approve clicks in "
        f"turn to /slack/events, {how}; {f.backend}; simulated Slack {slack}"
    )
    print(f"  {'server':<14} {'requests':>8} {'req/s':>7} {'p50':>11} {'p99':>10} {'failures':>9}")
    print(_line("bare on return" if f.bare_on_return else "bare bolt app", f.bare))
    print(_line("crier serve", f.crier))
    for kind in ("command", "click"):
        values = f.crier.latencies[kind]
        print(
            f"    crier {kind + 's':<8} {len(values):>8} {'':>7} "
            f"{f.crier.p(50, kind) * 1000:>8.0f} ms {f.crier.p(99, kind) * 1000:>7.0f} ms"
        )
    worst = max(f.p50_ratio, f.p99_ratio)
    print(
        f"ratio crier / bare: p50 {f.p50_ratio:.2f}, p99 {f.p99_ratio:.2f} (goal <= {GOAL}: "
        f"{verdict(worst, GOAL)}); crier p99 {f.crier.p(99):.2f} s "
        f"({'under' if f.crier.p(99) < SLACK_DEADLINE else 'OVER'} Slack's {SLACK_DEADLINE:g} s)"
    )
    w = f.work
    print(
        f"crier's work: {w.commands_acked} /outage commands acked"
        f" ({f.crier.busy} of them turned away: 'very busy, nothing saved, try again')"
        "; when the load ended "
        f"{w.at_end.incidents} incidents were declared, {w.at_end.approved} posts approved, "
        f"{w.at_end.sent}/{w.at_end.deliveries} deliveries sent"
    )
    print(
        f"  {w.drained_for:.0f} s later: {w.after.incidents} incidents "
        f"({w.incidents_per_second:.0f}/s declared after the load), {w.after.approved} approved, "
        f"{w.after.sent}/{w.after.deliveries} sent"
        + (f"; {len(w.problems)} error lines in its log" if w.problems else "")
    )
    for line in w.problems[:5]:
        print(f"    {line[:160]}")


def main(argv: list[str] | None = None) -> dict[str, AckFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "ack")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None, help="per server (20; quick 5)")
    parser.add_argument(
        "--drain", type=float, default=None, help="seconds to watch Crier's backlog (10; quick 5)"
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="seconds between one client's requests (default 0: as soon as answered)",
    )
    parser.add_argument(
        "--bare-on-return",
        action="store_true",
        help="the bare app answers when its listener returns (process_before_response, as Crier "
        "does) rather than bolt's default, which polls every 10 ms for the ack",
    )
    parser.add_argument(
        "--slack-at-normal-priority",
        action="store_true",
        help="run the simulated Slack at normal CPU priority, competing with the server under "
        "test for this machine's CPU (by default it gives way, as Slack's servers are elsewhere)",
    )
    backends_argument(parser)
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    drain = args.drain if args.drain is not None else (5.0 if args.quick else 10.0)
    results: dict[str, AckFigures] = {}
    with slack_simulator(give_way=not args.slack_at_normal_priority) as slack:
        for backend in chosen_backends(args):
            results[backend] = measure(
                slack,
                backend=backend,
                clients=args.clients,
                seconds=seconds,
                drain=drain,
                pace=args.pace,
                bare_on_return=args.bare_on_return,
            )
            report(
                results[backend],
                clients=args.clients,
                seconds=seconds,
                pace=args.pace,
                slack_gives_way=not args.slack_at_normal_priority,
            )
    return results


if __name__ == "__main__":
    main()
