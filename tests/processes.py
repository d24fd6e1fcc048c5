"""Starting Crier's processes in tests, and looking at them (Linux /proc)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

CRIER = str(Path(sys.executable).with_name("crier"))


def crier_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``crier worker``; its own words go to ``log``, so a failure says what it saw."""
    with log.open("ab") as sink:
        return subprocess.Popen([CRIER, "worker"], env=env, stdout=sink, stderr=sink)


async def wait_until(
    condition: Callable[[], bool],
    what: str,
    log: Path,
    timeout: float = 60.0,  # noqa: ASYNC109
) -> None:
    """Poll: the things watched live in another process, the database and the fakes."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}; Crier said:\n{tail(log)}") from None


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no output)"


def gone(pid: int) -> bool:
    """Dead: reaped (no /proc entry) or a zombie (its sockets are closed either way)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"
