"""Incident use cases inside one database session: declare, draft an update or the all-clear.

Each function takes what it acts with (``Acting``) and keyword-only arguments, writes what it
decides and its audit event, and returns plain views. ``bot.core`` runs them in a transaction
off the event loop.
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import TemplateError
from jinja2.exceptions import SecurityError
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.config import ChannelConfig, CrierConfig, Network
from bot.drafting.drafter import Drafter, PostFacts
from bot.errors import Conflict, TemplateProblem
from bot.incidents.acting import Acting
from bot.incidents.readers import incident_of, incident_view, post_view
from bot.incidents.requests import (
    DETAIL_MAX,
    SUMMARY_MAX,
    DeclareRequest,
    ResolveRequest,
    UpdateRequest,
    check_channels,
    check_next_update,
    clean_text,
    find_service,
)
from bot.incidents.revisions import ONE_STORY, newest_revision, pending_draft
from bot.maintenance.series import under_way
from bot.scheduling import calendar_pause, reminders
from bot.storage.models import Incident, IncidentStatus, Post, PostKind, PostState, Rendition
from bot.views import Draft, IncidentView

log = logging.getLogger(__name__)


def facts_for(config: CrierConfig, incident: Incident, post: Post) -> PostFacts:
    """Everything a template may say about one post, from the post's own snapshot."""
    service = config.find_service(incident.service)
    severity = config.severities[incident.severity]  # type: ignore[index]
    return PostFacts(
        organisation=config.organisation,
        service=incident.service,
        service_help_url=(service.help_url if service else None) or config.organisation.help_url,
        summary=post.facts.get("summary", incident.summary),
        severity=incident.severity,  # type: ignore[arg-type]
        severity_label=severity.label,
        status=IncidentStatus(post.status),
        kind=PostKind(post.kind),
        what_users_see=post.facts.get("what_users_see", ""),
        what_we_are_doing=post.facts.get("what_we_are_doing", ""),
        next_update_minutes=post.facts.get("next_update_minutes"),
        incident_id=incident.id or 0,
        number=post.number,
        false_alarm=bool(post.facts.get("false_alarm")),
    )


def render_renditions(
    session: Session, *, config: CrierConfig, drafter: Drafter, incident: Incident, post: Post
) -> None:
    facts = facts_for(config, incident, post)
    unlisted = (
        [f"{incident.service} is not in Crier's catalog: the post links to the help page"]
        if config.find_service(incident.service) is None
        else []
    )
    for channel in post.facts.get("channels") or incident.channels:
        network = Network(channel)
        settings = config.channels.get(network) or ChannelConfig()
        try:
            rendered = drafter.render(
                facts, network, max_characters=settings.max_characters, links=settings.links
            )
        except TemplateError as exc:  # staff edit the templates: refuse clearly, do not crash
            raise template_problem(channel, exc) from exc
        session.add(
            Rendition(
                post_id=post.id or 0,
                channel=channel,
                text=rendered.text,
                notes=[*rendered.notes, *unlisted],
            )
        )
    session.flush()


def template_problem(channel: str, exc: TemplateError) -> TemplateProblem:
    """A template that could not draft (a mistake, or the sandbox said no), for the person."""
    log.warning("the %s template could not draft a post: %s", channel, exc)
    what = (
        "tried to reach something templates may not use"
        if isinstance(exc, SecurityError)
        else f"has a mistake ({str(exc.message)[:200]})"
    )
    return TemplateProblem(
        f"Crier could not draft the {channel} post: its template {what}. Nothing was saved; "
        "ask whoever looks after Crier's templates to fix it."
    )


def _draft_post(
    act: Acting,
    drafter: Drafter,
    incident: Incident,
    *,
    kind: PostKind,
    status: IncidentStatus,
    facts: dict[str, Any],
) -> Draft:
    """The incident's next post, drafted for every channel and waiting for approval."""
    session, config = act.session, act.config
    if pending_draft(session, incident_id=incident.id or 0) is not None:
        raise Conflict(ONE_STORY)
    # Numbered by what the public saw: after a rejected draft, the next one is a new revision
    # of the same number ("Post 2 is out" counts posts that went out, not drafts).
    published = session.exec(
        select(func.max(Post.number)).where(
            Post.incident_id == incident.id, Post.state == PostState.APPROVED
        )
    ).one()
    number = (published or 0) + 1
    post = Post(
        incident_id=incident.id or 0,
        number=number,
        revision=0,  # until the revisions this number already had are counted, below
        kind=kind,
        state=PostState.PENDING,
        status=status,
        facts=facts,
        requested_by=act.actor.key,
        requested_at=act.now,
    )
    post.revision = newest_revision(session, post) + 1
    session.add(post)
    session.flush()
    render_renditions(session, config=config, drafter=drafter, incident=incident, post=post)
    reminders.on_draft(session, config=config, incident=incident, post=post, now=act.now)
    act.record(
        "draft",
        incident_id=incident.id,
        post_id=post.id,
        detail={"kind": post.kind, "number": post.number, "status": post.status},
    )
    earlier = session.exec(
        select(Post.id).where(
            Post.incident_id == incident.id, Post.number == number, Post.id != post.id
        )
    ).all()
    return Draft(
        incident=incident_view(config, incident),
        post=post_view(session, config, post),
        earlier=tuple(i for i in earlier if i is not None),
    )


