"""The organisation's ``crier.yml``: everything an IT comms team tunes (services, approvers,
channels, time zone). Never a secret: those come from the environment only (``bot.settings``).
The content calendar's sections are ``bot.config_calendar``, listening's ``bot.config_listening``.
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.config_base import Network, Strict
from bot.config_calendar import (
    NOT_FOR_CALENDAR,
    CalendarItem,
    CalendarSeries,
    MaintenanceConfig,
)
from bot.config_listening import ListeningConfig

STARTER_CONFIG = Path(__file__).parent / "defaults" / "crier.yml"


class ConfigError(Exception):
    """A configuration problem, phrased for the person who has to fix it."""


class Severity(StrEnum):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"


def _matching(pattern: str, what: str) -> AfterValidator:
    """A text that matches ``pattern``, else the error "'…' is not ``what``"."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


SlackUser = Annotated[str, _matching(r"^[UW][A-Z0-9]{2,}$", "a Slack user id (like U012AB3CD)")]
SlackGroup = Annotated[str, _matching(r"^S[A-Z0-9]{2,}$", "a Slack user group id (like S0614TZR7)")]
SlackUserOrGroup = Annotated[
    str, _matching(r"^[UWS][A-Z0-9]{2,}$", "a Slack user (U…) or user group (S…) id")
]
Colour = Annotated[str, _matching(r"^#[0-9a-fA-F]{6}$", "a colour like '#1f3a5f'")]
# An image's address as a page links it: https://… on another host, or /… on Crier's own.
ImageAddress = Annotated[
    str,
    _matching(
        r"^(https://[^/\s]+|/(?!/))[^\s\"'<>]*$",
        "an https:// URL or a path starting with '/' (like '/static/logo.svg')",
    ),
]
_SITE_FOLDERS = re.compile(r"/([A-Za-z0-9_~-][A-Za-z0-9._~-]*/)+")


def _site_path(value: str) -> str:
    """The site's place under crier serve: one or more folders, like /status/ or /it/status/."""
    if not (value.startswith("/") and value.endswith("/")):
        raise ValueError(f"{value!r} must start and end with '/', like '/status/'")
    if value == "/":  # Slack's, Teams' and the health check's routes live there
        raise ValueError("'/' is crier serve's own: give the site a folder, like '/status/'")
    if not _SITE_FOLDERS.fullmatch(value):
        raise ValueError(
            f"{value!r}: use letters, digits and - _ ~ . between single slashes, like '/it/status/'"
        )
    return value


SitePath = Annotated[str, AfterValidator(_site_path)]


def _email_address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not an email address: {exc}") from None


EmailAddress = Annotated[str, AfterValidator(_email_address)]


class Organisation(Strict):
    name: str = Field(min_length=1, max_length=80)
    short_name: str | None = Field(default=None, max_length=40)
    time_zone: str = "UTC"
    help_url: str | None = None
    primary_colour: Colour = "#1f3a5f"
    accent_colour: Colour = "#f2b705"
    # The logo on the status site: an https URL, or a path on the site's own web server.
    logo_url: ImageAddress | None = None
    # Subscribers' emails come from this address (default: status@ the site's host), and their
    # replies go to ``reply_to`` (the help desk, say) when it is set.
    email_from: EmailAddress | None = None
    reply_to: EmailAddress | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like 'America/New_York')"
            ) from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class SlackConfig(Strict):
    # Channel id (C…) where incident threads live; empty: where they are declared.
    comms_channel: str = ""


class Emergency(Strict):
    """Who may publish a sev1 incident's first post alone when no approver has answered it for
    ``after_minutes`` (2 AM, nobody awake): off until crier.yml names someone. Such a post is
    marked loudly in the thread and the audit log, and the approvers are called to read it."""

    slack_users: list[SlackUser] = []
    teams_users: list[str] = []
    after_minutes: int = Field(default=15, ge=1, le=240)


class Approvals(Strict):
    slack_users: list[SlackUser] = []
    slack_usergroup: SlackGroup | None = None
    teams_users: list[str] = []
    allow_self_approval: bool = False
    emergency: Emergency = Emergency()


