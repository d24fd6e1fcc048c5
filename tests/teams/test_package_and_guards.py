"""The Teams app package, the card schema check itself, and local mode's limits."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from handlers.main import main
from handlers.teams.package import MANIFEST_VERSION
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.card_schema import problems
from tests.teams.harness import ANALYST, TeamsHarness

APP_ID = "11111111-2222-3333-4444-555555555555"


def test_teams_package_holds_the_manifest_and_both_icons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("CRIER_PUBLIC_URL", "https://crier.northfield.example.edu")
    out = tmp_path / "crier-teams.zip"
    assert main(["teams-package", "--out", str(out)]) == 0
    assert "Upload an app" in capsys.readouterr().out
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color = Image.open(io.BytesIO(package.read("color.png")))
        outline = Image.open(io.BytesIO(package.read("outline.png")))
    assert manifest["manifestVersion"] == MANIFEST_VERSION
    assert f"v{MANIFEST_VERSION}/MicrosoftTeams.schema.json" in manifest["$schema"]
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert set(manifest["bots"][0]["scopes"]) == {"team", "groupChat", "personal"}
    commands = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    assert commands == [
        "outage",
        "update",
        "resolve",
        "list",
        "follow",
        "maintenance",
        "help",
    ]
    assert manifest["validDomains"] == ["crier.northfield.example.edu"]
    assert all(
        len(c["description"]) <= 128 for c in manifest["bots"][0]["commandLists"][0]["commands"]
    )
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert color.size == (192, 192) and outline.size == (32, 32)
    # The outline icon is white on transparent.
    rgba = outline.convert("RGBA")
    pixels = [rgba.getpixel((x, y)) for x in range(32) for y in range(32)]
    colours = {p for p in pixels if isinstance(p, tuple) and p[3] > 0}
    assert colours and all(pixel[:3] == (255, 255, 255) for pixel in colours)


def test_teams_package_needs_the_app_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "x.zip")]) == 2
    assert "MicrosoftAppId" in capsys.readouterr().err


def test_the_schema_check_catches_broken_cards() -> None:
    good = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "ok"}]}
    assert problems(good) == []
    assert problems({**good, "body": [{"type": "TextBlock"}]})  # a TextBlock needs its text
    assert problems({**good, "body": [{"type": "TextBlok", "text": "x"}]})
    assert problems({**good, "version": "1.2"})
    execute = {"type": "Action.Execute", "title": "Go", "verb": "crier.nope"}
    assert any("unknown verb" in p for p in problems({**good, "actions": [execute]}))
    submit = {"type": "Action.Submit", "title": "Go"}
    assert problems({**good, "actions": [submit]})


async def test_local_mode_only_talks_to_this_machine(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    activity = teams._activity(ANALYST, "19:x", type="message", text="help")
    activity["serviceUrl"] = "https://smba.trafficmanager.net/amer/"
    status, _ = await teams.post(activity)
    assert status == 401 and not connector.calls
