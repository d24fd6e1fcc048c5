"""Approval use cases in one session: approve (writing the outbox), reject, edit, revise,
retry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.errors import Conflict, InvalidInput
from bot.incidents.acting import Acting
from bot.incidents.readers import incident_view, load_post, post_view, text_problems
from bot.incidents.requests import EditRequest, clean_text
from bot.incidents.revisions import newest_revision, revise_refusal
from bot.scheduling import calendar_pause, reminders
from bot.storage.models import (
    Delivery,
    DeliveryState,
    Incident,
    IncidentStatus,
    Post,
    PostKind,
    PostState,
    Rendition,
)
from bot.views import Draft, PostView

REASON_MAX = 500
TEXT_MAX = 25_000


def ensure_decidable(session: Session, post: Post) -> None:
    """Refuse a decision on a draft that is no longer waiting, with what happened to it."""
    newest = newest_revision(session, post)
    if post.state == PostState.SUPERSEDED or post.revision < newest:
        raise Conflict(
            f"This is revision {post.revision} of the draft; revision {newest} replaced "
            "it. Use the buttons on the newest revision."
        )
    if post.state == PostState.APPROVED:
        raise Conflict("This draft was already approved; it is being published.")
    if post.state == PostState.REJECTED:
        raise Conflict("This draft was already rejected.")


def _decide(
    session: Session,
    post_id: int,
    *,
    lost: str = "Someone else decided on this draft a moment ago.",
    **values: Any,
) -> None:
    """Move the pending draft on (``values``). The conditional update is the lock: of two
    simultaneous clicks, one changes the row, and the other is told ``lost``."""
    claimed = session.execute(
        update(Post)
        .where(col(Post.id) == post_id, col(Post.state) == PostState.PENDING)
        .values(**values)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(lost)


def idempotency_key(post: Post, channel: str) -> str:
    """Stable per (post, channel): a retry of one delivery never looks like a new post."""
    raw = f"crier:{post.incident_id}:{post.number}:{channel}".encode()
    return hashlib.sha256(raw).hexdigest()[:40]


def approvable(session: Session, *, config: CrierConfig, post_id: int) -> PostView:
    """The draft, if it could be approved now; else Conflict says why (decided, replaced by a
    newer revision, too long for a channel)."""
    post = load_post(session, post_id)[1]
    ensure_decidable(session, post)
    view = post_view(session, config, post)
    if not view.publishable:
        raise Conflict(
            "This draft cannot be published yet: " + "; ".join(view.problems) + ". Edit it first."
        )
    return view


def approve(act: Acting, *, post_id: int, emergency: bool = False) -> PostView:
    """Approve a pending draft: the post, its deliveries and the incident's status, in one go.
    ``emergency``: by the emergency rule (``approvals.emergency``), without an approver."""
    session, config, now = act.session, act.config, act.now
    incident, post = load_post(session, post_id)
    approvable(session, config=config, post_id=post_id)
    _decide(session, post_id, state=PostState.APPROVED, decided_by=act.actor.key, decided_at=now)
    session.refresh(post)
    for rendition in session.exec(select(Rendition).where(Rendition.post_id == post_id)).all():
        session.add(
            Delivery(
                post_id=post_id,
                incident_id=incident.id or 0,
                channel=rendition.channel,
                state=DeliveryState.QUEUED,
                next_attempt_at=now,
                idempotency_key=idempotency_key(post, rendition.channel),
                created_at=now,
            )
        )
    # What the update changed (severity, channels) holds from now on, reminders included.
    if post.facts.get("severity"):
        incident.severity = post.facts["severity"]
    if post.facts.get("channels"):
        incident.channels = list(post.facts["channels"])
    reminders.on_approved(session, config=config, incident=incident, post=post, now=now)
    incident.status = post.status
    incident.updated_at = now
    if post.facts.get("next_update_minutes"):
        incident.next_update_minutes = post.facts["next_update_minutes"]
    if post.kind == PostKind.RESOLUTION:
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = now
        calendar_pause.on_resolved(session, incident=incident, now=now)
    else:
        # The incident remembers what its latest public post said, for the next update's form.
        for key in ("what_we_are_doing", "what_users_see"):
            if post.facts.get(key):
                setattr(incident, key, post.facts[key])
    session.add(incident)
    act.record(
        "approve",
        incident_id=incident.id,
        post_id=post.id,
        detail={"number": post.number, "revision": post.revision, "emergency": emergency},
    )
    if emergency:
        reminders.on_emergency(session, incident=incident, post=post, now=now)
    if post.kind == PostKind.RESOLUTION:
        act.record("resolve", incident_id=incident.id)
    session.flush()
    return post_view(session, config, post)


def reject(act: Acting, *, post_id: int, reason: str) -> PostView:
    session = act.session
    incident, post = load_post(session, post_id)
    ensure_decidable(session, post)
    reason = clean_text(reason, field_name="reason", limit=REASON_MAX, required=True)
    decided: dict[str, Any] = {"decided_by": act.actor.key, "decided_at": act.now}
    _decide(session, post_id, state=PostState.REJECTED, reject_reason=reason, **decided)
    reminders.on_decided(session, post=post, now=act.now)
    session.refresh(post)
    act.record("reject", incident_id=incident.id, post_id=post.id, detail={"reason": reason})
    return post_view(session, act.config, post)


def _checked_texts(
    session: Session, *, config: CrierConfig, post: Post, request: EditRequest
) -> tuple[dict[str, Rendition], dict[str, str]]:
    """``post``'s renditions by channel, and its texts with the request's changes, each
    cleaned and checked against its network (InvalidInput on the fields that are not ready)."""
    old = {
        r.channel: r for r in session.exec(select(Rendition).where(Rendition.post_id == post.id))
    }
    texts = {n.value: t for n, t in request.texts.items()}
    unknown = set(texts) - set(old)
    if unknown:
        raise InvalidInput(f"This draft has no text for {', '.join(sorted(unknown))}.")
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    promises = post.facts.get("next_update_minutes") is not None
    for channel, rendition in old.items():
        text = texts.get(channel, rendition.text)
        try:
            text = clean_text(text, field_name=channel, limit=TEXT_MAX, required=True)
        except InvalidInput as exc:
            errors.update(exc.fields)
            continue
        problems = text_problems(config, Network(channel), text, promises_update=promises)
        if problems:
            errors[channel] = "; ".join(problems)
        cleaned[channel] = text
    if errors:
        raise InvalidInput("Some texts are not ready: " + "; ".join(errors.values()), errors)
    return old, cleaned


def _add_revision(
    act: Acting,
    incident: Incident,
    post: Post,
    old: dict[str, Rendition],
    cleaned: dict[str, str],
    *,
    action: str,
    detail: dict[str, Any],
) -> Draft:
    """``post`` again as a pending draft at the next revision, with ``cleaned`` texts; whoever
    made it is its drafter (so they do not approve it alone). Audited as ``action`` (with the
    new revision's number) and reminded about like any draft."""
    revised = Post(
        incident_id=post.incident_id,
        number=post.number,
        # The caller's check found no later revision; counting again here could see one a
        # simultaneous revise has just committed (PostgreSQL reads each statement afresh) and
        # step over it, so the unique revision number could not stop the second one.
        revision=post.revision + 1,
        kind=post.kind,
        state=PostState.PENDING,
        status=post.status,
        facts=dict(post.facts),
        requested_by=act.actor.key,
        requested_at=act.now,
    )
    session, config = act.session, act.config
    try:
        # Of two people revising one rejected draft at once, the unique revision number lets
        # one through (PostgreSQL; SQLite runs them one after the other).
        with session.begin_nested():
            session.add(revised)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "Someone made a new revision of this draft a moment ago. Use its buttons."
        ) from None
    for channel, rendition in old.items():
        changed = cleaned[channel] != rendition.text
        session.add(
            Rendition(
                post_id=revised.id or 0,
                channel=channel,
                text=cleaned[channel],
                # What the drafter shortened no longer describes a text a person rewrote.
                notes=[] if changed else rendition.notes,
                edited=rendition.edited or changed,
            )
        )
    session.flush()
    act.record(
        action,
        incident_id=incident.id,
        post_id=revised.id,
        detail={"number": revised.number, "revision": revised.revision, **detail},
    )
    reminders.on_draft(session, config=config, incident=incident, post=revised, now=act.now)
    return Draft(incident=incident_view(config, incident), post=post_view(session, config, revised))


