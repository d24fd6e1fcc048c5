"""The console script: start-up checks, the database, the outbox and the export."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlmodel import select

from bot.config import STARTER_CONFIG
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.schema import head_revision, upgrade
from bot.storage.store import open_store
from handlers.main import main, parser
from tests.conftest import APPROVER, make_config


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("CRIER_DATABASE_URL", database_url)
    monkeypatch.setenv("CRIER_CONFIG", str(STARTER_CONFIG))
    monkeypatch.chdir(tmp_path)
    return database_url


def test_a_bad_config_stops_start_up_naming_the_key(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["organisation"]["time_zone"] = "Mars/Olympus"
    raw["services"][0]["default_channels"] = ["x", "linkedin"]
    bad = tmp_path / "crier.yml"
    bad.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CRIER_CONFIG", str(bad))
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "organisation.time_zone" in err and "Mars/Olympus" in err
    raw["organisation"]["time_zone"] = "Europe/London"
    bad.write_text(yaml.safe_dump(raw))
    assert main(["config"]) == 2
    assert "'linkedin', which is not enabled" in capsys.readouterr().err


def test_serve_refuses_a_database_at_another_revision(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(env)
    upgrade(store)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    try:
        assert main(["serve", "--port", "0"]) == 2
        assert "run `crier db upgrade`" in capsys.readouterr().err
    finally:
        with store.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"),
                {"head": head_revision()},
            )
        store.dispose()


async def test_outbox_and_export_show_what_was_published(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(env)
    upgrade(store)
    core = build_core(settings=Settings(), config=make_config(), store=store)
    draft = await core.declare(
        Actor("slack", "U0ANALYST1", name="ann.lee"),
        DeclareRequest(service="Email", summary="outlook is down"),
    )
    await core.approve(Actor("slack", APPROVER), draft.post.id)
    await core.publishing.run_once()
    store.dispose()

    assert main(["outbox", "--limit", "2"]) == 0
    listing = capsys.readouterr().out
    assert len(re.findall(r"^#\d+ · ", listing, flags=re.M)) == 2
    ids = [int(n) for n in re.findall(r"^#(\d+)", listing, flags=re.M)]
    assert ids == sorted(ids, reverse=True)  # newest first

    assert main(["export", str(draft.incident.id)]) == 0
    timeline = capsys.readouterr().out
    assert timeline.startswith(f"# Incident #{draft.incident.id}: Email — outlook is down")
    for line in (
        "ann.lee (slack:U0ANALYST1) declared the incident",  # people by name, where known
        "ann.lee (slack:U0ANALYST1) drafted post 1 (first public post)",
        f"slack:{APPROVER} approved post 1",
        "Crier published to X:",  # channels by name, not by id
        "### Post 1 on Status page: sent",
        "- Status: Investigating",
        "by ann.lee (slack:U0ANALYST1)\n",  # the header names them too
        "- Severity: Critical",  # its label, not "sev1"
    ):
        assert line in timeline, line
    zone = make_config().organisation.zone
    assert re.search(rf"^- \d{{4}}-\d\d-\d\d \d\d:\d\d {datetime.now(zone):%Z} · ", timeline, re.M)
    assert main(["export", "999"]) == 1


def test_db_upgrade_and_status(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "status"]) == 0
    head = head_revision()
    assert f"database revision: {head}; this Crier needs: {head}" in capsys.readouterr().out


def test_serve_starts_on_an_empty_database_and_answers_health(tmp_path: Path) -> None:
    """The real console script, as a person runs it."""
    crier = Path(sys.executable).with_name("crier")
    environment = {
        **os.environ,
        "CRIER_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}",
        "CRIER_CONFIG": str(STARTER_CONFIG),
    }
    environment.pop("SLACK_BOT_TOKEN", None)
    process = subprocess.Popen(
        [str(crier), "serve", "--port", "0"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        address = None
        while address is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "crier serve exited early"
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            address = found.group(1) if found else None
        assert address, "crier serve did not say where it listens"
        with urllib.request.urlopen(f"{address}/healthz", timeout=5) as response:
            assert response.status == 200
            assert b'"database": "ok"' in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_calendar_add_proposes_as_a_named_operator_and_list_shows_it_waiting(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI proposes; an approver in chat schedules (README: the content calendar)."""
    from bot.storage.models import AuditEvent, ScheduledPost

    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    add = ["calendar", "add", "--at", "2099-03-02T10:00", "--channels", "x,mastodon"]
    assert main([*add, "--as", "ops.jo", "Tip: lock your screen when you step away."]) == 0
    said = capsys.readouterr().out
    assert "Proposed #1 as cli:ops.jo for Mon 02 Mar 10:00 AM EST on x, mastodon." in said
    assert "once an approver (not you) approves it" in said
    assert main([*add[:5], "statuspage", "Nope"]) == 2
    assert "does not post to statuspage" in capsys.readouterr().err
    assert main([*add, "--as", "jo; rm -rf /", "Nope"]) == 2
    assert "--as" in capsys.readouterr().err
    assert main(["calendar", "list"]) == 0
    listing = capsys.readouterr().out
    assert (
        "#1 · Mon 02 Mar 10:00 AM EST · x, mastodon · pending: proposed by cli:ops.jo, "
        "waits for an approver" in listing
    )
    store = open_store(env)
    with store.transaction() as session:
        [post] = session.exec(select(ScheduledPost)).all()
        [added] = session.exec(select(AuditEvent).where(AuditEvent.action == "calendar_add")).all()
    store.dispose()
    assert post.state == "pending" and post.created_by == "cli:ops.jo"
    assert added.actor == "cli:ops.jo"


