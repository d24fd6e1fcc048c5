"""The audit log: who did what, when; and an incident's timeline as Markdown."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.storage.models import AuditEvent, Delivery, Incident, Post, Rendition

SYSTEM_ACTOR = "crier"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    incident_id: int | None = None,
    post_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        incident_id=incident_id,
        post_id=post_id,
        actor=actor,
        action=action,
        at=at,
        detail=detail or {},
    )
    session.add(event)
    return event


def events_for(session: Session, *, incident_id: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.incident_id == incident_id)
            .order_by(col(AuditEvent.at), col(AuditEvent.id))
        ).all()
    )


_DESCRIBE = {
    "declare": "declared the incident",
    "draft": "drafted post {number} ({kind})",
    "edit": "edited the draft (revision {revision})",
    "approve": "approved post {number}, revision {revision}",
    "approve_refused": "was refused approval: {reason}",
    "reject": "rejected the draft: {reason}",
    "publish": "published to {channel}: {url}",
    "publish_failed": "could not publish to {channel}: {error}",
    "publish_unknown": "{channel}: outcome unknown after a restart ({error})",
    "retry": "asked to retry {channel}",
    "retry_refused": "was refused a retry of {channel}: {reason}",
    "confirm_sent": "confirmed the post is up on {channel}",
    "confirm_refused": "was refused confirming the post on {channel}: {reason}",
    "resolve": "resolved the incident",
}


def _describe(event: AuditEvent) -> str:
    template = _DESCRIBE.get(event.action, event.action)
    fields: dict[str, Any] = {
        "number": "",
        "kind": "",
        "revision": "",
        "reason": "",
        "channel": "",
        "url": "",
        "error": "",
    }
    fields.update(event.detail)
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return event.action


def _md(text: str) -> str:
    """Keep user text from breaking the Markdown table-free layout."""
    return text.replace("\n", " ").replace("`", "'")


def export_markdown(session: Session, *, incident_id: int, zone: ZoneInfo) -> str:
    """The incident's timeline, its posts as published, and its deliveries, as Markdown."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise LookupError(f"no incident #{incident_id}")

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    lines = [
        f"# Incident #{incident.id}: {_md(incident.service)} — {_md(incident.summary)}",
        "",
        f"- Severity: {incident.severity}",
        f"- Status: {incident.status}",
        f"- Declared: {when(incident.declared_at)} by {incident.declared_by}",
        f"- Resolved: {when(incident.resolved_at) if incident.resolved_at else 'not yet'}",
        "",
        "## Timeline",
        "",
    ]
    for event in events_for(session, incident_id=incident_id):
        lines.append(f"- {when(event.at)} · {event.actor} {_md(_describe(event))}")
    lines += ["", "## Published posts", ""]
    deliveries = session.exec(
        select(Delivery).where(Delivery.incident_id == incident_id).order_by(col(Delivery.id))
    ).all()
    for delivery in deliveries:
        post = session.get(Post, delivery.post_id)
        state = delivery.state + (f" — {delivery.url}" if delivery.url else "")
        if delivery.last_error and delivery.state != "sent":
            state += f" ({_md(delivery.last_error)})"
        lines.append(f"### Post {post.number if post else '?'} on {delivery.channel}: {state}")
        text = delivery.text
        if text is None:
            rendition = session.exec(
                select(Rendition).where(
                    Rendition.post_id == delivery.post_id, Rendition.channel == delivery.channel
                )
            ).first()
            text = rendition.text if rendition else ""
        lines += ["", *[f"> {line}" for line in text.splitlines()], ""]
    return "\n".join(lines).rstrip() + "\n"
