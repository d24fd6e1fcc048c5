"""The processes a Slack benchmark runs: the simulated Slack, the bare bolt app (the baseline)
and ``crier serve`` on a throw-away database, each on 127.0.0.1, port 0; and what Crier has done,
read from its database.

    with slack_simulator(record=path) as slack, crier_serve(slack, url, folder) as crier:
        ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from bench.crier_setup import write_bench_config
from bench.processes import ServerProcess, clean_environment, crier_command
from bench.slack_simulator import BOT_TOKEN, SIGNING_SECRET

# The most the settings allow (bot/config.py); the load's analysts take turns besides.
DECLARATIONS_PER_MINUTE = "1000"


def slack_env(slack: ServerProcess) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack.url}/api/",
    }


@contextmanager
def slack_simulator(
    *, give_way: bool = False, record: Path | None = None
) -> Iterator[ServerProcess]:
    """Slack's stand-in (see ``bench.slack_simulator``); ``record``: where it notes drafts."""
    command = [sys.executable, "-m", "bench.slack_simulator"]
    command += ["--give-way"] if give_way else []
    command += ["--record", str(record)] if record else []
    with ServerProcess.start(command, env=clean_environment({}), name="slack") as slack:
        yield slack


@contextmanager
def bare_bolt(slack: ServerProcess, *, on_return: bool = True) -> Iterator[ServerProcess]:
    """The baseline; ``on_return``: it answers when its listener returns, the quickest a bolt
    app can (False: bolt's default, which polls every 10 ms for the listener's ack)."""
    command = [sys.executable, "-m", "bench.bare_bolt"]
    env = clean_environment(
        {**slack_env(slack), "BARE_ANSWERS_ON_RETURN": "1" if on_return else ""}
    )
    with ServerProcess.start(command, env=env, name="bare") as app:
        yield app


def crier_env(
    slack: ServerProcess | None, database_url: str, config: Path, **extra: str
) -> dict[str, str]:
    """Crier's environment for a benchmark: no network credentials (``extra`` may add some)."""
    return clean_environment(
        {
            **(slack_env(slack) if slack else {}),
            "CRIER_DATABASE_URL": database_url,
            "CRIER_CONFIG": str(config),
            "CRIER_PUBLIC_URL": "http://127.0.0.1:9",
            "CRIER_LOG_LEVEL": "WARNING",
            "CRIER_DECLARATIONS_PER_MINUTE": DECLARATIONS_PER_MINUTE,
            **extra,
        }
    )


@contextmanager
def crier_serve(
    slack: ServerProcess, database_url: str, folder: Path, **extra: str
) -> Iterator[ServerProcess]:
    """``crier serve --port 0`` with Slack at the simulator and no network credentials (every
    post goes to the outbox)."""
    config = write_bench_config(folder / "crier.yml")
    env = crier_env(slack, database_url, config, **extra)
    command = [*crier_command(), "serve", "--host", "127.0.0.1", "--port", "0"]
    with ServerProcess.start(command, env=env, name="crier") as crier:
        yield crier


@dataclass(frozen=True)
class Counts:
    incidents: int
    approved: int
    deliveries: int
    sent: int


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
