"""The Dockerfile, compose.yaml and the systemd unit say what Crier reads and serves.

No Docker engine runs here: the files are read, and the image's health check is run as the
image runs it, against the real app on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import re
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from pydantic import AliasChoices

from bot.config import CrierConfig
from bot.publishing.cards import cards_folder
from bot.publishing.credentials import NetworkCredentials
from bot.settings import FILE_SUFFIX, Settings
from bot.storage.store import Store
from handlers.server import build_crier

ROOT = Path(__file__).resolve().parents[2]
# What the image's `pip install .` reads from the build context.
BUILD_NEEDS = ["pyproject.toml", "README.md", "manifest.yml", "bot", "handlers", "templates"]


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def only(keyword: str) -> str:
    values = [rest for word, rest in instructions() if word == keyword]
    assert values, f"no {keyword} in the Dockerfile"
    return values[-1]  # the last one is the one that counts


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def variables() -> set[str]:
    """Every environment variable Crier reads, with the ``_FILE`` form of each."""
    names: set[str] = set()
    for model in (Settings, NetworkCredentials):
        for field in model.model_fields.values():
            alias = field.validation_alias
            choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
            names |= {choice for choice in choices if isinstance(choice, str)}
    return names | {name + FILE_SUFFIX for name in names}


def test_the_image_runs_crier_serve_as_a_user_of_its_own() -> None:
    assert re.fullmatch(r"python:3\.1[12]-slim", only("FROM"))
    assert only("USER") not in {"root", "0"}
    run = " ".join(rest for word, rest in instructions() if word == "RUN")
    assert "useradd" in run
    assert "install -d -o crier -g crier -m 0750 /tmp/crier-cards" in run  # compose's volume
    assert json.loads(only("ENTRYPOINT")) == ["crier"]
    assert json.loads(only("CMD")) == ["serve", "--host", "0.0.0.0"]
    assert only("STOPSIGNAL") == "SIGTERM"
    assert "pip install ." in only("RUN")
    assert only("EXPOSE") == str(Settings.model_fields["port"].default)


def test_the_build_context_keeps_what_pip_install_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in BUILD_NEEDS:
        assert (ROOT / needed).exists(), needed
        assert not [p for p in patterns if fnmatch(needed, p)], f"{needed} is ignored"
    for kept_out in [".git", ".venv", ".env", "tests", "crier.db", "crier.yml"]:
        assert [p for p in patterns if fnmatch(kept_out, p)], f"{kept_out} is sent to the build"


def test_compose_runs_serve_and_a_worker_on_postgresql_16() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["postgres"]["healthcheck"]["test"]
    assert services["serve"]["command"][0] == "serve"
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["healthcheck"] == {"disable": True}  # it serves no /healthz
    for name in ("serve", "worker"):
        service = services[name]
        assert service["env_file"] == ".env"
        assert service["stop_grace_period"] == "10s"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        url = service["environment"]["CRIER_DATABASE_URL"]
        assert re.fullmatch(
            r"postgresql://crier:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/crier", url
        )
    # A card rendered by a worker is fetched (by Instagram) from serve: one folder for both.
    # On PostgreSQL the cards are in the temporary folder, /tmp in the image.
    url = services["serve"]["environment"]["CRIER_DATABASE_URL"]
    cards = cards_folder(Settings(CRIER_DATABASE_URL=url))
    assert cards == Path(tempfile.gettempdir()) / cards.name
    for name in ("serve", "worker"):
        assert f"cards:/tmp/{cards.name}" in services[name]["volumes"]
    assert "cards" in compose()["volumes"]
    published = services["serve"]["ports"]
    assert published == [f"127.0.0.1:3000:{Settings.model_fields['port'].default}"]


def test_every_variable_the_files_set_is_one_crier_reads() -> None:
    known = variables()
    services = compose()["services"]
    for name in ("serve", "worker"):
        assert set(services[name]["environment"]) <= known
    for word, rest in instructions():
        if word == "ENV":
            names = {pair.split("=", 1)[0] for pair in rest.split()}
            assert not {n for n in names if n.startswith(("CRIER_", "SLACK_"))} - known
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy" / "crier.service").read_text())
    set_there = unit["Service"]["Environment"].split("=", 1)[0]
    assert set_there in known


def test_the_systemd_unit_runs_serve_as_crier_and_stops_in_time() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy" / "crier.service").read_text())
    service = unit["Service"]
    assert service["User"] == "crier"
    program, *arguments = service["ExecStart"].split()
    assert program.endswith("/bin/crier") and arguments == ["serve"]
    assert service["EnvironmentFile"].startswith("/etc/crier/")
    assert service["Restart"] == "on-failure"
    assert service["TimeoutStopSec"] == "15"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.fixture
async def served(store: Store, config: CrierConfig) -> AsyncIterator[int]:
    """The app ``crier serve`` builds, on a port of its own; yields the port."""
    crier = build_crier(settings=Settings(), config=config, store=store)
    runner = web.AppRunner(crier.web)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def health_check(port: int) -> int:
    """The image's HEALTHCHECK command, run as Docker runs it; its exit status."""
    healthcheck = only("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + len("CMD") :])
    assert command[0] == "python" and "/healthz" in command[-1]
    environment = {k: v for k, v in os.environ.items() if k not in {"CRIER_PORT", "PORT"}}
    check = await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:],
        env={**environment, "CRIER_PORT": str(port)},
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(check.wait(), timeout=30)


async def test_the_image_health_check_passes_against_crier(served: int) -> None:
    assert await health_check(served) == 0


async def test_the_image_health_check_fails_when_nothing_answers() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert await health_check(port) != 0
