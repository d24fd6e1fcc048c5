"""One Bluesky account's session on its PDS, shared by everything that calls it as that account
(the publisher, and the listening source's notifications and search).

Signs in (``com.atproto.server.createSession``: handle and app password) on first use and keeps
the session in memory; on ``ExpiredToken`` it refreshes it (``refreshSession``), and signs in
again only when the refresh is refused. Concurrent calls share one sign-in and one refresh.
``createSession`` is tightly limited (30 per 5 minutes, 300 a day): a 429 from it is remembered
until its ``ratelimit-reset``, and calls until then fail at once (transient, retried at that
time). The session is never stored: its refresh token is a credential.

    session = BlueskySession(http=http, handle="it.example.edu", password=…, base_url=pds)
    answer, who = await session.xrpc("GET", "app.bsky.notification.listNotifications")
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from bot.ports import Clock, PublishError, SystemClock
from bot.publishing.http import Answer, HttpClient, refusal

NAME = "Bluesky"
DEFAULT_BASE_URL = "https://bsky.social"
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
SIGN_IN_WAIT = timedelta(minutes=5)  # createSession's shortest window, when no reset is given


@dataclass(frozen=True)
class Session:
    access: str
    refresh: str
    did: str
    handle: str


class BlueskySession:
    """Sign-in, refresh and authenticated XRPC for one account."""

    def __init__(
        self,
        *,
        http: HttpClient,
        handle: str,
        password: SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self.root = base_url.rstrip("/")
        self.handle = handle.lstrip("@")
        self._password = password
        self._clock = clock or SystemClock()
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self._sign_in_limited: PublishError | None = None  # createSession's 429, until its reset

    async def send(self, method: str, nsid: str, **kwargs: Any) -> Answer:
        """An XRPC call on the PDS without the session."""
        return await self._http.send(method, f"{self.root}/xrpc/{nsid}", network=NAME, **kwargs)

    async def _sign_in(self) -> Session:
        """``createSession``, unless its limit is known to be spent (then fail at once)."""
        limited = self._sign_in_limited
        if limited is not None and limited.retry_at and self._clock.now() < limited.retry_at:
            raise PublishError(
                limited.message, transient=True, retry_at=limited.retry_at, rate_limited=True
            )
        answer = await self.send(
            "POST",
            "com.atproto.server.createSession",
            json={"identifier": self.handle, "password": self._password.get_secret_value()},
        )
        try:
            return self._session_from(answer)
        except PublishError as refused:
            if answer.status == 429:
                refused.message = f"{NAME} refused another sign-in for now: {refused.message}"
                refused.retry_at = refused.retry_at or self._clock.now() + SIGN_IN_WAIT
                self._sign_in_limited = refused
            raise

    def _session_from(self, answer: Answer) -> Session:
        if not answer.ok:
            error = bluesky_refusal(answer)
            if error_name(answer) == "AuthFactorTokenRequired":
                error.message += " (BLUESKY_APP_PASSWORD must be an app password)"
            raise error
        body = answer.body
        self._session = Session(
            body["accessJwt"], body["refreshJwt"], body["did"], body.get("handle", self.handle)
        )
        return self._session

    async def current(self) -> Session:
        async with self._lock:
            return self._session or await self._sign_in()

    async def _renew(self, stale: Session) -> Session:
        async with self._lock:
            if self._session is not None and self._session is not stale:
                return self._session  # another call renewed it meanwhile
            answer = await self.send(
                "POST",
                "com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {stale.refresh}"},
            )
            if answer.ok:
                return self._session_from(answer)
            if answer.status >= 500 or answer.status == 429:
                raise bluesky_refusal(answer)
            self._session = None
            return await self._sign_in()

    async def xrpc(
        self, method: str, nsid: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[Answer, Session]:
        """An authenticated call, renewing the session once if the PDS says it expired."""
        session = await self.current()
        extra = headers or {}
        for attempt in range(2):
            headers = {**extra, "Authorization": f"Bearer {session.access}"}
            answer = await self.send(method, nsid, headers=headers, **kwargs)
            if attempt or error_name(answer) not in TOKEN_ERRORS:
                break
            session = await self._renew(session)
        return answer, session


def error_name(answer: Answer) -> str:
    return str(answer.fields.get("error") or "")


def bluesky_refusal(answer: Answer) -> PublishError:
    """XRPC errors ``{"error": name, "message": text}``: a 400 ``ExpiredToken`` is the token."""
    name = error_name(answer)
    said = ": ".join(str(part) for part in (name, answer.fields.get("message")) if part) or None
    if name in TOKEN_ERRORS | {"AuthenticationRequired", "AccountTakedown"}:
        return PublishError(
            f"{NAME} refused Crier's credentials ({answer.status}): {said}", transient=False
        )
    error = refusal(answer, network=NAME, message=said)
    reset = answer.headers.get("ratelimit-reset", "")  # the PDS's own, in unix seconds
    if error.transient and error.retry_at is None and reset.strip().isdigit():
        error.retry_at = datetime.fromtimestamp(int(reset), UTC)
    return error