class ChannelConfig(Strict):
    """One public channel. Credentials are not here: they come from the environment."""

    enabled: bool = True
    max_characters: int | None = Field(default=None, ge=1, le=100_000)
    # The API's base URL; tests and staging point it at another server.
    base_url: str | None = None
    # LinkedIn only: its OAuth host, for token introspection (https://www.linkedin.com).
    oauth_url: str | None = None
    # The account posted as: a Facebook page id, Instagram user id, LinkedIn organisation id,
    # Statuspage page id, or Bluesky handle.
    account: str | None = None
    # Facebook's and Instagram's Graph version ("v26.0") or LinkedIn's Linkedin-Version
    # ("202607"); when each ends: bot/publishing/versions.py.
    api_version: str | None = None
    # The webhook's target URL.
    url: str | None = None
    # The status site only: where crier serve answers it and where its links point.
    path: SitePath = "/status/"
    # The status site only: offer email, webhook and staff-channel subscriptions.
    subscriptions: bool = True
    # Attach Crier's status card image (always on for Instagram, which needs an image).
    attach_card: bool = False
    # How many posts may be in flight to this network at once.
    concurrency: int = Field(default=4, ge=1, le=32)
    # Statuspage: the component status per severity (sev1: major_outage …).
    component_status: dict[str, str] = {}
    # A text that would notify an account on this network (@jsmith on X): "warn" shows it on
    # the draft, "block" stops the approval until the @ is gone, "allow" says nothing.
    mentions: Literal["warn", "allow", "block"] = "warn"
    # Put the help link in this network's posts. X charges about 13 times more for a post with
    # a link ($0.20 against $0.015): `links: false` leaves it out there.
    links: bool = True
    # X only: what the month's posts may cost, in US dollars; a post that would pass it is held
    # (the thread says so) until the budget is raised or the month turns. None: no limit.
    monthly_budget: float | None = Field(default=None, ge=0)
    # X only: how many posts Crier may read a month while listening (X charges per post read,
    # about $0.005 each). None or 0: Crier never reads X, even with x under listening.networks.
    monthly_read_budget: int | None = Field(default=None, ge=0, le=10_000_000)
    # Bluesky only: the AppView that serves threads and search (reading needs no account).
    appview_url: str | None = None

    @field_validator("api_version", mode="before")
    @classmethod
    def _version_as_written(cls, value: Any) -> Any:
        # YAML reads an unquoted 202607 as a number, and 26.0 as a float: both are what a
        # person types when a version warning says "set channels.linkedin.api_version to 202607".
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value


class Service(Strict):
    name: str = Field(min_length=1, max_length=60)
    aliases: list[str] = []
    component: str | None = None
    default_channels: list[Network] = []
    default_severity: Severity = Severity.SEV2
    help_url: str | None = None

    def matches(self, text: str) -> bool:
        wanted = text.strip().casefold()
        return wanted == self.name.casefold() or wanted in {a.casefold() for a in self.aliases}


class SeverityPolicy(Strict):
    label: str
    next_update_minutes: int = Field(default=30, ge=5, le=24 * 60)
    # Reminders: a draft waiting this long pings the approvers, then again every repeat.
    approval_wait_minutes: int = Field(default=10, ge=1, le=24 * 60)
    approval_repeat_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # An incident in monitoring this long is asked whether it is ready for the all-clear.
    all_clear_after_minutes: int = Field(default=120, ge=5, le=7 * 24 * 60)
    # An open incident with no public post for this long is asked whether it is resolved.
    stale_after_minutes: int = Field(default=120, ge=5, le=7 * 24 * 60)


class RemindersConfig(Strict):
    # Who is named as well when a promised update is overdue: a Slack user (U…) or group (S…).
    comms_lead_slack: SlackUserOrGroup | None = None
    comms_lead_teams: str | None = None
    # How long before the promised time the owner is reminded.
    warn_minutes_before_update: int = Field(default=5, ge=1, le=60)
    # The post-incident review reminder: this hour of the next working morning.
    review_hour: int = Field(default=9, ge=0, le=23)
    working_days: list[int] = [0, 1, 2, 3, 4]  # 0 = Monday

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(d not in range(7) for d in value):
            raise ValueError("working_days are weekday numbers 0 (Monday) to 6 (Sunday)")
        return value


def _default_severities() -> dict[Severity, SeverityPolicy]:
    return {
        Severity.SEV1: SeverityPolicy(
            label="Critical",
            next_update_minutes=30,
            approval_wait_minutes=5,
            approval_repeat_minutes=5,
            stale_after_minutes=60,
        ),
        Severity.SEV2: SeverityPolicy(label="Major", next_update_minutes=60),
        Severity.SEV3: SeverityPolicy(
            label="Minor", next_update_minutes=120, stale_after_minutes=240
        ),
    }


