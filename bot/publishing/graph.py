"""Meta's Graph API, as the Facebook and Instagram publishers share it: one account with a token,
the version in every path, Graph's error codes, and the channels check with the token's life.

Graph has no idempotency key, so a post whose answer was lost is *unknown* and a person checks the
account. Graph's own error codes decide the rest (``graph_refusal``): throttling (4, 17, 32, 341,
613, 80001) retries when Graph says access comes back; 190 is an expired or invalid token; 368 a
blocked action; 506 a duplicate of the account's last post (so an earlier attempt probably got
through); 1 and 2 are Graph's own temporary trouble.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Self

from multidict import CIMultiDictProxy
from pydantic import SecretStr

from bot.config import ChannelConfig, CrierConfig, Network
from bot.ports import ChannelCheck, PublishError, TokenLife
from bot.publishing.http import Answer, HttpClient, refusal
from bot.publishing.versions import CURRENT_GRAPH, GRAPH_VERSION, graph_life
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.publishing import PublisherContext

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = CURRENT_GRAPH  # the versions' end dates: bot/publishing/versions.py
THROTTLED = frozenset({4, 17, 32, 341, 613, 80001})
TEMPORARY = frozenset({1, 2})
TOKEN_REFUSED = frozenset({102, 190})
BLOCKED = 368
DUPLICATE = 506
# Graph's throttling errors carry no reset time unless a usage header estimates one.
THROTTLE_DELAY = timedelta(minutes=2)
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-Ad-Account-Usage", "X-App-Usage")
# debug_token's ends of a token's life (0 meaning never), and what each ends.
TOKEN_ENDS = {
    "expires_at": "access token",
    "data_access_expires_at": "data access (the token's permission)",
}


@dataclass(frozen=True)
class GraphError:
    """Graph's ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``."""

    message: str
    code: int | None
    subcode: int | None
    transient: bool | None  # Graph's own ``is_transient`` hint, when it gives one

    def describe(self) -> str:
        codes = f"code {self.code}" + (f", subcode {self.subcode}" if self.subcode else "")
        return f"{self.message} ({codes})"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def graph_error(answer: Answer, *, secret: SecretStr | None = None) -> GraphError | None:
    """Graph's error, if the answer holds one; ``secret`` is blanked from its message (Graph
    quotes a malformed token back)."""
    error = answer.fields.get("error")
    if not isinstance(error, dict):
        return None
    transient = error.get("is_transient")
    message = str(error.get("message") or f"HTTP {answer.status}")
    if secret is not None and secret.get_secret_value():
        message = message.replace(secret.get_secret_value(), "[token]")
    return GraphError(
        message=message[:300],
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        transient=transient if isinstance(transient, bool) else None,
    )


def regain_access(headers: CIMultiDictProxy[str], *, now: datetime) -> datetime | None:
    """When Graph's usage headers say throttled calls work again (their estimate, in minutes)."""
    minutes: list[float] = []

    def collect(value: dict[str, Any]) -> dict[str, Any]:  # json calls it on every object
        estimate = value.get("estimated_time_to_regain_access")
        if isinstance(estimate, int | float) and estimate > 0:
            minutes.append(float(estimate))
        return value

    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if raw:
            try:
                json.loads(raw, object_hook=collect)
            except ValueError:
                continue
    return now + timedelta(minutes=max(minutes)) if minutes else None


def graph_refusal(answer: Answer, *, network: str, secret: SecretStr | None = None) -> PublishError:
    """A Graph API error answer as a ``PublishError``, by Graph's error code."""
    error = graph_error(answer, secret=secret)
    if error is None:
        return refusal(answer, network=network)
    said = error.describe()
    now = datetime.now(UTC)
    if error.code in THROTTLED:
        return PublishError(
            f"{network} is throttling Crier: {said}",
            transient=True,
            retry_at=regain_access(answer.headers, now=now) or now + THROTTLE_DELAY,
            rate_limited=True,
        )
    if error.code in TOKEN_REFUSED:
        return PublishError(
            f"{network} refused the access token, which has expired or is invalid: {said}",
            transient=False,
        )
    if error.code == BLOCKED:
        return PublishError(f"{network} blocked the post: {said}", transient=False)
    if error.code == DUPLICATE:
        return PublishError(
            f"{network} says this duplicates the last post: an earlier attempt probably got "
            f"through ({said})",
            transient=False,
            maybe_sent=True,
        )
    if error.code in TEMPORARY or error.transient or answer.status >= 500:
        return PublishError(f"{network} had a temporary problem: {said}", transient=True)
    return PublishError(f"{network} refused the post: {said}", transient=False)


