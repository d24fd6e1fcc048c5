"""Who is told of the status site's posts: adding, confirming, removing and exporting them.

Every function here runs inside a transaction the caller opened (``store.run``). An email
address reaches the table only through ``confirm`` (its owner clicked the signed link) and leaves
it through ``unsubscribe`` or ``remove``, which also delete the outbox's copies of their emails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.errors import CrierError
from bot.site.public import catalog_slugs
from bot.storage.models import OutboxMail, Subscriber, SubscriberKind
from bot.subscriptions.links import Consent, Unsubscribe

MAX_ADDRESS = 254  # RFC 5321's limit on a path


class NotAnAddress(CrierError):
    pass


def email_address(text: str) -> str:
    """``text`` as one normalised email address, or NotAnAddress saying what is wrong. A line
    break (an attempt to add headers to the confirmation email) is refused before anything."""
    if any(c in text for c in "\r\n\0"):
        raise NotAnAddress("An email address is one line, with no line breaks.")
    text = text.strip()
    if not text:
        raise NotAnAddress("Please enter your email address.")
    if len(text) > MAX_ADDRESS:
        raise NotAnAddress(f"That address is longer than {MAX_ADDRESS} characters.")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise NotAnAddress(f"That is not an email address: {exc}") from None


def chosen_services(config: CrierConfig, chosen: list[str]) -> tuple[str, ...]:
    """The slugs of the catalog services in ``chosen`` (slugs or names), in catalog order;
    empty means every service. An unknown one is refused, naming the ones there are."""
    slugs = catalog_slugs(config)
    by_word = {**{n.casefold(): s for n, s in slugs.items()}, **{s: s for s in slugs.values()}}
    picked: set[str] = set()
    for word in (c.strip() for c in chosen):
        if not word or word.casefold() in {"all", "*"}:
            continue
        slug = by_word.get(word.casefold())
        if slug is None:
            raise CrierError(f"There is no service “{word}”. Services: {', '.join(slugs)}.")
        picked.add(slug)
    return tuple(s for s in slugs.values() if s in picked)


def confirm(session: Session, consent: Consent, *, now: datetime) -> Subscriber:
    """Store the address its owner confirmed, with the services they chose (a second
    confirmation of a known address replaces its choice)."""
    return _upsert(
        session,
        kind=SubscriberKind.EMAIL,
        address=consent.address,
        services=consent.services,
        now=now,
    )


def add_webhook(
    session: Session, url: str, services: tuple[str, ...], *, now: datetime
) -> Subscriber:
    return _upsert(session, kind=SubscriberKind.WEBHOOK, address=url, services=services, now=now)


def follow(
    session: Session,
    channel: str,
    services: tuple[str, ...],
    *,
    reference: dict[str, Any] | None = None,
    now: datetime,
) -> Subscriber:
    """A staff channel ("slack:C0123", "teams:19:…") follows ``services`` (empty: all)."""
    return _upsert(
        session,
        kind=SubscriberKind.CHAT,
        address=channel,
        services=services,
        now=now,
        reference=reference or {},
    )


def unfollow(session: Session, channel: str) -> bool:
    found = _find(session, SubscriberKind.CHAT, channel)
    if found is None:
        return False
    session.delete(found)
    return True


def following(session: Session, channel: str) -> Subscriber | None:
    return _find(session, SubscriberKind.CHAT, channel)


def unsubscribe(session: Session, ask: Unsubscribe) -> bool:
    """Delete the subscriber an unsubscribe link names, if its address matches; False if they
    are gone already (a second click, or the link of an address since removed)."""
    found = session.get(Subscriber, ask.subscriber_id)
    if found is None or found.kind != SubscriberKind.EMAIL or not ask.matches(found.address):
        return False
    _forget(session, found)
    return True


def remove(session: Session, subscriber_id: int) -> Subscriber | None:
    found = session.get(Subscriber, subscriber_id)
    if found is not None:
        _forget(session, found)
    return found


def export(session: Session) -> list[dict[str, Any]]:
    """Every subscriber as stored (what ``crier subscribers export`` prints): a person's data,
    for a request to see it, or to move it."""
    rows = session.exec(select(Subscriber).order_by(col(Subscriber.id))).all()
    return [
        {
            "id": s.id,
            "kind": s.kind,
            "address": s.address,
            "services": s.services or "all",
            "confirmed_at": s.confirmed_at.isoformat(),
        }
        for s in rows
    ]


def _forget(session: Session, subscriber: Subscriber) -> None:
    if subscriber.kind == SubscriberKind.EMAIL:
        session.execute(delete(OutboxMail).where(col(OutboxMail.recipient) == subscriber.address))
    session.delete(subscriber)


def _find(session: Session, kind: str, address: str) -> Subscriber | None:
    query = select(Subscriber).where(Subscriber.kind == kind, Subscriber.address == address)
    return session.exec(query).first()


def _upsert(
    session: Session,
    *,
    kind: str,
    address: str,
    services: tuple[str, ...],
    now: datetime,
    reference: dict[str, Any] | None = None,
) -> Subscriber:
    found = _find(session, kind, address)
    if found is None:
        try:
            with session.begin_nested():  # two confirmations at once: one row wins
                found = Subscriber(kind=kind, address=address, confirmed_at=now)
                _set(found, services, reference)
                session.add(found)
            return found
        except IntegrityError:
            found = _find(session, kind, address)
            assert found is not None
    _set(found, services, reference)
    found.confirmed_at = now
    session.add(found)
    session.flush()
    return found


def _set(
    subscriber: Subscriber, services: tuple[str, ...], reference: dict[str, Any] | None
) -> None:
    subscriber.services = list(services)
    if reference is not None:
        subscriber.reference = reference