class HealthCheckConfig(Strict):
    """The scheduled health check: the read-only channel checks, every ``every_hours`` from
    ``at`` (the organisation's time); it tells the comms channel when a channel stops being
    ready or is ready again, when an API version nears its end, and when a token nears its
    expiry."""

    enabled: bool = True
    every_hours: int = Field(default=24, ge=1, le=7 * 24)
    at: time = time(7, 0)
    # A warning this many days before the configured API version ends.
    version_warning_days: int = Field(default=60, ge=1, le=365)
    # A reminder this many days before a token expires, one for each number.
    token_reminder_days: list[int] = Field(default=[14, 3], max_length=10)

    @field_validator("at", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 7:30 as the number 450 (base 60): take it as 07:30.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
        return value

    @field_validator("token_reminder_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(not 1 <= days <= 90 for days in value):
            raise ValueError("token_reminder_days are numbers of days from 1 to 90")
        return sorted(set(value), reverse=True)


class CrierConfig(Strict):
    """The organisation's ``crier.yml``."""

    organisation: Organisation
    slack: SlackConfig = SlackConfig()
    approvals: Approvals = Approvals()
    # validate_default: a crier.yml without `channels` gets the status site too.
    channels: Annotated[dict[Network, ChannelConfig], Field(validate_default=True)] = {}
    services: Annotated[list[Service], Field(min_length=1)]
    severities: dict[Severity, SeverityPolicy] = Field(default_factory=_default_severities)
    reminders: RemindersConfig = RemindersConfig()
    calendar: list[CalendarItem] = []
    # Recurring series (weekly tips …): each post drafted a week ahead, for approval.
    calendar_series: list[CalendarSeries] = []
    health_check: HealthCheckConfig = HealthCheckConfig()
    listening: ListeningConfig = ListeningConfig()
    maintenance: MaintenanceConfig = MaintenanceConfig()
    templates_dir: Path | None = None

    @field_validator("channels")
    @classmethod
    def _site_unless_turned_off(
        cls, value: dict[Network, ChannelConfig]
    ) -> dict[Network, ChannelConfig]:
        # The site needs no credentials and is where people look first: on by default, off
        # only with `site: {enabled: false}`.
        if Network.SITE in value:
            return value
        return {**value, Network.SITE: ChannelConfig()}

    @model_validator(mode="after")
    def _consistent(self) -> CrierConfig:
        seen: dict[str, str] = {}
        for service in self.services:
            for key in [service.name, *service.aliases]:
                folded = key.casefold()
                if folded in seen:
                    raise ValueError(
                        f"services: {key!r} names both {seen[folded]!r} and {service.name!r}"
                    )
                seen[folded] = service.name
            for network in service.default_channels:
                if not self.channel_enabled(network):
                    raise ValueError(
                        f"services: {service.name!r} defaults to channel {network.value!r}, "
                        "which is not enabled under 'channels'"
                    )
        self._check_series()
        self._check_calendar_texts()
        missing = set(Severity) - set(self.severities)
        if missing:
            raise ValueError(f"severities: missing {sorted(m.value for m in missing)}")
        return self

    def _check_series(self) -> None:
        names: dict[str, str] = {}
        for series in self.calendar_series:
            if (earlier := names.get(series.name.casefold())) is not None:
                raise ValueError(
                    f"calendar_series: {earlier!r} and {series.name!r} name the same series"
                )
            names[series.name.casefold()] = series.name
            for network in series.channels:
                if network in NOT_FOR_CALENDAR:
                    raise ValueError(
                        f"calendar_series: {series.name!r} posts to {network.value!r}: "
                        "a status page is for incidents only"
                    )
                if not self.channel_enabled(network):
                    raise ValueError(
                        f"calendar_series: {series.name!r} posts to {network.value!r}, "
                        "which is not enabled under 'channels'"
                    )

    def _check_calendar_texts(self) -> None:
        """A calendar text goes out as written, never shortened: one that breaks a rule of a
        channel it is for (X's 280, Bluesky's 300, a blocked mention …) is refused now, naming
        it, rather than drafted, approved, and then refused by the network at its time."""
        # Imported here: the networks' rules read a CrierConfig, so at the top it would be a
        # circular import.
        from bot.scheduling.calendar import rule_problems

        for series in self.calendar_series:
            for source, text in zip(series.sources, series.texts, strict=True):
                if found := rule_problems(self, text, tuple(series.channels)):
                    raise ValueError(
                        f"calendar_series: {series.name!r}, {source}: {'; '.join(found)}"
                    )
        for n, item in enumerate(self.calendar):
            if found := rule_problems(self, item.text, tuple(item.channels)):
                raise ValueError(f"calendar[{n}]: {'; '.join(found)}")

    def channel_enabled(self, network: Network) -> bool:
        channel = self.channels.get(network)
        return channel is not None and channel.enabled

    @cached_property
    def enabled_channels(self) -> list[Network]:
        return [n for n in Network if self.channel_enabled(n)]

    def default_channels(self, service: Service) -> list[Network]:
        """Where a new incident of ``service`` goes unless a person picks: the service's
        ``default_channels`` (every enabled channel when it names none), and the status site
        whenever it is enabled, so that every incident is on it::

            config.default_channels(config.services[0])  # [x, facebook, …, statuspage, site]
        """
        chosen = list(service.default_channels) or list(self.enabled_channels)
        if self.channel_enabled(Network.SITE) and Network.SITE not in chosen:
            chosen.append(Network.SITE)
        return chosen

    @property
    def site(self) -> ChannelConfig:
        """The status site's settings (``channels.site``; present even when turned off)."""
        return self.channels.get(Network.SITE) or ChannelConfig()

    def find_service(self, text: str) -> Service | None:
        return next((s for s in self.services if s.matches(text)), None)


def problems(error: ValidationError) -> str:
    """Each of ``error``'s problems with its key, in one line; never the input (a secret)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or '(top level)'}: {e['msg']}"
        for e in error.errors(include_url=False, include_input=False)
    )


def load_config(path: Path) -> CrierConfig:
    """Read and validate ``crier.yml``; any problem becomes one ``ConfigError`` naming the key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file (set CRIER_CONFIG to your crier.yml)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        # A calendar series' bank folder is relative to crier.yml.
        return CrierConfig.model_validate(raw, context={"config_dir": path.parent})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {problems(exc)}") from None
