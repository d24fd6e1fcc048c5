"""Build the plain views the handlers render from database rows."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from bot.config import CrierConfig, Network
from bot.drafting.mentions import mention_notes
from bot.drafting.post_times import problems as placeholder_problems
from bot.drafting.textrules import measure
from bot.errors import NotFound
from bot.incidents.revisions import revise_refusal
from bot.publishing.costs import cost_note
from bot.storage.models import Delivery, DeliveryState, Incident, Post, PostState, Rendition
from bot.views import ChannelPreview, DeliveryView, IncidentView, PostView

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")


def _view(view: type[V], row: SQLModel, **computed: Any) -> V:
    """A ``view`` of ``row``: the ``computed`` fields, and every other one as ``row`` stores it
    under the same name."""
    stored = type(row).model_fields
    same = {f.name: getattr(row, f.name) for f in fields(view) if f.name in stored}
    return view(**(same | computed))


def incident_view(config: CrierConfig, incident: Incident) -> IncidentView:
    severity = config.severities.get(incident.severity)  # type: ignore[call-overload]
    return _view(
        IncidentView,
        incident,
        id=incident.id or 0,
        severity_label=severity.label if severity else incident.severity,
        channels=tuple(Network(c) for c in incident.channels),
    )


def text_problems(
    config: CrierConfig, network: Network, text: str, *, promises_update: bool
) -> list[str]:
    """Everything that stops ``text`` going out on ``network``, as sentences for a person: its
    length (each time counted at its widest) and its placeholders."""
    found = [measure(config, network, text).problem, mention_notes(config, network, text)[1]]
    return [*filter(None, found), *placeholder_problems(text, promises_update=promises_update)]


def preview(config: CrierConfig, rendition: Rendition, *, promises_update: bool) -> ChannelPreview:
    network = Network(rendition.channel)
    return ChannelPreview(
        network=network,
        text=rendition.text,
        check=measure(config, network, rendition.text),
        edited=rendition.edited,
        notes=(
            *rendition.notes,
            *mention_notes(config, network, rendition.text)[0],
            *filter(None, [cost_note(network, rendition.text)]),
        ),
        problems=tuple(
            text_problems(config, network, rendition.text, promises_update=promises_update)
        ),
    )


def post_view(
    session: Session,
    config: CrierConfig,
    post: Post,
    *,
    publisher_labels: dict[str, str] | None = None,
) -> PostView:
    renditions = session.exec(
        select(Rendition).where(Rendition.post_id == post.id).order_by(col(Rendition.id))
    ).all()
    deliveries = session.exec(
        select(Delivery).where(Delivery.post_id == post.id).order_by(col(Delivery.id))
    ).all()
    labels = publisher_labels or {}
    promises_update = post.facts.get("next_update_minutes") is not None
    return _view(
        PostView,
        post,
        id=post.id or 0,
        previews=tuple(preview(config, r, promises_update=promises_update) for r in renditions),
        next_update_minutes=post.facts.get("next_update_minutes"),
        revisable=_revisable(session, post),
        deliveries=tuple(
            _view(
                DeliveryView,
                d,
                id=d.id or 0,
                network=Network(d.channel),
                error=d.last_error,
                text=d.text if d.state == DeliveryState.SENT else None,
                publisher_label=labels.get(d.channel, ""),
            )
            for d in deliveries
        ),
    )


def _revisable(session: Session, post: Post) -> bool:
    if post.state != PostState.REJECTED:  # the common case, without a query
        return False
    incident = session.get(Incident, post.incident_id)
    return incident is not None and revise_refusal(session, incident=incident, post=post) is None


def load_post(session: Session, post_id: int) -> tuple[Incident, Post]:
    post = session.get(Post, post_id)
    incident = session.get(Incident, post.incident_id) if post else None
    if post is None or incident is None:
        raise NotFound(f"Draft #{post_id} does not exist.")
    return incident, post


def incident_of(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"Incident #{incident_id} does not exist.")
    return incident
