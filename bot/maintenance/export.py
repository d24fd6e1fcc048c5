"""A maintenance's record as Markdown (``crier maintenance export N``): its window, who planned
and approved it, what happened when, and every post as it was published on each channel."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.incidents import labels
from bot.maintenance.drafting import KIND_LABELS
from bot.maintenance.window import SeriesKind
from bot.storage.audit import md, who
from bot.storage.models import AuditEvent, Delivery, Incident, Maintenance, MaintenancePost


def export_maintenance(session: Session, *, maintenance_id: int, config: CrierConfig) -> str:
    maintenance = session.get(Maintenance, maintenance_id)
    if maintenance is None:
        raise LookupError(f"no maintenance #{maintenance_id}")
    zone = config.organisation.zone

    def when(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if at else "not yet"

    lines = [
        f"# Maintenance #{maintenance.id}: {md(', '.join(maintenance.services))} — "
        f"{md(maintenance.title)}",
        "",
        f"- Window: {when(maintenance.starts_at)} to {when(maintenance.ends_at)}",
        f"- State: {maintenance.state.replace('_', ' ')}",
        f"- Planned by {maintenance.created_by} at {when(maintenance.created_at)}",
        f"- Decided by {maintenance.decided_by or 'nobody yet'} at {when(maintenance.decided_at)}",
        "",
        "## Timeline",
        "",
    ]
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).startswith("maintenance"))
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    ).all()
    for event in events:
        if event.detail.get("maintenance_id") == maintenance_id:
            action = event.action.removeprefix("maintenance_").replace("_", " ")
            lines.append(f"- {when(event.at)} · {md(who(event))} {action}")
    linked = session.exec(
        select(Incident).where(Incident.maintenance_id == maintenance_id).order_by(col(Incident.id))
    ).all()
    if linked:
        lines += ["", "## Incidents declared during the window", ""]
        lines += [
            f"- #{i.id}: {md(i.service)} — {md(i.summary)} ({when(i.declared_at)})" for i in linked
        ]
    lines += ["", "## Published posts", ""]
    rows = session.exec(
        select(Delivery, MaintenancePost)
        .join(MaintenancePost, col(MaintenancePost.id) == col(Delivery.maintenance_post_id))
        .where(MaintenancePost.maintenance_id == maintenance_id)
        .order_by(col(Delivery.id))
    ).all()
    for delivery, post in rows:
        kind = KIND_LABELS.get(SeriesKind(post.kind), post.kind)
        state = delivery.state + (f" — {delivery.url}" if delivery.url else "")
        lines.append(f"### The {kind} on {labels.network(delivery.channel)}: {state}")
        text = delivery.text or post.texts.get(delivery.channel, "")
        lines += ["", *[f"> {line}" for line in text.splitlines()], ""]
    return "\n".join(lines).rstrip() + "\n"
