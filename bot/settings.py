"""Process settings, from the environment only: tokens and secrets (held as ``SecretStr``, so a
stray ``repr`` or log line cannot leak them), the database URL, where to listen. Each secret may
come from a file the environment names instead (``SLACK_BOT_TOKEN_FILE``). What an IT comms team
tunes lives in ``crier.yml`` (``bot.config``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config import STARTER_CONFIG, ConfigError

FILE_SUFFIX = "_FILE"


class SecretFiles(PydanticBaseSettingsSource):
    """``NAME_FILE``: a secret setting's value from the file it names, as Docker secrets
    (``/run/secrets/…``) and systemd credentials (``$CREDENTIALS_DIRECTORY/…``) provide, so a
    token need not sit in the process environment. One trailing newline is stripped.

    A source of our own rather than pydantic-settings' ``secrets_dir``: that reads a folder of
    files named after the settings and silently skips a missing one, while ``NAME_FILE`` names
    any file (the convention of Docker's official images), and a missing, unreadable or empty
    file, or ``NAME`` and ``NAME_FILE`` both set, must stop start-up naming the variable. Such a
    problem is a ``ConfigError``, not a ``ValueError``: pydantic would wrap a ``ValueError`` in
    a ``ValidationError`` that prints the input, and the input holds the other secrets.

    Which settings: every ``SecretStr`` field, and those named in the class's ``FROM_FILES``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads them all

    def __call__(self) -> dict[str, Any]:
        # Case-insensitive, as pydantic-settings reads the environment by default.
        environment = {name.lower(): value for name, value in os.environ.items()}
        values: dict[str, Any] = {}
        also = getattr(self.settings_cls, "FROM_FILES", ())
        for name, info in self.settings_cls.model_fields.items():
            if name not in also and "SecretStr" not in str(info.annotation):
                continue
            alias = info.validation_alias  # every secret's is one name (none has AliasChoices)
            variable = alias if isinstance(alias, str) else name.upper()
            file_variable = variable + FILE_SUFFIX
            path = environment.get(file_variable.lower())
            if path is None:
                continue
            if variable.lower() in environment:
                raise ConfigError(
                    f"{variable} and {file_variable} are both set: keep one "
                    f"({file_variable} names a file holding the value)"
                )
            values[variable] = read_secret_file(file_variable, path)
        return values


def read_secret_file(variable: str, path: str) -> str:
    """The secret in ``path``, one trailing newline stripped; a problem names ``variable`` and
    the path, never what the file holds."""
    try:
        value = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{variable}: {path} is not UTF-8 text") from None
    value = value.removesuffix("\r\n") if value.endswith("\r\n") else value.removesuffix("\n")
    if not value:
        raise ConfigError(f"{variable}: {path} is empty")
    return value


class FromEnvironment(BaseSettings):
    """Settings from the environment, each secret (and each field named in ``FROM_FILES``) also
    from the file ``NAME_FILE`` names (``SecretFiles``)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)
    FROM_FILES: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = SecretFiles(settings_cls)
        return init_settings, env_settings, files, dotenv_settings, file_secret_settings


class Settings(FromEnvironment):
    """Process settings, read from the environment (names as in DESIGN.md); every secret, and
    the database URL (it may hold a password), from ``NAME_FILE`` instead if that is set."""

    FROM_FILES = ("database_url",)

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    database_url: str = Field(default="sqlite:///crier.db", validation_alias="CRIER_DATABASE_URL")
    config_path: Path | None = Field(default=None, validation_alias="CRIER_CONFIG")
    public_url: str = Field(default="http://127.0.0.1:3000", validation_alias="CRIER_PUBLIC_URL")
    host: str = Field(default="127.0.0.1", validation_alias="CRIER_HOST")
    port: int = Field(default=3000, validation_alias=AliasChoices("CRIER_PORT", "PORT"))
    log_level: str = Field(default="INFO", validation_alias="CRIER_LOG_LEVEL")
    # "json": one JSON object per log line, for a log collector (bot/log_format.py).
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="CRIER_LOG_FORMAT")
    # How long a claimed delivery or job belongs to the process that claimed it; after that a
    # replica (or the same process, restarted) takes it over.
    lease_seconds: int = Field(default=120, ge=1, le=3600, validation_alias="CRIER_LEASE_SECONDS")
    # How many pieces of work (drafting an /outage, an approval, a chat refresh) one process
    # runs side by side; the rest wait in the job table, in order.
    work_at_once: int = Field(default=16, ge=1, le=256, validation_alias="CRIER_WORK_AT_ONCE")
    # How many incidents one person may declare a minute: a stuck key or a script is stopped
    # with a clear message, and everyone else's work goes on (bot/incidents/pace.py).
    declarations_per_minute: int = Field(
        default=5, ge=1, le=100_000, validation_alias="CRIER_DECLARATIONS_PER_MINUTE"
    )
    # Signs the status site's confirm and unsubscribe links and derives each webhook
    # subscriber's key. Unset: the site offers no subscriptions (the sandbox makes one per run).
    site_secret: SecretStr | None = Field(default=None, validation_alias="CRIER_SITE_SECRET")
    # The relay subscribers' emails go through: smtp://user:password@host:587 (STARTTLS when the
    # relay offers it), smtps://…:465 (TLS from the start). Unset: emails go to the outbox.
    smtp_url: SecretStr | None = Field(default=None, validation_alias="CRIER_SMTP_URL")
    # What the relay accepts: emails a second, and connections at once.
    smtp_per_second: float = Field(
        default=10, gt=0, le=10_000, validation_alias="CRIER_SMTP_PER_SECOND"
    )
    smtp_connections: int = Field(default=4, ge=1, le=64, validation_alias="CRIER_SMTP_CONNECTIONS")
    microsoft_app_id: str = Field(default="", validation_alias="MicrosoftAppId")
    microsoft_app_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="MicrosoftAppPassword"
    )
    microsoft_app_type: str = Field(default="MultiTenant", validation_alias="MicrosoftAppType")
    microsoft_app_tenant_id: str = Field(default="", validation_alias="MicrosoftAppTenantId")
    # Run Teams without MicrosoftAppId, checking no token: for the Bot Framework Emulator and
    # tests on this machine only. Refused when serving on a non-loopback address; ignored when
    # MicrosoftAppId is set.
    teams_unauthenticated: bool = Field(
        default=False, validation_alias="CRIER_TEAMS_UNAUTHENTICATED"
    )

    def __repr_args__(self) -> Any:
        # The database URL may carry a password: a stray repr (a log line, a traceback) hides it.
        for name, value in super().__repr_args__():
            yield name, (URL_PASSWORD.sub(r"\1***@", value) if name == "database_url" else value)

    def resolved_config_path(self) -> Path:
        """``CRIER_CONFIG`` if set, else ``./crier.yml`` if present, else the starter config."""
        if self.config_path is not None:
            return self.config_path
        local = Path("crier.yml")
        return local if local.exists() else STARTER_CONFIG


URL_PASSWORD = re.compile(r"(://[^:/@]*:)([^@]*)@")  # the password is group 2
