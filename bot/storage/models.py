"""SQLModel tables. Times are stored in UTC; chat ids and references live in ChatAnchor only."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class PostKind(StrEnum):
    INITIAL = "initial"
    UPDATE = "update"
    RESOLUTION = "resolution"


class PostState(StrEnum):
    PENDING = "pending"  # waiting for an approver
    APPROVED = "approved"  # deliveries written; publishing
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # an edit made a newer revision


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # may or may not have reached a network without idempotency


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Numbered(SQLModel):
    """A table whose rows the database numbers."""

    id: int | None = Field(default=None, primary_key=True)


class Incident(Numbered, table=True):
    service: str = Field(sa_column=Column(String(60), nullable=False))
    summary: str = Field(sa_column=Column(String(200), nullable=False))
    severity: str = Field(sa_column=Column(String(8), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    what_users_see: str = Field(default="", sa_column=Column(Text, nullable=False))
    what_we_are_doing: str = Field(default="", sa_column=Column(Text, nullable=False))
    next_update_minutes: int | None = None
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    declared_by: str = Field(sa_column=Column(String(80), nullable=False))
    declared_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column())
    resolved_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column())
    # Declared on a service during its planned maintenance window: that maintenance.
    maintenance_id: int | None = Field(default=None, foreign_key="maintenance.id")


class Post(Numbered, table=True):
    """One public update of an incident, at one revision. An edit adds a row, revision + 1."""

    __table_args__ = (UniqueConstraint("incident_id", "number", "revision"),)

    incident_id: int = Field(foreign_key="incident.id", index=True)
    number: int  # 1 for the first public post of the incident, 2 for the next …
    revision: int = 1
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_by: str = Field(sa_column=Column(String(80), nullable=False))
    requested_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column())
    decided_by: str | None = Field(default=None, sa_column=Column(String(80)))
    decided_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    reject_reason: str | None = Field(default=None, sa_column=Column(Text))


class Rendition(Numbered, table=True):
    """One channel's text of a post, as drafted or edited."""

    __table_args__ = (UniqueConstraint("post_id", "channel"),)

    post_id: int = Field(foreign_key="post.id", index=True)
    channel: str = Field(sa_column=Column(String(24), nullable=False))
    # Exactly what goes out, but for the placeholders of bot.drafting.post_times ({time},
    # {next_update}).
    text: str = Field(sa_column=Column(Text, nullable=False))
    # What the drafter shortened or left out to make it fit ("shortened the summary" …).
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    edited: bool = False


class Delivery(Numbered, table=True):
    """One channel's publishing of one approved post: the outbox row."""

    __table_args__ = (UniqueConstraint("post_id", "channel"),)

    # An incident's post, or (for the content calendar) a scheduled post: one of the two.
    post_id: int | None = Field(default=None, foreign_key="post.id", index=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    scheduled_post_id: int | None = Field(default=None, foreign_key="scheduledpost.id")
    # Or a planned maintenance's post (bot/maintenance): published at its time.
    maintenance_post_id: int | None = Field(
        default=None, foreign_key="maintenancepost.id", index=True
    )
    # Or an approved answer to something heard (bot/listening), threaded to it. No foreign
    # key: see migration 0013.
    answer_id: int | None = Field(default=None, index=True)
    channel: str = Field(sa_column=Column(String(24), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(index=True))
    claimed_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(80)))  # host:pid
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    text: str | None = Field(default=None, sa_column=Column(Text))  # as published, with its time
    external_id: str | None = Field(default=None, sa_column=Column(String(200)))
    url: str | None = Field(default=None, sa_column=Column(Text))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class ChatAnchor(Numbered, table=True):
    """Where an incident (or one of its posts) lives in a chat: a Slack message or Teams card;
    with no incident, a message in the comms channel (an answer to a mention, ``answer:12``)."""

    __table_args__ = (
        UniqueConstraint("incident_id", "platform", "purpose"),
        # The constraint above does not hold where incident_id is empty (NULLs differ): this does.
        Index(
            "ix_chatanchor_comms",
            "platform",
            "purpose",
            unique=True,
            sqlite_where=text("incident_id IS NULL"),
            postgresql_where=text("incident_id IS NULL"),
        ),
    )

    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    platform: str = Field(sa_column=Column(String(16), nullable=False))
    purpose: str = Field(sa_column=Column(String(40), nullable=False))  # "root", "post:12", …
    channel_id: str = Field(sa_column=Column(String(200), nullable=False))
    message_id: str = Field(sa_column=Column(String(200), nullable=False))  # Slack ts, Teams id
    thread_id: str | None = Field(default=None, sa_column=Column(String(200)))
    reference: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Job(Numbered, table=True):
    """Something to do at a time: a reminder, a calendar post. Claimed with a lease."""

    # The claim walks the live rows in due order and stops at the first free one, instead of
    # reading and sorting every live row (a post's 18,000 subscriber rows: 12 ms of CPU a claim
    # on SQLite without it, 2 ms with it; bench/README.md, subscribers).
    __table_args__ = (Index("ix_job_live", "done_at", "due_at", "id"),)

    kind: str = Field(sa_column=Column(String(40), nullable=False))
    # One live job per key ("approval:12"): scheduling again moves it instead of adding one.
    key: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    due_at: datetime = Field(sa_column=_utc_column(index=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    claimed_by: str | None = Field(default=None, sa_column=Column(String(80)))
    claimed_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    done_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True, index=True))
    outcome: str | None = Field(default=None, sa_column=Column(String(200)))