def edit(act: Acting, *, post_id: int, request: EditRequest) -> Draft:
    """Save edited texts as a new revision, which needs approval again."""
    session = act.session
    incident, post = load_post(session, post_id)
    ensure_decidable(session, post)
    checked = _checked_texts(session, config=act.config, post=post, request=request)
    lost = "Someone decided on this draft while you were editing it."
    _decide(session, post_id, lost=lost, state=PostState.SUPERSEDED)
    reminders.on_decided(session, post=post, now=act.now)
    return _add_revision(act, incident, post, *checked, action="edit", detail={"replaces": post.id})


def revisable(session: Session, *, config: CrierConfig, post_id: int) -> PostView:
    """The rejected draft, if *Revise* could bring it back now; else Conflict says why (not
    rejected, a newer draft already made, the incident resolved)."""
    return post_view(session, config, _rejected(session, post_id)[1])


def _rejected(session: Session, post_id: int) -> tuple[Incident, Post]:
    """The rejected post and its incident, if it may be revised now; else Conflict."""
    incident, post = load_post(session, post_id)
    refusal = revise_refusal(session, incident=incident, post=post)
    if refusal is not None:
        raise Conflict(refusal)
    return incident, post


def revise(act: Acting, *, post_id: int, request: EditRequest | None = None) -> Draft:
    """A rejected draft back as a new revision of its number, waiting for approval: the same
    facts and texts, with ``request``'s changes (as an edit makes them)."""
    incident, post = _rejected(act.session, post_id)
    request = request or EditRequest()
    checked = _checked_texts(act.session, config=act.config, post=post, request=request)
    return _add_revision(
        act, incident, post, *checked, action="revise", detail={"revises": post.id}
    )


@dataclass(frozen=True)
class Asked:
    """What deciding on a draft depends on: whose it is, and whether the emergency rule fits."""

    incident_id: int | None
    requested_by: str
    requested_at: datetime
    severity: str
    kind: str


def asked(session: Session, post_id: int) -> Asked:
    """The draft's facts for the gate (NotFound if there is no such post)."""
    incident, post = load_post(session, post_id)
    return Asked(incident.id, post.requested_by, post.requested_at, incident.severity, post.kind)
