"""No secret appears in anything a ``crier`` command prints, whatever a network echoes back.

The hostile run found ``crier channels check`` printing ``X refused Crier's credentials (401):
Unauthorized: Bearer <the X token>``: the CLI built its HTTP client without the redactor. Here
every network (and Slack) echoes the credentials it is sent, and every sub-command of ``crier``
runs with every secret set; its stdout, stderr and log are searched for each secret.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from bot.cli import run
from bot.config import STARTER_CONFIG, Network, load_config
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.maintenance import series
from bot.maintenance.series import MaintenanceRequest
from bot.maintenance.window import local_window
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.schema import upgrade
from bot.storage.store import open_store
from bot.subscriptions import subscribers
from handlers.main import main, parser
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.fakes.echo_network import EchoNetwork
from tests.fakes.in_thread import NetworksInThread
from tests.fakes.networks.mastodon import FakeMastodon
from tests.fakes.networks.x import FakeX
from tests.hostile.test_secrets import CHANNELS, SECRETS, leaks
from tests.processes import CRIER

MORE_SECRETS = {
    "INSTAGRAM_ACCESS_TOKEN": "SECRET-instagram-1c1c",
    "X_API_SECRET": "SECRET-x-api-secret-2d2d",
    "X_ACCESS_TOKEN_SECRET": "SECRET-x-access-secret-3e3e",
    "CRIER_SITE_SECRET": "SECRET-site-key-4f4f",
    # A relay that is never reached (no email is sent here): only its password is searched for.
    "CRIER_SMTP_URL": "smtp://crier:SECRET-smtp-5a5a@127.0.0.1:9/?starttls=never",
}
ALL_SECRETS = {**SECRETS, **MORE_SECRETS}
ECHO_HOOK = "https://hooks.example.edu/status"  # a webhook subscriber, never called here


def everything_leaked(text: str) -> list[str]:
    """The secrets in ``text``; every one holds "SECRET-", so a piece of one (a message cut
    before it was masked) is found too."""
    found = [*leaks(text), *(n for n, s in MORE_SECRETS.items() if s in text)]
    return found or (["a piece of a secret"] if "SECRET-" in text else [])


@pytest.fixture
def networks() -> Iterator[NetworksInThread]:
    served = NetworksInThread()
    yield served
    served.close()


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    for name, value in ALL_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MicrosoftAppId", "00000000-0000-4000-8000-00000000c1e7")
    return ALL_SECRETS


def write_config(tmp_path: Path, channels: dict[str, Any]) -> Path:
    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["channels"] = channels
    raw["slack"] = {"comms_channel": COMMS}
    raw["approvals"] = {"slack_users": [APPROVER]}
    raw["services"] = [{"name": "Email", "aliases": ["mail"], "default_channels": CHANNELS}]
    path = tmp_path / "crier.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


# --- the hole the hostile run found -------------------------------------------------------------


def test_channels_check_never_prints_a_token_a_network_echoes(
    networks: NetworksInThread,
    secret_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    x, mastodon = networks.serve(FakeX()), networks.serve(FakeMastodon())
    x_token, mastodon_token = secret_env["X_BEARER_TOKEN"], secret_env["MASTODON_ACCESS_TOKEN"]
    x.fail_next(401, {"title": "Unauthorized", "detail": f"Unauthorized: Bearer {x_token}"})
    mastodon.fail_next(401, {"error": f"The access token {mastodon_token} is invalid"})
    channels = {
        "x": {"base_url": x.base_url, "account": "northfieldit"},
        "mastodon": {"base_url": mastodon.base_url},
    }
    monkeypatch.setenv("CRIER_CONFIG", str(write_config_only(tmp_path, channels)))
    monkeypatch.setenv("CRIER_DATABASE_URL", f"sqlite:///{tmp_path / 'crier.db'}")

    assert main(["channels", "check"]) == 1

    out, err = capsys.readouterr()
    assert "X refused Crier's credentials (401): Unauthorized: Bearer [redacted]" in out, out
    assert "The access token [redacted] is invalid" in out, out
    assert not everything_leaked(out + err + caplog.text)
    assert x.arrivals == ["GET /2/users/me"]  # it was asked, and it echoed
    assert mastodon.arrivals == ["GET /api/v1/accounts/verify_credentials"]


def write_config_only(tmp_path: Path, channels: dict[str, Any]) -> Path:
    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["channels"] = channels
    raw["services"] = [{"name": "Email", "default_channels": list(channels)}]
    path = tmp_path / "crier.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_whatever_a_command_prints_or_raises_is_masked(
    secret_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The net under every command, whatever a future one forgets: its output, a secret split
    across two writes, and the traceback of what it raises."""
    token, x_token = secret_env["SLACK_BOT_TOKEN"], secret_env["X_BEARER_TOKEN"]

    def careless(args: argparse.Namespace, settings: Settings) -> int:
        print("the token is", token)
        print("and", x_token[:7], end="", flush=True)
        print(x_token[7:], file=sys.stdout)
        print(f"to stderr: {secret_env['MicrosoftAppPassword']}", file=sys.stderr)
        raise RuntimeError(f"refused {secret_env['MASTODON_ACCESS_TOKEN']}")

    assert run(argparse.Namespace(run=careless)) == 1
    out, err = capsys.readouterr()
    assert out == "the token is [redacted]\nand [redacted]\n", out
    assert "to stderr: [redacted]" in err and "RuntimeError: refused [redacted]" in err, err
    assert "Traceback" in err and not everything_leaked(out + err)


