"""A database Crier cannot open at start is one clear line and a non-zero exit, not 120 lines and
two tracebacks: where (host and port), why, and what to check, and never the password.

Every command that opens the database says so the same way: serve, worker, db upgrade/status,
outbox, export, calendar, channels check.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import STARTER_CONFIG
from handlers.main import main
from tests.conftest import PG_URL
from tests.fakes.postgres import NO_DATABASE, WRONG_PASSWORD, RefusingPostgres
from tests.processes import CRIER

PASSWORD = "hunter2-Xq9-pw"
COMMANDS = {
    "serve": ["serve", "--port", "0"],
    "worker": ["worker"],
    "db upgrade": ["db", "upgrade"],
    "db status": ["db", "status"],
    "outbox": ["outbox"],
    "export": ["export", "1"],
    "calendar list": ["calendar", "list"],
    "calendar add": [
        *("calendar", "add", "--at", "2099-03-02T10:00", "--channels", "x"),
        *("--as", "ops.jo", "Tip: lock your screen."),
    ],
    "channels check": ["channels", "check"],
}


def closed_port() -> int:
    """A port nothing listens on: bound, then let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRIER_CONFIG", str(STARTER_CONFIG))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)


def refused(
    url: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """Run ``crier argv`` on ``url``: exit 2, one line on stderr, nothing else; that line."""
    monkeypatch.setenv("CRIER_DATABASE_URL", url)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert out == "" and err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and PASSWORD not in err, err
    assert err.startswith("crier: cannot open the database"), err
    return err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_server_that_is_down_is_one_line_in_every_command(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    url = f"postgresql://crier:{PASSWORD}@127.0.0.1:{port}/crier"
    said = refused(url, COMMANDS[name], monkeypatch, capsys)
    assert f"127.0.0.1 port {port}" in said and "connection refused" in said, said
    assert "Check that PostgreSQL is running" in said, said


def test_a_wrong_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = 'password authentication failed for user "crier"'
    with RefusingPostgres(code=WRONG_PASSWORD, message=message) as server:
        url = f"postgresql://crier:{PASSWORD}@127.0.0.1:{server.port}/crier"
        said = refused(url, ["db", "status"], monkeypatch, capsys)
    assert server.passwords and set(server.passwords) == {PASSWORD}  # it was sent, not printed
    assert f"127.0.0.1 port {server.port}" in said, said
    assert 'refused the password of user "crier"' in said, said
    assert "CRIER_DATABASE_URL" in said, said


def test_a_database_that_does_not_exist(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = 'database "crier_nowhere" does not exist'
    with RefusingPostgres(code=NO_DATABASE, message=message, ask_password=False) as server:
        url = f"postgresql://crier:{PASSWORD}@127.0.0.1:{server.port}/crier_nowhere"
        said = refused(url, ["serve", "--port", "0"], monkeypatch, capsys)
    assert 'has no database "crier_nowhere"' in said and "createdb" in said, said


@pytest.mark.skipif(not PG_URL, reason="needs CRIER_TEST_POSTGRES_URL")
def test_a_database_that_does_not_exist_on_the_real_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PG_URL is not None
    missing = f"crier_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_URL).set(database=missing, password=PASSWORD)
    said = refused(
        url.render_as_string(hide_password=False), ["db", "upgrade"], monkeypatch, capsys
    )
    assert f'has no database "{missing}"' in said, said
    assert f"{url.host} port {url.port or 5432}" in said, said


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("notaurl", "is not a database URL"),
        (f"postgresql://crier:{PASSWORD}@db.example.edu:notaport/crier", "port"),
        (f"postgresql://crier:{PASSWORD}@127.0.0.1:99999/crier", "port"),
        (f"mysql://crier:{PASSWORD}@db.example.edu/crier", "SQLite or PostgreSQL"),
        (f"postgresql://crier:{PASSWORD}@no-such-host.invalid/crier", "no-such-host.invalid"),
    ],
)
def test_a_malformed_url(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    said = refused(url, ["outbox"], monkeypatch, capsys)
    assert expected in said and "CRIER_DATABASE_URL" in said, said


def test_a_sqlite_file_in_a_folder_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "not" / "there"
    said = refused(f"sqlite:///{folder / 'crier.db'}", ["db", "upgrade"], monkeypatch, capsys)
    assert f"the folder {folder} does not exist" in said, said


def test_a_sqlite_file_in_a_folder_crier_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() == 0:
        folder = Path("/proc")  # even root cannot make a file there
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
    said = refused(
        f"sqlite:///{folder / 'crier.db'}", ["serve", "--port", "0"], monkeypatch, capsys
    )
    assert f"cannot create or write {folder / 'crier.db'}" in said, said
    assert "permissions" in said, said


def test_a_sqlite_path_through_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    url = f"sqlite:///{tmp_path / 'a-file' / 'crier.db'}"
    said = refused(url, ["db", "status"], monkeypatch, capsys)
    assert f"{tmp_path / 'a-file'} is not a folder" in said, said


def test_serve_as_a_person_runs_it_says_one_line(tmp_path: Path) -> None:
    """The real console script, logging configured as in production: nothing else is said."""
    port = closed_port()
    environment = {
        **os.environ,
        "CRIER_DATABASE_URL": f"postgresql://crier:{PASSWORD}@127.0.0.1:{port}/crier",
        "CRIER_CONFIG": str(STARTER_CONFIG),
    }
    for command in (["serve", "--port", "0"], ["worker"]):
        done = subprocess.run(
            [CRIER, *command],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 2, done
        assert done.stdout == "", done.stdout
        assert done.stderr.count("\n") == 1, done.stderr
        assert f"127.0.0.1 port {port}" in done.stderr and PASSWORD not in done.stderr
