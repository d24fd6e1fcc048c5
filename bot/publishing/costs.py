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
from bot.publishing.outcomes import audit_delivery
from bot.storage.models import Delivery, DeliveryState

log = logging.getLogger(__name__)

X_POST = Decimal("0.015")
X_POST_WITH_LINK = Decimal("0.20")


def post_cost(network: Network, text: str) -> Decimal | None:
    """What publishing ``text`` on ``network`` costs in US dollars; None where it is free."""
    if network is not Network.X:
        return None
    # A link as X sees one: with or without "https://".
    return X_POST_WITH_LINK if twitter_text.extract_urls(text) else X_POST


def cost_note(network: Network, text: str) -> str | None:
    """The draft's note on what it will cost: "costs about $0.20 on X (it has a link)"."""
    cost = post_cost(network, text)
    if cost is None:
        return None
    why = " (it has a link)" if cost == X_POST_WITH_LINK else ""
    return f"costs about ${cost} on X{why}"


def spent_this_month(
    session: Session, *, delivery: Delivery, now: datetime, zone: ZoneInfo
) -> Decimal:
    """What the posts sent on ``delivery``'s network since the start of this month (in ``zone``)
    cost, and the posts being sent now (several go out at once, and each must count the others);
    never ``delivery`` itself, so a resend does not count it twice."""
    local = now.astimezone(zone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    query = select(Delivery.text).where(
        Delivery.channel == delivery.channel,
        col(Delivery.id) != delivery.id,
        or_(
            (col(Delivery.state) == DeliveryState.SENT) & (col(Delivery.sent_at) >= month_start),
            col(Delivery.state) == DeliveryState.SENDING,
        ),
    )
    network = Network(delivery.channel)
    texts = session.exec(query).all()
    return sum((post_cost(network, t or "") or Decimal(0) for t in texts), Decimal(0))


def hold_if_over_budget(
    session: Session, *, config: CrierConfig, delivery: Delivery, text: str, now: datetime
) -> bool:
    """Hold ``delivery`` (failed, so the thread offers *Retry*) when sending ``text`` would take
    its network past this month's budget; True when it was held."""
    network = Network(delivery.channel)
    settings = config.channels.get(network)
    cost = post_cost(network, text)
    if settings is None or settings.monthly_budget is None or cost is None:
        return False
    budget = Decimal(str(settings.monthly_budget))
    spent = spent_this_month(session, delivery=delivery, now=now, zone=config.organisation.zone)
    if spent + cost <= budget:
        return False
    delivery.state = DeliveryState.FAILED
    delivery.claimed_until = None
    delivery.last_error = (
        f"held: this post (${cost}) would take X past this month's budget of ${budget:.2f} "
        f"(${spent:.2f} spent). Raise channels.x.monthly_budget in crier.yml and restart, then "
        "Retry; or post it by hand."
    )
    audit_delivery(session, delivery, "publish_held_budget", at=now)
    log.warning("held a %s post over the monthly budget", delivery.channel)
    return True