# --- every command ----------------------------------------------------------------------------


def commands(command_parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every leaf sub-command of ``crier``, as "db upgrade", "outbox" …"""
    found: set[str] = set()
    for action in command_parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= commands(sub, (*prefix, name)) or {" ".join((*prefix, name))}
    return found


IN_PROCESS = {
    "db upgrade": ["db", "upgrade"],
    "db status": ["db", "status"],
    "outbox": ["outbox"],
    "export": ["export", "1"],
    "templates": ["templates"],
    "config": ["config"],
    "channels check": ["channels", "check"],
    "calendar add": [
        *("calendar", "add", "--at", "2099-03-02T10:00", "--channels", "x,mastodon"),
        *("--as", "ops.jo", "Tip: lock your screen."),
    ],
    "calendar list": ["calendar", "list"],
    "site export": ["site", "export", "--out", "exported-site"],  # in the test's own folder
    "maintenance list": ["maintenance", "list"],
    "maintenance export": ["maintenance", "export", "1"],
    "subscribers list": ["subscribers", "list"],
    "subscribers export": ["subscribers", "export"],
    "subscribers add-webhook": ["subscribers", "add-webhook", "https://hooks.example.edu/c"],
    "subscribers key": ["subscribers", "key", "1"],  # the webhook subscriber the world has
    "subscribers remove": ["subscribers", "remove", "1"],
    "teams-package": ["teams-package", "--out", "crier-teams.zip"],
}
# Long-running: started as a person starts them, then stopped as a service manager does.
AS_PROCESS = {
    "serve": (["serve", "--port", "0"], "listening on"),
    "worker": (["worker"], "is working, publishing and reminding"),
    "sandbox": (["sandbox", "--port", "0"], "Crier sandbox: open"),
}


def test_every_command_is_searched() -> None:
    assert commands(parser()) == set(IN_PROCESS) | set(AS_PROCESS)


@pytest.fixture
def leaky_world(
    networks: NetworksInThread,
    secret_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> EchoNetwork:
    """Every network and Slack echo the credentials they are sent, and the database holds an
    incident whose deliveries failed that way (their stored errors are printed by export)."""
    echo = networks.serve(EchoNetwork())
    channels: dict[str, Any] = {
        name: {"enabled": True, "base_url": echo.base_url, "account": "it-example"}
        for name in CHANNELS
    }
    channels["webhook"]["url"] = f"{echo.base_url}/hooks/status"
    monkeypatch.setenv("CRIER_CONFIG", str(write_config(tmp_path, channels)))
    monkeypatch.setenv("CRIER_DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_API_URL", f"{echo.base_url}/api/")
    monkeypatch.setenv("CRIER_PUBLIC_URL", "http://crier.test")
    monkeypatch.chdir(tmp_path)  # what a command writes (the exported site) stays here
    asyncio.run(failed_deliveries())
    return echo


async def failed_deliveries() -> None:
    settings = Settings()  # the secrets come from the environment, as in production
    store = open_store(settings.database_url)
    upgrade(store)
    core = build_core(
        settings=settings, config=load_config(settings.resolved_config_path()), store=store
    )
    try:
        draft = await core.declare(
            Actor("slack", ANALYST), DeclareRequest(service="Email", summary="outlook is down")
        )
        await core.approve(Actor("slack", APPROVER), draft.post.id)
        await core.publishing.run_once()
        with store.transaction() as session:
            failed = session.exec(
                select(Delivery).where(Delivery.state == DeliveryState.FAILED)
            ).all()
        assert {d.channel for d in failed} == set(CHANNELS)
        # A planned maintenance and a webhook subscriber, for the commands that show them.
        zone = core.config.organisation.zone
        day = (datetime.now(zone) + timedelta(days=10)).date()
        window = local_window(day, time(2), day, time(6), zone)
        request = MaintenanceRequest(
            services=("Email",),
            title="moving to new servers",
            what_users_notice="",
            what_to_do="",
            window=window,
            announce_at=None,
            remind_before=None,
            channels=(Network.X,),
        )
        with store.transaction() as session:  # as written, not shown: nothing to post here
            now = datetime.now(UTC)
            series.propose(
                session,
                config=core.config,
                drafter=core.drafter,
                actor=Actor("slack", ANALYST),
                request=request,
                now=now,
            )
            subscribers.add_webhook(session, ECHO_HOOK, (), now=now)
    finally:
        await core.close()
        store.dispose()


@pytest.mark.parametrize("name", sorted(IN_PROCESS))
def test_no_command_prints_a_secret(
    name: str,
    leaky_world: EchoNetwork,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    capsys.readouterr()
    code = main(IN_PROCESS[name])
    out, err = capsys.readouterr()
    said = out + err + caplog.text
    assert not everything_leaked(said), said
    assert "Traceback" not in said, said
    if name == "channels check":
        assert code == 1 and "[redacted]" in out  # the networks echoed, and were masked
    else:
        assert code == 0, said
    if name == "export":
        assert "[redacted]" in out  # the stored errors it prints held the echoed tokens
    if name == "site export":  # the public pages, feeds and JSON: never a secret in any
        for written in Path("exported-site").rglob("*"):
            if written.is_file():
                assert not everything_leaked(written.read_text()), written


@pytest.mark.parametrize("name", sorted(AS_PROCESS))
def test_no_long_running_command_prints_a_secret(name: str, leaky_world: EchoNetwork) -> None:
    argv, started = AS_PROCESS[name]
    environment = dict(os.environ)
    process = subprocess.Popen(
        [CRIER, *argv],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if started in line:
                break
        assert any(started in line for line in seen), "".join(seen)
        if name == "serve":
            # A forged request and a health check: what serve says about them is searched too.
            assert forged(address(seen) + "/slack/events") in (401, 404)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    said = "".join(seen) + rest
    assert not everything_leaked(said), said


def test_serve_takes_its_secrets_from_files(leaky_world: EchoNetwork, tmp_path: Path) -> None:
    """As Docker secrets provide them: NAME_FILE, read at start, never printed."""
    environment = dict(os.environ)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "X_BEARER_TOKEN", "CRIER_DATABASE_URL"):
        path = tmp_path / f"secret-{name}"
        path.write_text(environment.pop(name) + "\n")
        environment[f"{name}_FILE"] = str(path)
    process = subprocess.Popen(
        [CRIER, "serve", "--port", "0"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if "listening on" in line:
                break
        assert any("POST /slack/events" in line for line in seen), "".join(seen)
        assert forged(address(seen) + "/slack/events") == 401
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    said = "".join(seen) + rest
    assert process.returncode == 0, said
    assert "cannot start" not in said, said
    assert "Traceback" not in said, said
    assert not everything_leaked(said), said


def forged(url: str) -> int:
    """A POST carrying a secret in its headers and body, without Slack's signature."""
    secret = ALL_SECRETS["X_API_SECRET"]
    request = urllib.request.Request(
        url, data=f"token={secret}".encode(), headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def address(lines: list[str]) -> str:
    for line in lines:
        if "listening on " in line:
            return line.split("listening on ", 1)[1].split()[0]
    raise AssertionError("".join(lines))
