"""The work process ``crier serve`` starts beside itself (``CRIER_WORK_PROCESS``, on by default).

It is ``crier worker`` (publishing and reminders) plus an endpoint on 127.0.0.1 where the serving
process hands over the work its acks promised (``handlers/slack/hands.py``). It gets the same
settings, and a key of its own in its environment, never on its command line; it stops when
``crier serve`` stops, and by itself if ``crier serve`` dies without stopping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr
from pydantic.aliases import AliasChoices

from bot.config import FILE_SUFFIX, Settings
from handlers.slack.hands import WORK_PATH, LocalHands, work_endpoint

log = logging.getLogger(__name__)
START_WITHIN = 60.0  # seconds for the work process to import, check the database and listen
STOP_WITHIN = 30.0  # seconds it may take to finish what it is sending before it is killed
RESTART_AFTER = 1.0  # seconds before a work process that died is started again
RESTART_AT_MOST = 60.0  # seconds between attempts when it keeps dying at start
PARENT_CHECK = 1.0  # seconds between the work process's looks at whether serve is alive


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment that gives another process exactly these settings."""
    env: dict[str, str] = {}
    from_files = {name.lower() for name in os.environ if name.upper().endswith(FILE_SUFFIX)}
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        key = alias.choices[0] if isinstance(alias, AliasChoices) else alias
        value = getattr(settings, name)
        if not isinstance(key, str) or value is None:
            continue
        if f"{key}{FILE_SUFFIX}".lower() in from_files:
            continue  # the other process reads the same file (NAME and NAME_FILE: an error)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@dataclass
class WorkProcess:
    """The running work process; started again if it dies while serve runs."""

    settings: Settings
    token: str = field(repr=False)
    process: asyncio.subprocess.Process | None = None
    url: str = ""
    _watching: asyncio.Task[None] | None = None
    _stopping: bool = False

    @classmethod
    async def start(cls, settings: Settings) -> WorkProcess:
        work = cls(settings=settings, token=secrets.token_urlsafe(32))
        await work._spawn()
        work._watching = asyncio.create_task(work._restart_when_it_dies())
        return work

    async def _spawn(self) -> None:
        env = {**os.environ, **settings_environment(self.settings), "CRIER_WORK_TOKEN": self.token}
        with tempfile.TemporaryDirectory(prefix="crier-work-") as folder:
            port_file = Path(folder) / "port"
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "handlers.main",
                "worker",
                "--take-work",
                "--port-file",
                str(port_file),
                "--parent",
                str(os.getpid()),
                env=env,
                # Its own process group: a Ctrl-C in serve's terminal must not stop it before
                # serve has finished handing it work; serve stops it, or it sees serve is gone.
                # Not its own session: Linux shares CPU between sessions (autogroups) before
                # it looks at nice values, and the work process must give way to serve.
                process_group=0,
            )
            port = await _wait_for_port(self.process, port_file)
        self.url = f"http://127.0.0.1:{port}{WORK_PATH}"
        log.info("the work process (pid %d) takes work on 127.0.0.1:%d", self.process.pid, port)

    async def _restart_when_it_dies(self) -> None:
        failures = 0
        while not self._stopping:
            assert self.process is not None
            code = await self.process.wait()
            if self._stopping:
                return
            log.error("the work process stopped (exit %s) while serve runs: restarting it", code)
            # A process that dies as it starts (a broken crier.yml, no database) is retried
            # ever less often, not in a tight loop.
            await asyncio.sleep(min(RESTART_AFTER * 2**failures, RESTART_AT_MOST))
            try:
                await self._spawn()
                failures = 0
            except RuntimeError as exc:
                failures += 1
                log.error("could not restart the work process: %s", exc)

    async def stop(self) -> None:
        self._stopping = True
        if self._watching is not None:
            self._watching.cancel()
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=STOP_WITHIN)
        except TimeoutError:
            log.error("the work process did not stop within %.0f s: killed", STOP_WITHIN)
            process.kill()
            await process.wait()


async def _wait_for_port(process: asyncio.subprocess.Process, port_file: Path) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_WITHIN
    while loop.time() < deadline:
        if process.returncode is not None:
            raise RuntimeError(
                f"the work process stopped as it started (exit {process.returncode})"
            )
        port = _port_in(port_file)
        if port is not None:
            return port
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=0.05)
    process.kill()
    raise RuntimeError(f"the work process did not start within {START_WITHIN:.0f} s")


def _port_in(port_file: Path) -> int | None:
    text = port_file.read_text() if port_file.exists() else ""
    return int(text) if text.endswith("\n") else None


async def take_work(hands: LocalHands, token: str, port_file: Path) -> web.AppRunner:
    """In the work process: listen on 127.0.0.1 (any free port) and say where, in ``port_file``."""
    runner = web.AppRunner(work_endpoint(hands, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    partial = port_file.with_suffix(".partial")
    partial.write_text(f"{port}\n")
    partial.replace(port_file)  # whole or absent: serve never reads half a number
    return runner


async def watch_parent(parent: int, stop: asyncio.Event) -> None:
    """In the work process: stop when ``crier serve`` is gone (killed, so it could not say so)."""
    while not stop.is_set():
        if os.getppid() != parent:
            log.error("crier serve (pid %d) is gone: the work process stops", parent)
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PARENT_CHECK)
