"""``crier channels check``: one read-only call per enabled network, at once; nothing is posted.

Each publisher's ``check()`` asks its network whether the credentials work (X's ``users/me``,
Statuspage's page, an OPTIONS to the webhook …). A channel without credentials publishes to the
outbox and reports "missing". The command succeeds when every channel that has credentials is
ready:

    >>> code = await run_channel_check(config=config, settings=settings, store=store)
    x           missing (outbox)  X (dry run: outbox): no credentials in the environment: …
    statuspage  ready             Status page (Statuspage page kctbh9vrtdwd): page “Northfield IT”
    facebook    ready             Facebook (Page 1122334455): can post as the Page Northfield IT
                warning: Graph API v21.0 is switched off on 2027-01-21, in 50 days. Set …
                FACEBOOK_PAGE_TOKEN: access token expires 2026-12-22 12:00 UTC (in 20 days)

Where a network tells, the lines under a channel say when its API version ends
(``bot.publishing.versions``) and when its token expires; a version ending within
``health_check.version_warning_days`` and a token expiring within the longest of
``health_check.token_reminder_days`` are warnings (they do not fail the command).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.config import CrierConfig, HealthCheckConfig, Network
from bot.ports import ChannelCheck, Clock, Publisher, PublishError, SystemClock, TokenLife
from bot.publishing import build_publishers
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.versions import in_days, version_line, version_warning
from bot.redaction import http_client
from bot.settings import Settings
from bot.storage.store import Store

log = logging.getLogger(__name__)

CHECK_SECONDS = 20.0
# States that do not fail the command: ready, and no credentials at all (the outbox dry run).
PASSING = frozenset({"ready", "missing"})
OUTBOX = "to outbox"  # how a channel without credentials ("missing") is reported


@dataclass(frozen=True)
class ChannelReport:
    network: Network
    label: str
    check: ChannelCheck

    def line(self) -> str:
        if self.check.state == "missing":  # the label and the state would say "outbox" again
            return f"{self.network.value:<11} {OUTBOX:<12} {self.check.detail}"
        return f"{self.network.value:<11} {self.check.state:<12} {self.label}: {self.check.detail}"

    def lives(self, *, now: datetime, rules: HealthCheckConfig) -> list[tuple[bool, str]]:
        """What the network told of its API version and its token: (a warning?, the text)."""
        said: list[tuple[bool, str]] = []
        version = self.check.version
        if version is not None:
            today = now.date()
            warning = version_warning(version, today=today, warn_days=rules.version_warning_days)
            said.append((warning is not None, warning or version_line(version, today=today)))
        token = self.check.token
        if token is not None:
            soon = max(rules.token_reminder_days, default=0)
            # Whole days left (0 on its last day, negative after); None if never or not told.
            left = (token.expires_at - now).days if token.expires_at is not None else None
            said.append((left is not None and left <= soon, token_line(token, now=now)))
        return said


def token_line(token: TokenLife, *, now: datetime) -> str:
    if token.never:
        return f"{token.setting}: never expires"
    if token.expires_at is None:
        return f"{token.setting}: expiry unknown ({token.unknown or 'the network did not say'})"
    left = (token.expires_at - now).days
    when = f"{token.expires_at:%Y-%m-%d %H:%M} UTC"
    if token.expires_at <= now:
        return f"{token.setting}: {token.what} expired {when}: {token.renew}"
    return f"{token.setting}: {token.what} expires {when} (in {in_days(left)})"


async def check_channel(publisher: Publisher, *, seconds: float = CHECK_SECONDS) -> ChannelCheck:
    """The publisher's own check; a hang, a connection failure or a bug becomes a report too."""
    network = publisher.network
    try:
        return await asyncio.wait_for(publisher.check(), seconds)
    except TimeoutError:
        return ChannelCheck(network, "unreachable", f"no answer within {seconds:g} s")
    except PublishError as exc:
        return ChannelCheck(network, "unreachable" if exc.transient else "error", exc.message)
    except Exception as exc:
        log.exception("the %s check failed", network.value)
        return ChannelCheck(network, "error", f"the check failed: {type(exc).__name__}")


async def check_channels(
    publishers: Mapping[Network, Publisher], *, seconds: float = CHECK_SECONDS
) -> list[ChannelReport]:
    """Every publisher's check, concurrently, in the order of ``Network``."""
    ordered = [publishers[n] for n in Network if n in publishers]
    checks = await asyncio.gather(*(check_channel(p, seconds=seconds) for p in ordered))
    return [ChannelReport(p.network, p.label, c) for p, c in zip(ordered, checks, strict=True)]


def exit_code(reports: list[ChannelReport]) -> int:
    return 0 if all(r.check.state in PASSING for r in reports) else 1


def summary(reports: list[ChannelReport], *, warnings: int = 0) -> str:
    counts = Counter(OUTBOX if r.check.state == "missing" else r.check.state for r in reports)
    said = ", ".join(f"{n} {state}" for state, n in counts.items())
    if warnings:
        said += f"; {warnings} warning{'s' if warnings > 1 else ''}"
    return said


async def run_channel_check(
    *,
    config: CrierConfig,
    settings: Settings,
    store: Store,
    credentials: NetworkCredentials | None = None,
    out: Callable[[str], object] = print,
    seconds: float = CHECK_SECONDS,
    clock: Clock | None = None,
) -> int:
    """Print one line per enabled channel and a summary; 0 when every configured one is ready."""
    if not config.enabled_channels:
        out("No channels are enabled under 'channels' in crier.yml.")
        return 0
    credentials = credentials or NetworkCredentials()
    clock = clock or SystemClock()
    http = http_client(settings, credentials)  # what a network echoes back is masked
    try:
        publishers = build_publishers(
            config=config,
            settings=settings,
            store=store,
            http=http,
            credentials=credentials,
            clock=clock,
        )
        reports = await check_channels(publishers, seconds=seconds)
    finally:
        await http.close()
    # The organisation's day, as the daily health check counts it: both say the same "in N days".
    now = clock.now().astimezone(config.organisation.zone)
    warnings = 0
    for report in reports:
        out(report.line())
        for warning, text in report.lives(now=now, rules=config.health_check):
            out(f"{' ' * 12}{'warning: ' if warning else ''}{text}")  # under the channel's line
            warnings += warning
    out(summary(reports, warnings=warnings))
    return exit_code(reports)
