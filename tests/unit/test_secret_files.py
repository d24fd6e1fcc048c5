"""Every secret setting can come from a file (``NAME_FILE``), as Docker secrets and systemd
credentials provide, so the public accounts' tokens need not sit in a process environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings

from bot.config import ConfigError
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from handlers.main import main

# Every secret Crier reads, by its variable (README: Configuration reference).
SECRET_VARIABLES = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "MicrosoftAppPassword",
    "CRIER_DATABASE_URL",
    "CRIER_SITE_SECRET",
    "CRIER_SMTP_URL",
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
    "LINKEDIN_CLIENT_ID",
    "LINKEDIN_CLIENT_SECRET",
    "STATUSPAGE_API_KEY",
    "WEBHOOK_SECRET",
}
VALUE = "s3cret-from-a-file-Zq81"


def variable(cls: type[BaseSettings], field: str) -> str:
    alias = cls.model_fields[field].validation_alias
    name = alias.choices[0] if isinstance(alias, AliasChoices) else alias
    assert isinstance(name, str)
    return name


def secret_fields(cls: type[BaseSettings]) -> dict[str, str]:
    """The variable of every ``SecretStr`` field: a new secret setting is covered by the test."""
    return {
        variable(cls, name): name
        for name, info in cls.model_fields.items()
        if "SecretStr" in str(info.annotation) and name != "work_token"
    }


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*SECRET_VARIABLES, "CRIER_WORK_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_the_list_here_is_every_secret_setting() -> None:
    found = {*secret_fields(Settings), *secret_fields(NetworkCredentials), "CRIER_DATABASE_URL"}
    assert found == SECRET_VARIABLES


@pytest.mark.parametrize("cls", [Settings, NetworkCredentials])
def test_every_secret_comes_from_its_file_with_one_newline_stripped(
    cls: type[BaseSettings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in secret_fields(cls):
        path = tmp_path / name
        path.write_text(f"{VALUE}-{name}\n")  # as `echo … > file` and Docker secrets write it
        monkeypatch.setenv(f"{name}_FILE", str(path))
    loaded = cls()
    for name, field in secret_fields(cls).items():
        value = getattr(loaded, field)
        assert isinstance(value, SecretStr), name
        assert value.get_secret_value() == f"{VALUE}-{name}", name


def test_only_one_trailing_newline_is_stripped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"  xoxb-with-spaces \n\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(path))
    token = Settings().slack_bot_token
    assert token is not None and token.get_secret_value() == "  xoxb-with-spaces \n"
    path.write_bytes(b"xoxb-windows\r\n")
    token = Settings().slack_bot_token
    assert token is not None and token.get_secret_value() == "xoxb-windows"


def test_the_database_url_comes_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db"
    path.write_text("postgresql://crier:pw-from-file@db.example.edu/crier\n")
    monkeypatch.setenv("CRIER_DATABASE_URL_FILE", str(path))
    assert Settings().database_url == "postgresql://crier:pw-from-file@db.example.edu/crier"


def test_the_environment_still_works_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "from-the-environment")
    token = NetworkCredentials().x_bearer_token
    assert token is not None and token.get_secret_value() == "from-the-environment"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: str(tmp / "absent"), "cannot read"),
        (lambda tmp: str(tmp), "cannot read"),  # a folder, not a file
        (lambda tmp: _write(tmp / "empty", b""), "is empty"),
        (lambda tmp: _write(tmp / "binary", b"\xff\xfe" + VALUE.encode()), "not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read_names_the_variable(
    make: object, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert callable(make)
    path = make(tmp_path)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN_FILE", path)
    with pytest.raises(ConfigError) as raised:
        NetworkCredentials()
    message = str(raised.value)
    assert message.startswith("MASTODON_ACCESS_TOKEN_FILE") and expected in message
    assert path in message and VALUE not in message


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_both_the_variable_and_its_file_is_an_error_without_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret"
    path.write_text(VALUE)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-in-the-environment")
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(path))
    with pytest.raises(ConfigError) as raised:
        Settings()
    message = str(raised.value)
    assert "SLACK_SIGNING_SECRET" in message and "SLACK_SIGNING_SECRET_FILE" in message
    assert VALUE not in message and "signing-in-the-environment" not in message


@pytest.mark.parametrize("command", [["config"], ["channels", "check"], ["serve", "--port", "0"]])
def test_a_bad_secret_file_stops_every_command_with_one_line(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRIER_DATABASE_URL", f"sqlite:///{tmp_path / 'crier.db'}")
    monkeypatch.setenv("X_BEARER_TOKEN", VALUE)
    monkeypatch.setenv("X_BEARER_TOKEN_FILE", str(tmp_path / "x-token"))
    assert main(command) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "X_BEARER_TOKEN_FILE" in err and VALUE not in err
    monkeypatch.delenv("X_BEARER_TOKEN")
    monkeypatch.setenv("SLACK_APP_TOKEN_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("X_BEARER_TOKEN_FILE", _write(tmp_path / "x-token", VALUE.encode()))
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SLACK_APP_TOKEN_FILE" in err and "missing" in err, err
