"""Crier's configuration for the benchmarks: the starter ``crier.yml`` with the channels under
test, the test workspace's approvers, and people to act as."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.config import STARTER_CONFIG, CrierConfig, Network
from bot.ports import Actor

ANALYST = "U0ANALYST1"
# The people who declare under load, in turn: 20 declarations a second is many people's, and
# each person may declare at most CRIER_DECLARATIONS_PER_MINUTE.
ANALYSTS = (ANALYST, *(f"U0ANALYST{n}" for n in range(2, 21)))
APPROVER = "U0APPROVER1"
COMMS = "C0COMMS"
analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)


def bench_config(
    channels: dict[Network, dict[str, Any]] | None = None,
    *,
    comms_channel: str = COMMS,
) -> CrierConfig:
    """The starter config; with ``channels``, exactly those are enabled and every service
    defaults to all of them."""
    return CrierConfig.model_validate(bench_config_raw(channels, comms_channel=comms_channel))


def write_bench_config(path: Path, channels: dict[Network, dict[str, Any]] | None = None) -> Path:
    """The starter config with the bench's comms channel and approver (and ``channels``, as
    ``bench_config`` takes them), as a ``crier.yml``."""
    path.write_text(yaml.safe_dump(bench_config_raw(channels)), encoding="utf-8")
    return path


def bench_config_raw(
    channels: dict[Network, dict[str, Any]] | None, *, comms_channel: str = COMMS
) -> dict[str, Any]:
    raw = yaml.safe_load(STARTER_CONFIG.read_text(encoding="utf-8"))
    raw["slack"] = {"comms_channel": comms_channel}
    raw["approvals"] = {"slack_users": [APPROVER], "allow_self_approval": False}
    if channels is not None:
        raw["channels"] = {
            n.value: {"enabled": n in channels, **channels.get(n, {})} for n in Network
        }
        for service in raw["services"]:
            service["default_channels"] = [n.value for n in channels]
    return raw
