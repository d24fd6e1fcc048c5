"""Plain results the core returns; each chat handler renders them its own way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import Network
from bot.drafting.textrules import TextCheck
from bot.storage.models import DeliveryState

# Each network's name as people write it: its value capitalised, but for three.
NETWORK_LABELS: dict[Network, str] = {n: n.value.capitalize() for n in Network} | {
    Network.LINKEDIN: "LinkedIn",
    Network.STATUSPAGE: "Status page",
    Network.SITE: "Status site",
}


@dataclass(frozen=True)
class ChannelPreview:
    """One channel's draft: ``text`` is exactly what goes out, but for the placeholders of
    ``bot.drafting.post_times`` (shown with ``bot.drafting.post_times.shown``)."""

    network: Network
    text: str
    check: TextCheck  # its length as the network counts it, each time at its widest
    edited: bool
    notes: tuple[str, ...] = ()  # what was shortened or left out; who it will notify
    problems: tuple[str, ...] = ()  # what stops it being approved; empty when it can go

    @property
    def label(self) -> str:
        return NETWORK_LABELS[self.network]

    @property
    def problem(self) -> str | None:
        return "; ".join(self.problems) or None

    @property
    def length(self) -> str:
        """Its length as the network counts it: "262/280 characters"."""
        return f"{self.check.summary()} {self.check.unit}"


@dataclass(frozen=True)
class DeliveryView:
    id: int
    network: Network
    state: str
    attempts: int
    url: str | None
    error: str | None
    next_attempt_at: datetime | None
    publisher_label: str
    text: str | None = None  # once sent: exactly what the network received

    @property
    def label(self) -> str:
        return NETWORK_LABELS[self.network]


@dataclass(frozen=True)
class PostView:
    id: int
    incident_id: int
    number: int
    revision: int
    kind: str
    state: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reject_reason: str | None
    previews: tuple[ChannelPreview, ...]
    deliveries: tuple[DeliveryView, ...]
    next_update_minutes: int | None = None  # what {next_update} is filled with, after {time}
    revisable: bool = False  # a rejected draft that *Revise* can bring back now (issue 17)

    @property
    def publishable(self) -> bool:
        return all(not p.problems for p in self.previews)

    @property
    def problems(self) -> list[str]:
        return [f"{p.label}: {p.problem}" for p in self.previews if p.problems]

    @property
    def settled(self) -> bool:
        """Every channel has its outcome: sent, failed, or unknown until someone checks."""
        final = {DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.UNKNOWN}
        return bool(self.deliveries) and all(d.state in final for d in self.deliveries)


@dataclass(frozen=True)
class IncidentView:
    id: int
    service: str
    summary: str
    severity: str
    severity_label: str
    status: str
    declared_by: str
    declared_at: datetime
    resolved_at: datetime | None
    channels: tuple[Network, ...]
    what_users_see: str
    what_we_are_doing: str
    next_update_minutes: int | None

    @property
    def title(self) -> str:
        return f"{self.service}: {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def chat(self) -> str:
        """The chat platform it was declared in: its thread or card lives there, and only
        there (each platform starts the threads of the incidents declared in it)."""
        return self.declared_by.partition(":")[0]


@dataclass(frozen=True)
class Draft:
    """What a declare, update, resolve or edit produced: the incident and its new draft."""

    incident: IncidentView
    post: PostView
    # Earlier revisions of its number, rejected: shown again (their *Revise* no longer applies).
    earlier: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReminderAction:
    """A reminder's button: ``post_update``, ``resolve`` or ``snooze`` (value "job:minutes")."""

    kind: str
    label: str
    value: str


@dataclass(frozen=True)
class Reminder:
    """A nudge in the incident's conversation, written once, rendered by each platform."""

    kind: str  # "next_update", "update_overdue", "approval", "all_clear", "stale", "review"
    text: str
    mention_users: tuple[str, ...] = ()  # actor keys ("slack:U123")
    mention_approvers: bool = False
    mention_comms_lead: bool = False
    actions: tuple[ReminderAction, ...] = ()
    details: tuple[tuple[str, str], ...] = ()  # label, value: the review's figures


@dataclass(frozen=True)
class Notice:
    """A message for the comms channel itself, about no one incident: a public channel that
    stopped working or works again, an API version near its end, a token near its expiry
    (``bot.scheduling.channel_health``). Written once, rendered by each platform."""

    kind: str  # "channel_down", "channel_up", "version_ending", "version_ended", "token_expiring"
    title: str  # one line: "Facebook stopped working"
    text: str  # what happened and what to do; never a secret
    network: Network | None = None
    mention_comms_lead: bool = False


@dataclass(frozen=True)
class SiteUpdate:
    """A post as the site published it, for a staff channel that follows its service."""

    incident_id: int
    service: str
    title: str
    status: str  # a label: "Investigating"
    text: str  # as published: plain text, never a ping
    url: str  # the incident's page on the site
    published_at: datetime
