"""Story: after playing in the sandbox, someone reads what it published with the CLI
(``crier outbox``, ``crier export``), and starts ``crier sandbox`` a second time by mistake.

The real console script, in a folder of its own, as a person runs it from a terminal.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from handlers.sandbox.app import ANALYST, CHANNEL_ID, Sandbox
from tests.sandbox.conftest import eventually, start_sandbox
from tests.sandbox.gestures import APPROVER, approve, approve_button, gesture, timeline_with

CRIER = Path(sys.executable).with_name("crier")


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def environment() -> dict[str, str]:
    """The environment of a person who set nothing: Crier's defaults decide."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("CRIER_DATABASE_URL", "CRIER_CONFIG", "CRIER_LOG_LEVEL")
    }


def crier(folder: Path, *args: str) -> Ran:
    done = subprocess.run(
        [str(CRIER), *args],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


async def crier_async(folder: Path, *args: str) -> Ran:
    """``crier`` while this test's own sandbox keeps serving in the event loop."""
    return await asyncio.to_thread(crier, folder, *args)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def incidents_in(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        return int(connection.execute("SELECT count(*) FROM incident").fetchone()[0])


def test_reading_commands_say_in_one_line_that_there_is_no_database_and_create_none(
    tmp_path: Path,
) -> None:
    for command in (["outbox"], ["export", "2"]):
        ran = crier(tmp_path, *command)
        assert ran.code == 2
        said = one_line(ran.err)
        assert f"there is no file {tmp_path / 'crier.db'} yet" in said
        assert "crier-sandbox.db" in said  # where the sandbox's data would be
    ran = crier(tmp_path, "outbox", "--sandbox")
    assert ran.code == 2
    assert "run this in the folder where `crier sandbox` runs" in one_line(ran.err)
    assert list(tmp_path.iterdir()) == []  # reading created nothing


def test_a_database_that_was_never_set_up_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "crier.db").touch()  # what an older Crier's failed read left behind
    for command in (["outbox"], ["export", "2"], ["calendar", "list"]):
        ran = crier(tmp_path, *command)
        assert ran.code == 2
        assert "never set up. `crier db upgrade` sets it up" in one_line(ran.err)
    # Any command that meets a missing table says the same, not a traceback.
    ran = crier(tmp_path, "calendar", "add", "--at", "2099-01-05T10:00", "--channels", "x", "Hi")
    assert ran.code == 2
    assert "the database has none of Crier's tables" in one_line(ran.err)


async def test_outbox_and_export_find_what_the_sandbox_published(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    sandbox = await start_sandbox(f"sqlite:///{tmp_path / 'crier-sandbox.db'}")
    try:
        await publish_an_incident(sandbox, http)

        ran = await crier_async(tmp_path, "outbox")
        assert ran.code == 0, ran.err
        assert "reading the sandbox's crier-sandbox.db" in one_line(ran.err)
        assert re.search(r"^#\d+ · x · .* · incident 1$", ran.out, flags=re.MULTILINE)
        assert "students cannot log in" in ran.out

        ran = await crier_async(tmp_path, "export", "1", "--sandbox")
        assert ran.code == 0, ran.err
        assert ran.err == ""  # asked for by name: nothing to explain
        assert ran.out.startswith("# Incident #1: Blackboard")
        assert not (tmp_path / "crier.db").exists()
    finally:
        await sandbox.stop()


async def publish_an_incident(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    await gesture(
        http,
        sandbox,
        "command",
        user=ANALYST.user_id,
        text="/outage Blackboard: students cannot log in",
    )
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "Approve &amp; publish"))
    ts, block_id = approve_button(sandbox)
    click = {"channel": CHANNEL_ID, "ts": ts, "block_id": block_id, "action_id": "draft_approve"}
    await approve(http, sandbox, APPROVER, click)
    await eventually(lambda: timeline_with(http, sandbox, APPROVER, "is out on X"))


@contextmanager
def running_sandbox(folder: Path) -> Iterator[str]:
    """``crier sandbox --port 0`` in ``folder``; yields the address it printed."""
    process = subprocess.Popen(
        [str(CRIER), "sandbox", "--port", "0"],
        cwd=folder,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "crier sandbox exited early"
            found = re.search(r"^Crier sandbox: open (http://127\.0\.0\.1:\d+)$", line.strip())
            if found:
                hint = process.stdout.readline() + process.stdout.readline()
                assert "crier outbox --sandbox" in hint and "crier export 1 --sandbox" in hint
                yield found.group(1)
                return
        raise AssertionError("crier sandbox did not say where to open it")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


async def test_a_second_sandbox_refuses_and_leaves_the_running_one_s_database(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    database = tmp_path / "crier-sandbox.db"
    with running_sandbox(tmp_path) as address:
        await gesture_at(http, address, "/outage Blackboard: students cannot log in")
        await eventually_async(lambda: incidents_in(database) == 1)

        port = address.rsplit(":", 1)[1]
        ran = await crier_async(tmp_path, "sandbox", "--port", port)  # the same port
        assert ran.code == 2
        said = one_line(ran.err)
        assert f"the port is in use (by a sandbox? open {address})" in said
        assert "Nothing was changed" in said

        ran = await crier_async(tmp_path, "sandbox", "--port", "0")  # a free port, same folder
        assert ran.code == 2
        said = one_line(ran.err)
        assert f"a sandbox already runs in this folder at {address}" in said

        assert incidents_in(database) == 1  # the running sandbox's data, untouched
        async with http.get(address) as response:
            assert response.status == 200  # and it still serves


async def gesture_at(http: aiohttp.ClientSession, address: str, text: str) -> None:
    body = {"user": ANALYST.user_id, "channel": CHANNEL_ID, "text": text}
    async with http.post(f"{address}/api/command", json=body) as response:
        assert response.status == 200


async def eventually_async(check: Callable[[], bool]) -> None:
    """``eventually`` for a check that blocks (reads the database file)."""

    async def checked() -> bool:
        return await asyncio.to_thread(check)

    await eventually(checked)
