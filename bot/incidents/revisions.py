"""Whether a rejected draft may be revised: the rule behind *Revise*, in one place.

The views ask it to show the button only where it works (``readers.post_view``), and the use
case asks it again before revising (``approvals.revise``).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from bot.storage.models import Incident, Post, PostState

ONE_STORY = (
    "This incident already has a draft waiting for approval. Approve, edit or reject it "
    "first, so the public sees one story at a time."
)


def pending_draft(session: Session, *, incident_id: int) -> Post | None:
    return session.exec(
        select(Post).where(Post.incident_id == incident_id, Post.state == PostState.PENDING)
    ).first()


def newest_revision(session: Session, post: Post) -> int:
    """The highest revision of ``post``'s number: a revise makes the one after it."""
    newest = session.exec(
        select(func.max(Post.revision)).where(
            Post.incident_id == post.incident_id, Post.number == post.number
        )
    ).one()
    return max(newest or 0, post.revision)


def revise_refusal(session: Session, *, incident: Incident, post: Post) -> str | None:
    """Why ``post`` cannot be revised now, as a sentence for the person; None if it can."""
    if post.state != PostState.REJECTED:
        return f"This draft is {post.state}; only a rejected draft can be revised."
    if incident.resolved_at is not None:
        return f"Incident #{incident.id} is already resolved."
    waiting = pending_draft(session, incident_id=post.incident_id)
    if waiting is not None and waiting.number == post.number:
        return (
            f"Revision {waiting.revision} of this draft already waits for approval. Approve, "
            "edit or reject that one, so the public sees one story at a time."
        )
    if waiting is not None:
        return ONE_STORY
    newest = newest_revision(session, post)
    if newest > post.revision:
        return (
            f"This is revision {post.revision} of the draft; revision {newest} came after it. "
            "Use the buttons on the newest revision."
        )
    return None
