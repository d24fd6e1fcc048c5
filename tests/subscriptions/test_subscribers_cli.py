"""``crier subscribers``: add a webhook (its key printed, never stored), list, export, remove."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import STARTER_CONFIG
from bot.storage.models import Subscriber
from bot.storage.schema import upgrade
from bot.storage.store import open_store
from bot.subscriptions import subscribers
from bot.subscriptions.links import Consent
from handlers.main import main

KEY = "a test key, not a real one"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("CRIER_DATABASE_URL", database_url)
    monkeypatch.setenv("CRIER_CONFIG", str(STARTER_CONFIG))
    monkeypatch.setenv("CRIER_SITE_SECRET", KEY)
    monkeypatch.chdir(tmp_path)
    store = open_store(database_url)
    upgrade(store)
    with store.transaction() as session:
        subscribers.confirm(
            session, Consent("ada@example.edu", ("blackboard",)), now=datetime.now(UTC)
        )
    store.dispose()
    return database_url


def test_a_webhook_is_added_listed_exported_and_removed(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "subscribers",
                "add-webhook",
                "https://hooks.example.edu/crier",
                "--services",
                "Blackboard,wi-fi",
            ]
        )
        == 0
    )
    added = capsys.readouterr().out
    key = added.rsplit(": ", 1)[1].strip()
    assert "#2" in added and len(key) == 64
    assert main(["subscribers", "key", "2"]) == 0
    assert capsys.readouterr().out.strip() == key

    assert main(["subscribers", "list"]) == 0
    listing = capsys.readouterr().out
    assert "#1 · email · ada@example.edu · blackboard" in listing
    assert "#2 · webhook · https://hooks.example.edu/crier · blackboard, wi-fi" in listing

    assert main(["subscribers", "export"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [row["address"] for row in exported] == [
        "ada@example.edu",
        "https://hooks.example.edu/crier",
    ]
    assert key not in json.dumps(exported)

    assert main(["subscribers", "remove", "1"]) == 0
    assert "nothing of it is kept" in capsys.readouterr().out
    store = open_store(env)
    with store.transaction() as session:
        assert [s.kind for s in session.exec(select(Subscriber)).all()] == ["webhook"]
    store.dispose()
    assert main(["subscribers", "remove", "1"]) == 1


def test_bad_webhooks_are_refused(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["subscribers", "add-webhook", "http://hooks.example.edu/crier"]) == 2
    assert "https://" in capsys.readouterr().err
    assert main(["subscribers", "add-webhook", "https://h.example.edu", "--services", "x"]) == 2
    assert "There is no service “x”" in capsys.readouterr().err


def test_without_the_site_key_no_webhook_can_be_added(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CRIER_SITE_SECRET")
    assert main(["subscribers", "add-webhook", "https://hooks.example.edu/crier"]) == 2
    assert "CRIER_SITE_SECRET is not set" in capsys.readouterr().err