def test_the_cli_operator_is_the_os_user_without_as(
    env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "night.shift")  # what getpass.getuser() reads first
    assert main(["db", "upgrade"]) == 0
    add = ["calendar", "add", "--at", "2099-03-02T10:00", "--channels", "x", "Tip: updates"]
    assert main(add) == 0
    assert "Proposed #1 as cli:night.shift" in capsys.readouterr().out


def test_crier_yml_calendar_entries_are_scheduled_once(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.server import open_crier

    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["calendar"] = [
        {"text": "Weekly tip: back up your files.", "at": "2099-01-05T09:30", "channels": ["x"]},
        {"text": "Long gone.", "at": "2020-01-05T09:30", "channels": ["x"]},
    ]
    path = tmp_path / "crier.yml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CRIER_CONFIG", str(path))
    for _ in range(2):  # a restart must not schedule it again
        crier = open_crier(Settings())
        crier.core.store.dispose()
    store = open_store(env)
    with store.transaction() as session:
        from bot.storage.models import ScheduledPost

        posts = session.exec(select(ScheduledPost)).all()
    store.dispose()
    assert [p.text for p in posts] == ["Weekly tip: back up your files."]
    # crier.yml is reviewed like code: its entries count as approved.
    assert posts[0].state == "scheduled" and posts[0].decided_by == "config:crier.yml"


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["outbox", "--network", "twitter"], "invalid choice: 'twitter' (choose from 'x', "),
        (
            ["calendar", "add", "--at", "2026-12-10T10:00", "--channels", "x,tiktok", "Tip"],
            "unknown channel 'tiktok': choose from x, facebook,",
        ),
    ],
)
def test_an_unknown_network_is_an_error_that_names_the_known_ones(
    env: str, capsys: pytest.CaptureFixture[str], command: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(command)
    assert exit_.value.code == 2 and said in capsys.readouterr().err


def test_every_option_says_what_it_does() -> None:
    """Each sub-command's --help describes every option and argument (issue 17)."""
    pending = [parser()]
    while pending:
        command = pending.pop()
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())
                for sub in action.choices.values():
                    assert sub.description, f"{sub.prog} --help says nothing of what it does"
            elif not isinstance(action, argparse._HelpAction):
                assert action.help, f"{command.prog}: {action.dest} has no help"


def test_db_status_creates_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Looking is not setting up: an empty crier.db would hide the sandbox's data after."""
    monkeypatch.setenv("CRIER_DATABASE_URL", f"sqlite:///{tmp_path / 'crier.db'}")
    assert main(["db", "status"]) == 0
    assert "database revision: none (no file" in capsys.readouterr().out
    assert not (tmp_path / "crier.db").exists()
