"""The one HTTP session every network shares, and how a network's answer becomes an outcome.

Publishers call ``send`` and get the status, headers and parsed body back, or a
``PublishError`` that says whether a retry may help (time-outs, dropped connections, 5xx, 429)
or not (401, 403, validation).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from bot.ports import PublishError

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    body: Any  # parsed JSON, or the text when the body is not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def fields(self) -> dict[str, Any]:
        """The body when it is a JSON object, else empty."""
        return self.body if isinstance(self.body, dict) else {}

    def ok_value(self, key: str) -> Any:
        """``key`` of a 2xx JSON object; None otherwise."""
        return self.fields.get(key) if self.ok else None


class HttpClient:
    """Owns the shared ``aiohttp.ClientSession``: created in the running loop, closed once."""

    def __init__(
        self,
        *,
        redact: Callable[[str], str],
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        """``redact`` masks secrets in every answer: a network that echoes the token it was
        sent must not put it into errors, the audit log or the thread. It has no default:
        Crier builds its client with ``bot.redaction.http_client``."""
        self._timeout = timeout
        self._redact = redact
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=64),
                headers={"User-Agent": "Crier (incident communications bot)"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def send(self, method: str, url: str, *, network: str, **kwargs: Any) -> Answer:
        """One request. Connection trouble becomes a transient ``PublishError``."""
        try:
            async with self.session().request(method, url, **kwargs) as response:
                raw = self._redact(await response.text())
                return Answer(response.status, response.headers, _parse(raw))
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            raise PublishError(f"could not connect to {network}", transient=True) from exc
        except TimeoutError as exc:
            raise PublishError(
                f"{network} did not answer in time", transient=True, maybe_sent=True
            ) from exc
        except aiohttp.ClientError as exc:
            raise PublishError(
                f"the connection to {network} failed: {type(exc).__name__}",
                transient=True,
                maybe_sent=True,
            ) from exc


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return raw


def without_id(network: str, *, check: str) -> PublishError:
    """A 2xx that does not name the new post: it is probably up, so it is never sent again."""
    return PublishError(
        f"{network} accepted the post but sent no id back; check {check}",
        transient=False,
        maybe_sent=True,
    )


def retry_after(headers: CIMultiDictProxy[str], *, now: datetime | None = None) -> datetime | None:
    """When a network says to come back: ``Retry-After`` (seconds or a date), or a reset time
    in unix seconds (``x-rate-limit-reset``, ``X-RateLimit-Reset`` as a number or ISO date)."""
    now = now or datetime.now(UTC)
    value = headers.get("Retry-After")
    if value:
        if value.strip().isdigit():
            return now + timedelta(seconds=int(value))
        with suppress(TypeError, ValueError):
            return parsedate_to_datetime(value).astimezone(UTC)
    for name in ("x-rate-limit-reset", "x-ratelimit-reset"):  # the headers ignore case
        reset = headers.get(name) or ""
        with suppress(ValueError):
            return datetime.fromtimestamp(float(reset), UTC)
        with suppress(ValueError):
            return datetime.fromisoformat(reset.replace("Z", "+00:00")).astimezone(UTC)
    return None


def refusal(answer: Answer, *, network: str, message: str | None = None) -> PublishError:
    """The usual reading of a non-2xx answer; networks with their own error codes refine it."""
    said = message or message_of(answer.body) or f"HTTP {answer.status}"
    limited = answer.status in (420, 429)
    if limited or answer.status >= 500:
        why = "is rate limiting" if limited else f"had a server error ({answer.status})"
        return PublishError(
            f"{network} {why}: {said}",
            transient=True,
            retry_at=retry_after(answer.headers),
            rate_limited=limited,
        )
    refused = "Crier's credentials" if answer.status in (401, 403) else "the post"
    return PublishError(f"{network} refused {refused} ({answer.status}): {said}", transient=False)


def message_of(body: Any) -> str | None:
    """The network's own words in an error body (a list of sentences, joined)."""
    if isinstance(body, dict):
        for key in ("error_description", "message", "detail", "error", "title"):
            value = body.get(key)
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                value = "; ".join(value)  # Statuspage's {"error": ["…", …]}
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict):
                inner = message_of(value)
                if inner:
                    return inner
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return message_of(errors[0]) or str(errors[0])[:300]
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return None
