"""The interfaces the core needs from the outside world, as small typed Protocols.

Chat handlers (Slack, Teams) implement ``ChatPresenter`` and ``Directory``; each network
implements ``Publisher``. The core never imports an implementation.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Network

if TYPE_CHECKING:
    from bot.listening.answers import AnswerView
    from bot.listening.views import HeardBatch, SpikeAlert
    from bot.maintenance.series import MaintenanceShown
    from bot.scheduling.calendar import CalendarBatch, CalendarEntry
    from bot.views import IncidentView, Notice, PostView, Reminder, SiteUpdate


class Clock(Protocol):
    """Where the core gets the time, so tests can move it instead of sleeping."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who did something: a chat user, qualified by platform (``slack:U0123``)."""

    platform: str
    user_id: str
    name: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


class Directory(Protocol):
    """Answers who belongs to an approver group on one chat platform."""

    async def group_members(self, group_id: str) -> frozenset[str]: ...


class ChatPresenter(Protocol):
    """Shows an incident's progress in one chat platform (its thread, its cards)."""

    platform: str

    async def show_post(self, incident: IncidentView, post: PostView) -> None:
        """Update (or first show) the post's message: its state and each channel's delivery.

        The core calls it for one post at a time, with the post as it stands then."""

    async def show_incident(self, incident: IncidentView) -> None:
        """Update the incident's root message: status, severity, buttons."""

    async def remind(self, incident: IncidentView, reminder: Reminder) -> None:
        """Post a reminder in the incident's conversation, naming the right people."""

    async def show_calendar(self, entry: CalendarEntry, *, where: str | None) -> None:
        """Show a proposed calendar post to the approvers, with *Approve* and *Reject*, in the
        chat's comms channel (``where``: the channel it was proposed from, given to the
        presenter of its author's platform). A chat with nowhere to show it does nothing."""

    async def show_notice(self, notice: Notice) -> None:
        """Post a notice in the chat's comms channel itself, outside any incident's thread (a
        channel stopped working, a token expires soon). A chat with nowhere to post does
        nothing."""

    async def show_calendar_batch(self, batch: CalendarBatch) -> None:
        """Show a recurring series' drafted posts to the approvers in one message: each post
        with its time and text, *Approve* and *Skip*, and *Approve all*. A chat with nowhere to
        show it does nothing."""

    async def show_maintenance(self, shown: MaintenanceShown, *, where: str | None) -> None:
        """Post a planned maintenance in the chat's comms channel (``where``: the channel it
        was planned from, given to the presenter of its planner's platform), with the buttons
        ``shown.reason`` calls for: *Approve all* / *Reject* for its series, *Approve* /
        *Reject* for an extension or a cancellation, *Complete* / *Extend by…* once its window
        has ended. A chat with nowhere to post it does nothing."""

    async def show_heard(self, incident: IncidentView, batch: HeardBatch) -> None:
        """Post new replies to the incident's public posts in its conversation: each with its
        network, author, text (plain text: it never pings), link, mood marker and *Reply*; or,
        for a burst, ``batch.summary`` and a few examples."""

    async def show_spike(self, alert: SpikeAlert, incident: IncidentView | None) -> None:
        """Say that mentions of a service surge: in ``incident``'s conversation when the
        service has one open, else in the comms channel with *Declare outage* filled in with
        ``alert.service``. A chat with nowhere to post it does nothing."""

    async def show_answer(self, answer: AnswerView, incident: IncidentView | None) -> None:
        """Post (or update) a public answer to something heard, in ``incident``'s conversation:
        what it answers (plain text), the answer's words with its length against the network's
        rule, and while it waits *Approve* / *Edit* / *Reject*; once decided, who decided and,
        once sent, its link. A chat with nowhere to post it does nothing."""

    async def show_site_update(
        self, channel: str, reference: dict[str, Any], update: SiteUpdate
    ) -> None:
        """Post a status-site update in a staff channel that follows its service (``channel``:
        the platform's own id of it; ``reference``: its stored address, where the platform
        needs one to post unprompted). A refusal is a PublishError (transient or not)."""


# A request's ``post_kind`` when it answers someone's post (``reply_to``), not the incident's own.
ANSWER_KIND = "answer"


@dataclass(frozen=True)
class PublishRequest:
    network: Network
    text: str
    idempotency_key: str  # stable across retries of one delivery
    incident_id: int
    post_kind: str
    status: str
    service: str
    title: str  # short headline, for networks that have one (status pages, webhooks)
    reply_to: str | None = None  # the network's id of this incident's previous post there
    component: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    external_id: str
    url: str | None


@dataclass(eq=False)  # an exception compares and hashes by identity
class PublishError(Exception):
    """A network refused or failed a post; ``transient`` ones are retried (at ``retry_at``)."""

    message: str
    _: KW_ONLY
    transient: bool
    retry_at: datetime | None = None
    # The request may have reached the network (a time-out after sending): a retry could
    # post twice where the network has no idempotency key.
    maybe_sent: bool = False
    # The network's quota is spent (429 and its kin): waiting for ``retry_at`` is not a
    # failed attempt, and the network's other posts should wait too.
    rate_limited: bool = False

    def __post_init__(self) -> None:
        super().__init__(self.message)  # what str() and a traceback say


@dataclass(frozen=True)
class ApiVersionLife:
    """The API version a channel calls, and the day its network stops serving it."""

    api: str  # "Graph API", "LinkedIn API"
    version: str  # as Crier sends it: "v21.0", "202607"
    ends: date  # the day it is switched off, or Crier's early estimate of it (``exact`` False)
    exact: bool  # False: an estimate, made as ``basis`` says
    setting: str  # the crier.yml key that chooses it: "channels.facebook.api_version"
    basis: str = ""


@dataclass(frozen=True)
class TokenLife:
    """When a channel's access token stops working, as its network tells.

    ``expires_at`` is set when it will expire; ``never`` when the network says it does not; with
    neither, ``unknown`` says why the network could not be asked. Never holds the token."""

    setting: str  # the environment variable that holds it: "FACEBOOK_PAGE_TOKEN"
    renew: str  # how to get a new one, for people
    expires_at: datetime | None = None
    never: bool = False
    what: str = "access token"  # what expires: the token, or (Graph) its data access
    unknown: str = ""


@dataclass(frozen=True)
class ChannelCheck:
    """What ``crier channels check`` reports for one network, from a read-only call."""

    network: Network
    state: str  # "ready", "expired" (credentials refused), "missing", "unreachable", "error"
    detail: str
    # Where the network tells: the API version in use and when it ends; the token's expiry.
    version: ApiVersionLife | None = None
    token: TokenLife | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


class Publisher(Protocol):
    """Posts one text to one network. Implementations must be safe to call concurrently."""

    network: Network
    # True when a retry with the same idempotency key cannot post twice.
    idempotent: bool
    # A short label for the thread, e.g. "X (dry run: outbox)".
    label: str

    async def publish(self, request: PublishRequest) -> Published: ...

    async def check(self) -> ChannelCheck:
        """A read-only call that tells whether the credentials work; posts nothing."""
