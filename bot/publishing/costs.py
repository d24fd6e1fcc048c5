"""What a post costs on a pay-per-use network, and what this month's posts have cost.

X charges per post since 2026 (checked 2026-12-02): about $0.015 a post and about $0.20 a post
with a link (a link in a reply counts too). The other networks cost nothing per post.

    >>> post_cost(Network.X, "Blackboard is back.")
    Decimal('0.015')
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import twitter_text
from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.storage import audit
from bot.storage.models import Delivery, DeliveryState

log = logging.getLogger(__name__)

X_POST = Decimal("0.015")
X_POST_WITH_LINK = Decimal("0.20")


def post_cost(network: Network, text: str) -> Decimal | None:
    """What publishing ``text`` on ``network`` costs in US dollars; None where it is free."""
    if network is not Network.X:
        return None
    return X_POST_WITH_LINK if has_link(text) else X_POST


def has_link(text: str) -> bool:
    """Whether X would see a link in ``text`` (with or without "https://", as X does)."""
    return bool(twitter_text.extract_urls(text))


def cost_note(network: Network, text: str) -> str | None:
    """The draft's note on what it will cost: "costs about $0.20 on X (it has a link)"."""
    cost = post_cost(network, text)
    if cost is None:
        return None
    why = " (it has a link)" if cost == X_POST_WITH_LINK else ""
    return f"costs about ${cost} on X{why}"


def spent_this_month(
    session: Session,
    *,
    network: Network,
    now: datetime,
    zone: ZoneInfo,
    excluding: int | None = None,
) -> Decimal:
    """What the posts sent to ``network`` since the start of this month (in ``zone``) cost, and
    the posts being sent now: several go out at once, and each must count the others."""
    local = now.astimezone(zone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    query = select(Delivery.text).where(
        Delivery.channel == network.value,
        or_(
            (col(Delivery.state) == DeliveryState.SENT) & (col(Delivery.sent_at) >= month_start),
            col(Delivery.state) == DeliveryState.SENDING,
        ),
    )
    if excluding is not None:
        query = query.where(col(Delivery.id) != excluding)
    texts = session.exec(query).all()
    return sum((post_cost(network, t or "") or Decimal(0) for t in texts), Decimal(0))


def over_budget(
    session: Session,
    *,
    config: CrierConfig,
    network: Network,
    text: str,
    now: datetime,
    delivery_id: int | None = None,
) -> str | None:
    """Why ``text`` may not go out on ``network`` now because of the month's budget, or None.
    ``delivery_id``: the delivery that would send it, so a resend does not count it twice."""
    settings = config.channels.get(network)
    cost = post_cost(network, text)
    if settings is None or settings.monthly_budget is None or cost is None:
        return None
    budget = Decimal(str(settings.monthly_budget))
    spent = spent_this_month(
        session, network=network, now=now, zone=config.organisation.zone, excluding=delivery_id
    )
    if spent + cost <= budget:
        return None
    return (
        f"held: this post (${cost}) would take X past this month's budget of ${budget:.2f} "
        f"(${spent:.2f} spent). Raise channels.x.monthly_budget in crier.yml and restart, then "
        "Retry; or post it by hand."
    )


def hold_if_over_budget(
    session: Session, *, config: CrierConfig, delivery: Delivery, text: str, now: datetime
) -> bool:
    """Hold ``delivery`` (failed, so the thread offers *Retry*) when sending ``text`` would take
    its network past this month's budget; True when it was held.

        >>> hold_if_over_budget(session, config=config, delivery=delivery, text=text, now=now)
        False
    """
    network = Network(delivery.channel)
    reason = over_budget(
        session, config=config, network=network, text=text, now=now, delivery_id=delivery.id
    )
    if reason is None:
        return False
    delivery.state = DeliveryState.FAILED
    delivery.claimed_until = None
    delivery.last_error = reason
    audit.record(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="publish_held_budget",
        incident_id=delivery.incident_id,
        post_id=delivery.post_id,
        at=now,
        detail={"channel": delivery.channel},
    )
    log.warning("held a %s post over the monthly budget", delivery.channel)
    return True