class Pace(SQLModel, table=True):
    """A network's rate limit shared by every Crier process on this database: one row per key
    (by its fingerprint, never the key), locked while a request takes its slot, with a hold
    after a 429. The times of the last requests are its ``PaceSlot`` rows."""

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    held_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class PaceSlot(SQLModel, table=True):
    """One of a key's last ``limit`` request times, a ring of ``limit`` rows: a request rewrites
    the oldest, so taking a slot updates one small row whatever the limit."""

    __table_args__ = (Index("ix_paceslot_oldest", "key", "at"),)

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    n: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=_utc_column())


class AuditEvent(Numbered, table=True):
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    post_id: int | None = Field(default=None, foreign_key="post.id")
    actor: str = Field(sa_column=Column(String(80), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(index=True))


class ScheduledPost(Numbered, table=True):
    """The content calendar: posts that go out at a time unless an incident holds them.

    A post is proposed ``pending``; an approver who is not its author makes it ``scheduled``
    (or ``rejected``). Only a scheduled post goes out, or is held while an incident is open.

    A post of a recurring series (crier.yml's ``calendar_series``) names its series and the
    occurrence it is for: each occurrence is drafted once, whichever process drafts it."""

    # A unique index rather than a constraint: SQLite adds one without rebuilding the table,
    # which the deliveries' keys pointing at it would refuse (migration 0009).
    __table_args__ = (Index("ix_scheduledpost_occurrence", "series", "occurrence_at", unique=True),)

    text: str = Field(sa_column=Column(Text, nullable=False))
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    due_at: datetime = Field(sa_column=_utc_column(index=True))
    state: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    created_by: str = Field(sa_column=Column(String(80), nullable=False))
    # Who approved (or rejected) it, and when; "config:crier.yml" for crier.yml's entries.
    decided_by: str | None = Field(default=None, sa_column=Column(String(80)))
    decided_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The open incident that held it back, while it is held.
    held_by: int | None = Field(default=None, foreign_key="incident.id")
    # The maintenance under way that held it back (crier.yml's ``maintenance.pauses_calendar``).
    # No foreign key: see migration 0011.
    held_by_maintenance: int | None = None
    published_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # A series' post: the series' name, the occurrence's time (UTC), the place of its text in
    # the series' bank (the next occurrence takes the next), and the batch it was drafted in
    # (the id of that batch's first post): its posts are shown and approved together.
    series: str | None = Field(default=None, sa_column=Column(String(80)))
    occurrence_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    bank_position: int | None = None
    batch: int | None = Field(default=None, index=True)


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled, because Slack retries and bolt does not de-duplicate."""

    event_id: str = Field(sa_column=Column(String(100), primary_key=True))
    seen_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column())


class OutboxPost(Numbered, table=True):
    """What the dry-run outbox 'published': readable with ``crier outbox`` or at /outbox/{id}."""

    network: str = Field(sa_column=Column(String(24), nullable=False, index=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    reply_to: str | None = Field(default=None, sa_column=Column(String(200)))
    incident_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(index=True))


class SubscriberKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    CHAT = "chat"  # a staff Slack or Teams channel following services


class Subscriber(Numbered, table=True):
    """Someone told of every post the status site publishes (of chosen services, or all).

    An email address is personal data: its row exists only once its owner confirmed it (the
    confirmation link carries the address until then, signed), and is deleted when they
    unsubscribe. A webhook's signing key is derived from ``CRIER_SITE_SECRET``, never stored."""

    __table_args__ = (UniqueConstraint("kind", "address"),)

    kind: str = Field(sa_column=Column(String(12), nullable=False))
    # The email address, the webhook's URL, or the chat channel ("slack:C0123").
    address: str = Field(sa_column=Column(String(500), nullable=False))
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # A chat channel's own address where its platform needs one (a Teams conversation).
    reference: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    confirmed_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column())

    def follows(self, service_slug: str) -> bool:
        return not self.services or service_slug in self.services


