"""What the public answered to an incident, for its record: the replies heard, their mood overall
and after each of the incident's posts (did the update calm people or not?), and how long the
first reply waited for a public answer. Read by the post-incident review's figures and by
``crier export``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.listening.mood import MoodSummary, MoodWindow, summary, trend
from bot.listening.views import HeardView
from bot.storage.models import Delivery, DeliveryState, HeardPost


@dataclass(frozen=True)
class Reaction:
    replies: tuple[HeardView, ...]  # oldest first
    overall: MoodSummary
    by_post: tuple[MoodWindow, ...]  # before the first post, then after each
    first_answer_after: timedelta | None  # from the first reply to the first answer sent

    def negative(self, window: MoodWindow) -> str:
        share = window.negative_percent
        return "—" if share is None else f"{round(share)} % of {window.summary.count}"

    def trend_line(self) -> str:
        """ "after post 1: 60 % of 5 · after post 2: 20 % of 10" (negative replies)."""
        return " · ".join(
            f"after post {w.after_post + 1}: {self.negative(w)}"
            for w in self.by_post
            if w.after_post is not None
        )


def reaction(session: Session, incident_id: int) -> Reaction | None:
    """What was heard in answer to the incident's posts; None when nothing was."""
    rows = session.exec(
        select(HeardPost)
        .where(HeardPost.incident_id == incident_id)
        .order_by(col(HeardPost.created_at), col(HeardPost.id))
    ).all()
    if not rows:
        return None
    replies = tuple(HeardView.of(row) for row in rows)
    # Each post's time is its first sending anywhere: one update out on four networks seconds
    # apart is one post.
    posts = session.exec(
        select(func.min(Delivery.sent_at))
        .where(
            Delivery.incident_id == incident_id,
            Delivery.state == DeliveryState.SENT,
            col(Delivery.post_id).is_not(None),
        )
        .group_by(col(Delivery.post_id))
    ).all()
    answered = session.exec(
        select(func.min(Delivery.sent_at)).where(
            Delivery.incident_id == incident_id,
            col(Delivery.answer_id).is_not(None),
            Delivery.state == DeliveryState.SENT,
        )
    ).one()
    first_reply = replies[0].created_at
    return Reaction(
        replies=replies,
        overall=summary(r.mood for r in replies),
        by_post=tuple(
            trend([(r.created_at, r.mood) for r in replies], [p for p in posts if p is not None])
        ),
        first_answer_after=answered - first_reply if answered is not None else None,
    )


def reaction_markdown(found: Reaction, zone: ZoneInfo) -> list[str]:
    """The record's section on it (the public's words kept on one line each)."""

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    lines = [
        "## What the public answered",
        "",
        f"- Replies heard: {found.overall.count}, "
        f"{round(found.overall.negative_percent)} % negative",
        f"- Negative replies {found.trend_line()}",
    ]
    if found.first_answer_after is not None:
        minutes = int(found.first_answer_after.total_seconds() // 60)
        lines.append(f"- First reply to first public answer: {minutes} min")
    lines.append("")
    for reply in found.replies:
        text = " ".join(reply.text.split()).replace("`", "'")
        lines.append(
            f"- {when(reply.created_at)} · {reply.network_label} · {reply.who} · "
            f"{reply.mood.text}: {text}"
        )
    return lines
