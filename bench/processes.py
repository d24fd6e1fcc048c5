"""Servers in their own processes: started, asked for the port they bound (127.0.0.1, port 0),
measured (resident memory) and stopped — only the processes a benchmark started itself.

    with ServerProcess.start([sys.executable, "-m", "bench.bare_bolt"], env=env) as bare:
        bare.url, bare.rss_kib()

A process that serves no HTTP (``crier worker``) is started the same way with ``ready=``, a
pattern of the line it prints once it is working; its ``url`` is then empty.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
# Never handed to a server under test: it must publish to the outbox and stay off real Slack.
CREDENTIAL_VARIABLES = (
    "SLACK_APP_TOKEN",
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
    "MicrosoftAppId",
    "MicrosoftAppPassword",
)


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def crier_command() -> list[str]:
    """``crier`` from this virtualenv, as an operator would run it."""
    script = Path(sys.executable).with_name("crier")
    return [str(script)] if script.exists() else [sys.executable, "-m", "handlers.main"]


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    url: str
    log_path: Path
    name: str

    @classmethod
    @contextmanager
    def start(
        cls,
        command: list[str],
        *,
        env: Mapping[str, str],
        name: str,
        timeout: float = 60.0,
        ready: re.Pattern[str] = LISTENING,
    ) -> Iterator[ServerProcess]:
        """Run ``command`` until it prints ``listening on http://127.0.0.1:PORT`` (or a line
        matching ``ready``); stop it after."""
        with tempfile.NamedTemporaryFile(
            "w+", prefix=f"crier-bench-{name}-", suffix=".log", delete=False
        ) as log:
            log_path = Path(log.name)
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                env=dict(env),
                cwd=Path(__file__).resolve().parent.parent,
            )
        server: ServerProcess | None = None
        try:
            assert process.stdout is not None
            url = _wait_for_url(process, process.stdout, timeout, ready)
            if url is None:
                raise RuntimeError(
                    f"{name} did not start (exit {process.poll()}); its log: "
                    f"{log_path.read_text()[-2000:]}"
                )
            server = cls(process=process, url=url, log_path=log_path, name=name)
            yield server
        finally:
            _stop(process)
            if server is None or not server.problems():
                log_path.unlink(missing_ok=True)

    def rss_kib(self) -> int:
        """Resident memory (``VmRSS``) in KiB, with any child processes' (it should have none)."""
        return sum(rss_kib(pid) for pid in [self.process.pid, *children(self.process.pid)])

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def problems(self) -> list[str]:
        """Error lines and tracebacks the server logged (its log is kept if there are any)."""
        if not self.log_path.exists():
            return []
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if " ERROR " in line or line.startswith("Traceback")
        ]


def children(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (Linux: /proc/PID/task/*/children)."""
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in listing.read_text().split():
            found += [int(child), *children(int(child))]
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _wait_for_url(
    process: subprocess.Popen[str], stdout: IO[str], timeout: float, ready: re.Pattern[str]
) -> str | None:
    """The URL the ``ready`` line names ("" if it names none), or None if it never came."""
    found: list[str] = []

    def read() -> None:
        for line in stdout:
            match = ready.search(line)
            if match and not found:
                found.append(match.group(1) if ready.groups else "")
        # keeps reading to the end, so the server never blocks on a full pipe

    threading.Thread(target=read, daemon=True).start()
    deadline = timeout
    while deadline > 0 and not found and process.poll() is None:
        threading.Event().wait(0.05)
        deadline -= 0.05
    return found[0] if found else None


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