class OutboxMail(Numbered, table=True):
    """An email the dry-run outbox 'sent' (no ``CRIER_SMTP_URL``): the sandbox's mailbox, and
    proof that nothing was silently dropped. Deleted with its subscriber."""

    message_id: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    recipient: str = Field(sa_column=Column(String(320), nullable=False, index=True))
    subject: str = Field(sa_column=Column(String(300), nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))  # as it would be sent
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(index=True))


class MaintenanceState(StrEnum):
    PENDING = "pending"  # its series waits for an approver
    SCHEDULED = "scheduled"  # approved: each post goes out at its time
    IN_PROGRESS = "in_progress"  # the window has begun
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class Maintenance(Numbered, table=True):
    """A planned maintenance window: what people will notice, when, and its series of posts
    (``MaintenancePost``), approved together. Times are UTC; people typed them in the
    organisation's zone."""

    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    what_users_notice: str = Field(default="", sa_column=Column(Text, nullable=False))
    what_to_do: str = Field(default="", sa_column=Column(Text, nullable=False))
    starts_at: datetime = Field(sa_column=_utc_column(index=True))
    ends_at: datetime = Field(sa_column=_utc_column())
    announce_at: datetime = Field(sa_column=_utc_column())
    remind_before_minutes: int = 60
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    revision: int = 1  # an edit of the window drafts the series again, for approval again
    created_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column())
    # Where in chat it was planned (the chat's own address of it): its window's end is asked
    # about there.
    planned_where: str | None = Field(default=None, sa_column=Column(Text))
    decided_by: str | None = Field(default=None, sa_column=Column(String(80)))
    decided_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class MaintenancePost(Numbered, table=True):
    """One post of a maintenance's series, at one revision: each channel's text (with the
    ``{time}`` placeholder, filled in when it goes out) and when it goes out (None: when
    someone marks the work complete, or when an extension or a cancellation is approved)."""

    maintenance_id: int = Field(foreign_key="maintenance.id", index=True)
    revision: int
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # An extension's new end of the window, which its approval makes the window's.
    ends_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    requested_by: str | None = Field(default=None, sa_column=Column(String(80)))
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))


class HeardPost(Numbered, table=True):
    """A reply to one of Crier's posts, or a mention, as a network served it (``bot.listening``):
    kept once per network and id, whoever polled it, so it reaches the thread once."""

    __tablename__ = "heard"
    __table_args__ = (
        UniqueConstraint("network", "external_id"),
        # Mentions of one service over time: what a spike is measured on.
        Index("ix_heard_service_time", "service", "created_at"),
    )

    network: str = Field(sa_column=Column(String(16), nullable=False))
    external_id: str = Field(sa_column=Column(String(300), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # reply, mention
    author: str = Field(sa_column=Column(String(300), nullable=False))
    author_name: str = Field(sa_column=Column(String(300), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    url: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_utc_column())  # as the network dates it
    heard_at: datetime = Field(sa_column=_utc_column())  # when Crier read it
    in_reply_to: str | None = Field(default=None, sa_column=Column(String(300)))
    reply_ref: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The published post it answers (a delivery) and that post's incident, for a reply.
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    # The catalog service it names, if any (a mention's watched term, or a reply's incident's).
    service: str | None = Field(default=None, sa_column=Column(String(60)))
    mood: float = 0.0  # VADER's compound score, -1 (angry) to 1
    # When it was given to the chat (in a batch); None while it waits for the next batch.
    shown_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class ListenMark(SQLModel, table=True):
    """Where a network's listening goes on from (a cursor per source: "mastodon:mentions",
    "bluesky:replies:12"), or when it last did something once (a spike's alert)."""

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    cursor: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Answer(Numbered, table=True):
    """A public answer to something heard (a reply to one of Crier's posts, or a mention),
    drafted by a person and published on that network, threaded to it, once an approver who is
    not its author approves it. An edit is the next revision, approved again."""

    heard_id: int = Field(foreign_key="heard.id", index=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    network: str = Field(sa_column=Column(String(16), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))  # PostState's values
    revision: int = 1
    requested_by: str = Field(sa_column=Column(String(80), nullable=False))
    requested_at: datetime = Field(sa_column=_utc_column())
    decided_by: str | None = Field(default=None, sa_column=Column(String(80)))
    decided_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    reject_reason: str | None = Field(default=None, sa_column=Column(Text))