def graph_version(channel: ChannelConfig) -> str:
    """The version as Graph's path takes it: ``v26.0`` from "v26.0", "26.0", "26" or "v26"
    (Graph refuses ``/v26/``); anything else as written, for Graph to refuse with its words."""
    version = (channel.api_version or DEFAULT_VERSION).strip()
    found = GRAPH_VERSION.match(version)
    if found is None:
        return version
    return f"v{int(found.group(1))}.{int(found.group(2) or 0)}"


class GraphPublisher:
    """One Graph account (a Facebook Page, an Instagram professional account) and its token."""

    network: Network
    idempotent = False  # Graph has no idempotency key
    name: str  # the network, as people read it
    credential: str  # the environment variable with the token
    renew: str  # how to get a new token, for people
    shows: tuple[str, str]  # what the check reads of the account, and how it shows it

    def __init__(
        self,
        *,
        http: HttpClient,
        token: SecretStr,
        account: str,
        config: CrierConfig,
        settings: Settings,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
    ) -> None:
        self._http = http
        self._token = token
        self._account = account
        self._config = config
        self._settings = settings
        self._root = f"{base_url.rstrip('/')}/{version}"
        self._version = version

    async def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        url = f"{self._root}/{path}"
        return await self._http.send(method, url, network=self.name, headers=headers, **kwargs)

    @classmethod
    def from_context(
        cls, context: PublisherContext, token: SecretStr | None, **extra: Any
    ) -> Self | None:
        """None (its posts go to the outbox) without the token or ``channels.<network>.account``
        (the account's id)."""
        account = context.setting(token, "account", what="the account's id")
        if token is None or account is None:
            return None
        return cls(
            http=context.http,
            token=token,
            account=account,
            config=context.config,
            settings=context.settings,
            base_url=context.channel.base_url or DEFAULT_BASE_URL,
            version=graph_version(context.channel),
            **extra,
        )

    def _refused(self, answer: Answer) -> PublishError:
        return graph_refusal(answer, network=self.name, secret=self._token)

    async def check(self) -> ChannelCheck:
        """A read of the account: ready (showing its ``shows`` field), expired or unreachable;
        with its Graph version's end and, once the token works, the token's expiry."""
        life = graph_life(self._version, setting=f"channels.{self.network.value}.api_version")
        field, shown_as = self.shows
        try:
            answer = await self._call("GET", self._account, params={"fields": field})
        except PublishError as trouble:
            return ChannelCheck(self.network, "unreachable", trouble.message, version=life)
        if not answer.ok or not isinstance(answer.body, dict):
            error = graph_error(answer)
            expired = answer.status == 401 or (error is not None and error.code in TOKEN_REFUSED)
            said = self._refused(answer).message
            return ChannelCheck(self.network, "expired" if expired else "error", said, version=life)
        token, invalid = await self._token_life()
        if invalid is not None:
            return ChannelCheck(self.network, "expired", invalid, version=life)
        shown = shown_as.format(answer.body.get(field, "?"))
        return ChannelCheck(
            self.network, "ready", f"can post as {shown}", version=life, token=token
        )

    async def _token_life(self) -> tuple[TokenLife, str | None]:
        """When the token stops working, from Graph's ``GET /debug_token`` (asked with the token
        itself): the earlier of ``expires_at`` and ``data_access_expires_at``, 0 meaning never.
        The second value is Graph's reason when it says the token is not valid."""
        name, secret = self.name, self._token.get_secret_value()
        life = partial(TokenLife, self.credential, self.renew)
        try:
            answer = await self._call("GET", "debug_token", params={"input_token": secret})
        except PublishError as trouble:
            return life(unknown=f"{name}'s debug_token: {trouble.message}"), None
        data = answer.ok_value("data")
        if not isinstance(data, dict):
            error = graph_error(answer, secret=self._token)
            said = error.describe() if error is not None else f"HTTP {answer.status}"
            return life(unknown=f"{name}'s debug_token answered {said}"), None
        if data.get("is_valid") is False:
            error = data.get("error")
            said = str(error.get("message")) if isinstance(error, dict) else "not valid"
            said = said.replace(secret, "[token]")[:300]
            return life(unknown=said), f"{name} says the token is not valid: {said}"
        ends = [(stamp, what) for key, what in TOKEN_ENDS.items() if (stamp := _int(data.get(key)))]
        if not ends:
            return life(never=True), None
        stamp, what = min(ends)
        return life(expires_at=datetime.fromtimestamp(stamp, UTC), what=what), None
