"""The audit log: who did what, when; and an incident's timeline as Markdown."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.drafting.post_times import promise_time
from bot.incidents import labels
from bot.ports import Actor
from bot.storage.models import AuditEvent, Delivery, Incident, Post, Rendition

SYSTEM_ACTOR = "crier"
BY = "by"  # in an event's detail: the person's name, when their chat told it


def record(
    session: Session,
    *,
    actor: Actor | str,
    action: str,
    at: datetime,
    incident_id: int | None = None,
    post_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Note ``action`` by ``actor`` (a person, or ``SYSTEM_ACTOR``); a person's name as their
    chat gave it is kept beside their id, so an export reads "Ann Lee", not "slack:U0AN"."""
    detail = dict(detail or {})
    if isinstance(actor, Actor) and actor.name:
        detail.setdefault(BY, actor.name)
    event = AuditEvent(
        incident_id=incident_id,
        post_id=post_id,
        actor=actor if isinstance(actor, str) else actor.key,
        action=action,
        at=at,
        detail=detail,
    )
    session.add(event)
    return event


_DESCRIBE = {
    "declare": "declared the incident",
    "draft": "drafted post {number} ({kind})",
    "close_unpublished": "closed the incident (nothing had been published)",
    "edit": "edited the draft (revision {revision})",
    "revise": "revised the rejected draft of post {number} (revision {revision})",
    "approve": "approved post {number}, revision {revision}",
    "approve_refused": "was refused approval: {reason}",
    "reject": "rejected the draft: {reason}",
    "publish": "published to {channel}: {url}",
    "publish_failed": "could not publish to {channel}: {error}",
    "publish_unknown": "could not tell whether {channel} took the post ({error})",
    "publish_held_budget": "held the {channel} post: it would pass the month's budget",
    "retry": "asked to retry {channel}",
    "retry_refused": "was refused a retry of {channel}: {reason}",
    "confirm_sent": "confirmed the post is up on {channel}",
    "confirm_refused": "was refused confirming the post on {channel}: {reason}",
    "resolve": "resolved the incident",
    "promise_missed": "missed the update promised for {promised_at}",
    "snooze": "snoozed a reminder for {minutes} minutes",
    "calendar_held": "held scheduled post #{scheduled_post_id} during the incident",
    "calendar_published": "published scheduled post #{scheduled_post_id}",
    "calendar_resume": "released held scheduled post #{scheduled_post_id}",
}


def _describe(event: AuditEvent, zone: ZoneInfo) -> str:
    template = _DESCRIBE.get(event.action, event.action.replace("_", " "))
    if event.action == "draft" and not event.detail.get("number"):  # rows from before 2026-12
        template = "drafted a post ({kind})"
    fields: dict[str, Any] = dict.fromkeys(
        ("number", "kind", "revision", "reason", "url", "error", "minutes"), ""
    )
    fields.update(event.detail)
    if "channel" in event.detail:
        fields["channel"] = labels.network(str(event.detail["channel"]))
    if "kind" in event.detail:
        fields["kind"] = labels.kind(str(event.detail["kind"])).lower()
    if "promised_at" in event.detail:
        promised = datetime.fromisoformat(str(event.detail["promised_at"]))
        fields["promised_at"] = promise_time(event.at, promised, zone)
    if event.action == "approve" and event.detail.get("emergency"):
        template += " ALONE, by the emergency rule (no approver answered)"
    if event.action == "declare" and event.detail.get("during_maintenance"):
        template += " during planned maintenance #{during_maintenance}"
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return event.action.replace("_", " ")


def _declarer(session: Session, incident: Incident) -> str:
    declared = session.exec(
        select(AuditEvent).where(
            AuditEvent.incident_id == incident.id, AuditEvent.action == "declare"
        )
    ).first()
    return who(declared) if declared is not None else incident.declared_by


def who(event: AuditEvent) -> str:
    """The person's name as their chat gave it, else their id; Crier itself by name."""
    if event.actor == SYSTEM_ACTOR:
        return "Crier"
    name = event.detail.get(BY)
    return f"{name} ({event.actor})" if name else event.actor


def md(text: str) -> str:
    """Keep user text from breaking the Markdown table-free layout."""
    return text.replace("\n", " ").replace("`", "'")


def export_markdown(session: Session, *, incident_id: int, config: CrierConfig) -> str:
    """The incident's timeline, its posts as published, and its deliveries, as Markdown."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise LookupError(f"no incident #{incident_id}")
    zone = config.organisation.zone
    severity = config.severities.get(incident.severity)  # type: ignore[call-overload]

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    lines = [
        f"# Incident #{incident.id}: {md(incident.service)} — {md(incident.summary)}",
        "",
        f"- Severity: {severity.label if severity else incident.severity}",
        f"- Status: {labels.status(incident.status)}",
        f"- Declared: {when(incident.declared_at)} by {md(_declarer(session, incident))}",
        f"- Resolved: {when(incident.resolved_at) if incident.resolved_at else 'not yet'}",
        "",
        "## Timeline",
        "",
    ]
    timeline = (
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident_id)
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    for event in session.exec(timeline):
        lines.append(f"- {when(event.at)} · {md(who(event))} {md(_describe(event, zone))}")
    lines += ["", "## Published posts", ""]
    deliveries = session.exec(
        select(Delivery).where(Delivery.incident_id == incident_id).order_by(col(Delivery.id))
    ).all()
    for delivery in deliveries:
        post = session.get(Post, delivery.post_id) if delivery.post_id is not None else None
        state = delivery.state + (f" — {delivery.url}" if delivery.url else "")
        if delivery.last_error and delivery.state != "sent":
            state += f" ({md(delivery.last_error)})"
        channel = labels.network(delivery.channel)
        if delivery.answer_id is not None:  # a public answer to someone's reply
            lines.append(f"### Answer #{delivery.answer_id} on {channel}: {state}")
        else:
            lines.append(f"### Post {post.number if post else '?'} on {channel}: {state}")
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
