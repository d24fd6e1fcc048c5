"""The links in subscribers' emails: signed with ``CRIER_SITE_SECRET``, and expiring.

A confirmation link carries the address and the chosen services, so nothing about a person is
stored until they click it (double opt-in); an unsubscribe link carries the subscriber's number
and a digest of their address, so it cannot unsubscribe anyone else, even if the number is reused.
Links are itsdangerous' URL-safe timed tokens; their age is read from Crier's injectable clock.

    links = Links(secret, clock=clock, site_url="https://status.example.edu/status/")
    url = links.confirm_url("ada@example.edu", ["blackboard"])
    consent = links.read_confirm(token)          # or LinkExpired / LinkInvalid
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bot.errors import CrierError
from bot.ports import Clock

CONFIRM_FOR = timedelta(hours=48)
# Every email carries a fresh unsubscribe link; an old one stops working after this.
UNSUBSCRIBE_FOR = timedelta(days=90)
CONFIRM_PATH = "subscribe/confirm/"
UNSUBSCRIBE_PATH = "unsubscribe/"


class LinkInvalid(CrierError):
    pass


class LinkExpired(CrierError):
    pass


@dataclass(frozen=True)
class Consent:
    """What a person asked for: updates about ``services`` (slugs; empty: every service)."""

    address: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Unsubscribe:
    subscriber_id: int
    address_digest: str

    def matches(self, address: str) -> bool:
        return hmac.compare_digest(self.address_digest, address_digest(address))


def address_digest(address: str) -> str:
    return hashlib.sha256(address.casefold().encode()).hexdigest()[:24]


class Links:
    def __init__(self, secret: str, *, clock: Clock, site_url: str) -> None:
        class OnCrierClock(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.now().timestamp())

        def serializer(purpose: str) -> URLSafeTimedSerializer:
            salt = f"crier.site.{purpose}"
            return URLSafeTimedSerializer(secret, salt=salt, signer=OnCrierClock)

        self._confirm = serializer("confirm")
        self._unsubscribe = serializer("unsubscribe")
        self._webhook_key = hmac.new(secret.encode(), b"crier.site.webhook", hashlib.sha256)
        self._site_url = site_url

    def confirm_url(self, address: str, services: list[str] | tuple[str, ...]) -> str:
        token = self._confirm.dumps({"a": address, "s": list(services)})
        return f"{self._site_url}{CONFIRM_PATH}?{urlencode({'t': token})}"

    def unsubscribe_url(self, subscriber_id: int, address: str) -> str:
        token = self._unsubscribe.dumps({"u": subscriber_id, "d": address_digest(address)})
        return f"{self._site_url}{UNSUBSCRIBE_PATH}?{urlencode({'t': token})}"

    def read_confirm(self, token: str) -> Consent:
        data = _load(self._confirm, token, CONFIRM_FOR)
        address, services = data.get("a"), data.get("s")
        if not isinstance(address, str) or not isinstance(services, list):
            raise LinkInvalid("This confirmation link is not one Crier made.")
        return Consent(address=address, services=tuple(str(s) for s in services))

    def read_unsubscribe(self, token: str) -> Unsubscribe:
        data = _load(self._unsubscribe, token, UNSUBSCRIBE_FOR)
        subscriber, digest = data.get("u"), data.get("d")
        if not isinstance(subscriber, int) or not isinstance(digest, str):
            raise LinkInvalid("This unsubscribe link is not one Crier made.")
        return Unsubscribe(subscriber_id=subscriber, address_digest=digest)

    def webhook_key(self, subscriber_id: int) -> bytes:
        """A webhook subscriber's signing key: derived, so it is never stored (shown once, when
        the subscriber is added, and again by ``crier subscribers key``)."""
        key = self._webhook_key.copy()
        key.update(str(subscriber_id).encode())
        return key.hexdigest().encode()


def _load(serializer: URLSafeTimedSerializer, token: str, valid_for: timedelta) -> dict[str, Any]:
    try:
        data = serializer.loads(token, max_age=int(valid_for.total_seconds()))
    except SignatureExpired:
        raise LinkExpired("This link has expired.") from None
    except BadSignature:
        raise LinkInvalid("This link is not one Crier made, or it was cut short.") from None
    if not isinstance(data, dict):
        raise LinkInvalid("This link is not one Crier made.")
    return data