def declare(act: Acting, *, drafter: Drafter, request: DeclareRequest) -> Draft:
    """Open an incident and draft its first public post."""
    config = act.config
    service = find_service(config, request.service, unlisted=request.unlisted)
    summary = clean_text(request.summary, field_name="summary", limit=SUMMARY_MAX, required=True)
    users_see = clean_text(request.what_users_see, field_name="what_users_see", limit=DETAIL_MAX)
    doing = clean_text(request.what_we_are_doing, field_name="what_we_are_doing", limit=DETAIL_MAX)
    severity = request.severity or service.default_severity
    channels = check_channels(
        config,
        request.channels or tuple(config.default_channels(service)),
    )
    minutes = (
        check_next_update(request.next_update_minutes)
        or config.severities[severity].next_update_minutes
    )
    incident = Incident(
        service=service.name,
        summary=summary,
        severity=severity,
        status=request.status,
        what_users_see=users_see,
        what_we_are_doing=doing,
        next_update_minutes=minutes,
        channels=[c.value for c in channels],
        declared_by=act.actor.key,
        declared_at=act.now,
        updated_at=act.now,
    )
    during = under_way(act.session, service=service.name, now=act.now)
    incident.maintenance_id = during.id if during is not None else None
    act.session.add(incident)
    act.session.flush()
    act.record(
        "declare",
        incident_id=incident.id,
        detail={
            "service": service.name,
            "summary": summary,
            "severity": severity,
            "unlisted": config.find_service(service.name) is None,
            **({"during_maintenance": during.id} if during is not None else {}),
        },
    )
    # The first post says what the incident was declared with.
    names = ("summary", "what_users_see", "what_we_are_doing", "next_update_minutes")
    facts = {name: getattr(incident, name) for name in names}
    return _draft_post(
        act, drafter, incident, kind=PostKind.INITIAL, status=request.status, facts=facts
    )


def open_incident(session: Session, incident_id: int) -> Incident:
    incident = incident_of(session, incident_id)
    if incident.resolved_at is not None:
        raise Conflict(f"Incident #{incident_id} is already resolved.")
    return incident


def draft_update(
    act: Acting, *, drafter: Drafter, incident_id: int, request: UpdateRequest
) -> Draft:
    """Draft a public update; the incident's status moves when the update is approved."""
    incident = open_incident(act.session, incident_id)
    if request.status == IncidentStatus.RESOLVED:
        raise Conflict("Use *Resolve* to post the all-clear.")
    users_see = clean_text(request.what_users_see, field_name="what_users_see", limit=DETAIL_MAX)
    doing = clean_text(request.what_we_are_doing, field_name="what_we_are_doing", limit=DETAIL_MAX)
    minutes = check_next_update(request.next_update_minutes) or incident.next_update_minutes
    facts: dict[str, Any] = {
        "summary": incident.summary,
        "what_users_see": users_see or incident.what_users_see,
        "what_we_are_doing": doing,
        "next_update_minutes": minutes,
    }
    # A new severity or channels take effect when this update is approved (approvals.approve).
    if request.severity is not None and request.severity != incident.severity:
        facts["severity"] = request.severity.value
    if request.channels is not None:
        facts["channels"] = [c.value for c in check_channels(act.config, request.channels)]
    # The public's first word on this incident is a first post, whatever came before.
    public = has_public_post(act.session, incident_id=incident_id)
    kind = PostKind.UPDATE if public else PostKind.INITIAL
    return _draft_post(act, drafter, incident, kind=kind, status=request.status, facts=facts)


def draft_resolution(
    act: Acting, *, drafter: Drafter, incident_id: int, request: ResolveRequest
) -> Draft | IncidentView:
    """Draft the all-clear; the incident is resolved when it is approved.

    An incident that never had a public post (declared by mistake, its draft rejected) is
    closed at once instead: there is no all-clear to give for news nobody heard.
    """
    session, now = act.session, act.now
    incident = open_incident(session, incident_id)
    if not has_public_post(session, incident_id=incident_id):
        if pending_draft(session, incident_id=incident_id) is not None:
            raise Conflict("Decide on the waiting draft first (approve or reject it).")
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = incident.updated_at = now
        session.add(incident)
        reminders.on_closed(session, incident=incident, now=now)
        calendar_pause.on_resolved(session, incident=incident, now=now)
        detail = {"false_alarm": request.false_alarm}
        act.record("close_unpublished", incident_id=incident.id, detail=detail)
        return incident_view(act.config, incident)
    happened = clean_text(request.what_happened, field_name="what_happened", limit=DETAIL_MAX)
    trouble = clean_text(
        request.still_having_trouble, field_name="still_having_trouble", limit=DETAIL_MAX
    )
    facts: dict[str, Any] = {
        "summary": incident.summary,
        "what_users_see": trouble,
        "what_we_are_doing": happened,
        "next_update_minutes": None,
        "false_alarm": request.false_alarm,
    }
    kind, status = PostKind.RESOLUTION, IncidentStatus.RESOLVED
    return _draft_post(act, drafter, incident, kind=kind, status=status, facts=facts)


def has_public_post(session: Session, *, incident_id: int) -> bool:
    approved = select(Post.id).where(
        Post.incident_id == incident_id, Post.state == PostState.APPROVED
    )
    return session.exec(approved).first() is not None


def list_open(session: Session) -> list[Incident]:
    return list(
        session.exec(
            select(Incident)
            .where(col(Incident.resolved_at).is_(None))
            .order_by(col(Incident.declared_at).desc())
        ).all()
    )
