"""``crier channels check``: a read-only call per enabled network, reported one line each."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from bot.cli import build_parser, run
from bot.config import STARTER_CONFIG, Network
from bot.ports import ChannelCheck, PublishError
from bot.publishing.checks import check_channel, run_channel_check
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.store import Store
from tests.conftest import make_config
from tests.fakes.in_thread import NetworksInThread
from tests.fakes.networks.base import FakeNetwork
from tests.fakes.networks.statuspage import FakeStatuspage
from tests.fakes.networks.webhook import FakeWebhook

API_KEY = "sp-test-key"
PAGE = "kctbh9vrtdwd"
SECRET = "whsec-test-secret"
CREDENTIAL_VARIABLES = [
    "X_BEARER_TOKEN",
    "X_API_KEY",
    "X_API_SECRET",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
    "FACEBOOK_PAGE_TOKEN",
    "INSTAGRAM_ACCESS_TOKEN",
    "MASTODON_ACCESS_TOKEN",
    "BLUESKY_APP_PASSWORD",
    "LINKEDIN_ACCESS_TOKEN",
    "STATUSPAGE_API_KEY",
    "WEBHOOK_SECRET",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def channels(statuspage_url: str, webhook_url: str) -> dict[str, Any]:
    """The starter's social channels (no credentials: outbox), plus the two under test."""
    return {
        "x": {"enabled": True},
        "facebook": {"enabled": True},
        "mastodon": {"enabled": True},
        "bluesky": {"enabled": True},
        "statuspage": {"enabled": True, "base_url": statuspage_url, "account": PAGE},
        "webhook": {"enabled": True, "url": webhook_url},
    }


def lines_by_network(lines: list[str]) -> dict[str, str]:
    return {line.split()[0]: line for line in lines if line.split()[0] in set(Network)}


def nothing_posted(*fakes: FakeNetwork) -> bool:
    return all(r.method in ("GET", "HEAD", "OPTIONS") for f in fakes for r in f.received)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- the check, in the event loop -------------------------------------------------------------


async def test_ready_networks_and_the_outbox_pass(store: Store) -> None:
    statuspage = FakeStatuspage(api_key=API_KEY, page_id=PAGE)
    webhook = FakeWebhook(secret=SECRET)
    async with statuspage, webhook:
        lines: list[str] = []
        code = await run_channel_check(
            config=make_config(channels=channels(statuspage.base_url, webhook.url)),
            settings=Settings(),
            store=store,
            credentials=NetworkCredentials(
                statuspage_api_key=SecretStr(API_KEY), webhook_secret=SecretStr(SECRET)
            ),
            out=lines.append,
        )
        assert nothing_posted(statuspage, webhook)
        assert webhook.deliveries == [] and statuspage.incidents == {}
    assert code == 0
    found = lines_by_network(lines)
    assert list(found) == ["x", "facebook", "mastodon", "bluesky", "statuspage", "webhook", "site"]
    assert "ready" in found["site"] and "served by crier serve at" in found["site"]
    assert "ready" in found["statuspage"] and "Northfield IT Status" in found["statuspage"]
    assert "ready" in found["webhook"]
    # Said once, with what would make it real.
    assert found["x"].split()[1:3] == ["to", "outbox"] and found["x"].count("outbox") == 1
    assert "dry run; set X_BEARER_TOKEN" in found["x"] and "to publish to X" in found["x"]
    assert "set MASTODON_ACCESS_TOKEN to publish to Mastodon" in found["mastodon"]
    assert lines[-1] == "4 to outbox, 3 ready"


async def test_expired_and_unreachable_fail(store: Store) -> None:
    statuspage = FakeStatuspage(api_key=API_KEY, page_id=PAGE)
    async with statuspage:
        lines: list[str] = []
        code = await run_channel_check(
            config=make_config(
                channels=channels(statuspage.base_url, f"http://127.0.0.1:{free_port()}/hook")
            ),
            settings=Settings(),
            store=store,
            credentials=NetworkCredentials(
                statuspage_api_key=SecretStr("sp-revoked-key"), webhook_secret=SecretStr(SECRET)
            ),
            out=lines.append,
        )
        assert nothing_posted(statuspage)
    assert code == 1
    found = lines_by_network(lines)
    assert "expired" in found["statuspage"] and "Could not authenticate" in found["statuspage"]
    assert "sp-revoked-key" not in "\n".join(lines)
    assert "unreachable" in found["webhook"]


class Hangs:
    network = Network.WEBHOOK
    label = "Webhook (hangs)"
    idempotent = True

    async def check(self) -> ChannelCheck:
        await asyncio.sleep(60)
        raise AssertionError("not reached")


class Breaks(Hangs):
    async def check(self) -> ChannelCheck:
        raise PublishError("could not connect to Webhook", transient=True)


async def test_a_check_that_hangs_or_raises_is_reported_not_raised() -> None:
    hung = await check_channel(Hangs(), seconds=0.05)  # type: ignore[arg-type]
    assert hung.state == "unreachable" and "0.05 s" in hung.detail
    broken = await check_channel(Breaks())  # type: ignore[arg-type]
    assert broken.state == "unreachable" and "could not connect" in broken.detail


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def networks() -> Iterator[NetworksInThread]:
    served = NetworksInThread()
    yield served
    served.close()


def write_config(tmp_path: Path, channel_settings: dict[str, Any]) -> Path:
    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["channels"] = channel_settings
    path = tmp_path / "crier.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def crier(*argv: str) -> int:
    parser, _ = build_parser()
    return run(parser.parse_args(list(argv)))


@pytest.mark.parametrize(
    ("key", "webhook_alive", "code", "states"),
    [
        (API_KEY, True, 0, {"statuspage": "ready", "webhook": "ready"}),
        ("sp-revoked-key", True, 1, {"statuspage": "expired", "webhook": "ready"}),
        (API_KEY, False, 1, {"statuspage": "ready", "webhook": "unreachable"}),
    ],
)
def test_crier_channels_check(
    networks: NetworksInThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
    webhook_alive: bool,
    code: int,
    states: dict[str, str],
) -> None:
    statuspage = networks.serve(FakeStatuspage(api_key=API_KEY, page_id=PAGE))
    webhook = networks.serve(FakeWebhook(secret=SECRET))
    webhook_url = webhook.url if webhook_alive else f"http://127.0.0.1:{free_port()}/hook"
    config = write_config(tmp_path, channels(statuspage.base_url, webhook_url))
    monkeypatch.setenv("CRIER_CONFIG", str(config))
    monkeypatch.setenv("CRIER_DATABASE_URL", f"sqlite:///{tmp_path / 'crier.db'}")
    monkeypatch.setenv("STATUSPAGE_API_KEY", key)
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)

    assert crier("channels", "check") == code

    found = lines_by_network(capsys.readouterr().out.splitlines())
    for network, state in states.items():
        assert found[network].split()[1] == state
    for network in ("x", "facebook", "mastodon", "bluesky"):
        assert "to outbox    a dry run; set" in found[network]
    assert nothing_posted(statuspage, webhook)
    assert key not in "\n".join(found.values())
