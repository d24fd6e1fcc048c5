"""``crier channels check``: one read-only call per enabled network, at once; nothing is posted.

Each publisher's ``check()`` asks its network whether the credentials work (X's ``users/me``,
Statuspage's page, an OPTIONS to the webhook …). A channel without credentials publishes to the
outbox and reports "missing". The command succeeds when every channel that has credentials is
ready:

    >>> code = await run_channel_check(config=config, settings=settings, store=store)
    x           missing (outbox)  X (dry run: outbox): no credentials in the environment: …
    statuspage  ready             Status page (Statuspage page kctbh9vrtdwd): page “Northfield IT”
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.config import CrierConfig, Network, Settings
from bot.ports import ChannelCheck, Publisher, PublishError
from bot.publishing import build_publishers
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.store import Store

log = logging.getLogger(__name__)

CHECK_SECONDS = 20.0
# States that do not fail the command: ready, and no credentials at all (the outbox dry run).
PASSING = frozenset({"ready", "missing"})


@dataclass(frozen=True)
class ChannelReport:
    network: Network
    label: str
    check: ChannelCheck

    def line(self) -> str:
        state = "missing (outbox)" if self.check.state == "missing" else self.check.state
        return f"{self.network.value:<11} {state:<17} {self.label}: {self.check.detail}"


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


def summary(reports: list[ChannelReport]) -> str:
    counts: dict[str, int] = {}
    for report in reports:
        state = "missing (outbox)" if report.check.state == "missing" else report.check.state
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items())


async def run_channel_check(
    *,
    config: CrierConfig,
    settings: Settings,
    store: Store,
    credentials: NetworkCredentials | None = None,
    out: Callable[[str], object] = print,
    seconds: float = CHECK_SECONDS,
) -> int:
    """Print one line per enabled channel and a summary; 0 when every configured one is ready."""
    if not config.enabled_channels:
        out("No channels are enabled under 'channels' in crier.yml.")
        return 0
    http = HttpClient()
    try:
        publishers = build_publishers(
            config=config, settings=settings, store=store, http=http, credentials=credentials
        )
        reports = await check_channels(publishers, seconds=seconds)
    finally:
        await http.close()
    for report in reports:
        out(report.line())
    out(summary(reports))
    return exit_code(reports)
