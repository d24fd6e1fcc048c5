"""Facebook Page: ``POST /{version}/{page_id}/feed`` on the Graph API, with a Page access token.

Graph has no idempotency key, so a post whose answer was lost is *unknown* and a person checks
the Page. Graph's own error codes decide the rest (``graph_refusal``, shared with Instagram):
throttling (4, 17, 32, 341, 613, 80001) retries when Graph says access comes back; 190 is an
expired or invalid token; 368 a blocked action; 506 a duplicate of the Page's last post (so an
earlier attempt probably got through); 1 and 2 are Graph's own temporary trouble.

    publisher = build(context)  # None without FACEBOOK_PAGE_TOKEN or channels.facebook.account
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from multidict import CIMultiDictProxy
from pydantic import SecretStr

from bot.config import ChannelConfig, CrierConfig, Network
from bot.ports import ChannelCheck, Published, PublishError, PublishRequest, TokenLife
from bot.publishing import PublisherContext
from bot.publishing.cards import card_url
from bot.publishing.facts import ApiFacts
from bot.publishing.http import Answer, HttpClient, refusal
from bot.publishing.versions import CURRENT_GRAPH, graph_life
from bot.settings import Settings

log = logging.getLogger(__name__)

NAME = "Facebook"
FACTS = ApiFacts(
    network=Network.FACEBOOK,
    checked="2026-12-02",
    api="Graph API POST /{version}/{page_id}/feed (message) or /photos, with a Page token "
    "(pages_manage_posts); v26.0 current since 2026-07-29, v21.0 ends 2027-01-21",
    limits="long texts; page publishing authorisation and 2FA on the page can block posting",
    idempotency="none; error 506 is a duplicate of the Page's last post",
    rate_limits="error codes 4, 17, 341, 613 throttle (retry later); 190 expired token; "
    "368 blocked",
)
DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = CURRENT_GRAPH  # the versions' end dates: bot/publishing/versions.py
CREDENTIAL_VARIABLE = "FACEBOOK_PAGE_TOKEN"
RENEW = (
    "get a new Page access token with pages_manage_posts from a long-lived user token (e.g. in "
    "Meta's Graph API Explorer, https://developers.facebook.com/tools/explorer/, then "
    "GET /me/accounts)"
)
THROTTLED = frozenset({4, 17, 32, 341, 613, 80001})
TEMPORARY = frozenset({1, 2})
TOKEN_REFUSED = frozenset({102, 190})
BLOCKED = 368
DUPLICATE = 506
# Graph's throttling errors carry no reset time unless a usage header estimates one.
THROTTLE_DELAY = timedelta(minutes=2)
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-Ad-Account-Usage", "X-App-Usage")
_GRAPH_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?$")


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
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
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

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            estimate = value.get("estimated_time_to_regain_access")
            if isinstance(estimate, int | float) and estimate > 0:
                minutes.append(float(estimate))
            for inner in value.values():
                collect(inner)
        elif isinstance(value, list):
            for inner in value:
                collect(inner)

    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if raw:
            try:
                collect(json.loads(raw))
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
    found = _GRAPH_VERSION.match(version)
    if found is None:
        return version
    return f"v{int(found.group(1))}.{int(found.group(2) or 0)}"


async def graph_check(
    http: HttpClient,
    url: str,
    *,
    network: Network,
    name: str,
    token: SecretStr,
    field: str,
    shown_as: str = "{}",
) -> ChannelCheck:
    """A read-only Graph call: ready (with the account's ``field``), expired or unreachable."""
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    try:
        answer = await http.send(
            "GET", url, network=name, params={"fields": field}, headers=headers
        )
    except PublishError as trouble:
        return ChannelCheck(network=network, state="unreachable", detail=trouble.message)
    if answer.ok and isinstance(answer.body, dict):
        shown = shown_as.format(answer.body.get(field, "?"))
        return ChannelCheck(network=network, state="ready", detail=f"can post as {shown}")
    refused = graph_refusal(answer, network=name, secret=token)
    error = graph_error(answer)
    expired = answer.status == 401 or (error is not None and error.code in TOKEN_REFUSED)
    return ChannelCheck(
        network=network, state="expired" if expired else "error", detail=refused.message
    )


async def graph_token_life(
    http: HttpClient, root: str, *, name: str, token: SecretStr, setting: str, renew: str
) -> tuple[TokenLife, str | None]:
    """When the token stops working, from Graph's ``GET /debug_token`` (asked with the token
    itself): the earlier of ``expires_at`` and ``data_access_expires_at``, 0 meaning never. The
    second value is Graph's reason when it says the token is not valid."""
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    params = {"input_token": token.get_secret_value()}
    try:
        answer = await http.send(
            "GET", f"{root}/debug_token", network=name, params=params, headers=headers
        )
    except PublishError as trouble:
        return TokenLife(setting, renew, unknown=f"{name}'s debug_token: {trouble.message}"), None
    data = answer.body.get("data") if answer.ok and isinstance(answer.body, dict) else None
    if not isinstance(data, dict):
        error = graph_error(answer, secret=token)
        said = error.describe() if error is not None else f"HTTP {answer.status}"
        return TokenLife(setting, renew, unknown=f"{name}'s debug_token answered {said}"), None
    if data.get("is_valid") is False:
        error = data.get("error")
        said = str(error.get("message")) if isinstance(error, dict) else "not valid"
        said = said.replace(token.get_secret_value(), "[token]")[:300]
        invalid = f"{name} says the token is not valid: {said}"
        return TokenLife(setting, renew, unknown=said), invalid
    ends = [
        (stamp, what)
        for stamp, what in (
            (_int(data.get("expires_at")), "access token"),
            (_int(data.get("data_access_expires_at")), "data access (the token's permission)"),
        )
        if stamp
    ]
    if not ends:
        return TokenLife(setting, renew, never=True), None
    stamp, what = min(ends)
    return TokenLife(setting, renew, expires_at=datetime.fromtimestamp(stamp, UTC), what=what), None


async def with_lifetimes(
    check: ChannelCheck,
    http: HttpClient,
    *,
    root: str,
    version: str,
    name: str,
    token: SecretStr,
    setting: str,
    renew: str,
) -> ChannelCheck:
    """The check with its Graph version's end and, once the token works, the token's expiry."""
    life = graph_life(version, setting=f"channels.{check.network.value}.api_version")
    if not check.ready:
        return replace(check, version=life)
    token_life, invalid = await graph_token_life(
        http, root, name=name, token=token, setting=setting, renew=renew
    )
    if invalid is not None:
        return replace(check, state="expired", detail=invalid, version=life)
    return replace(check, version=life, token=token_life)


class FacebookPublisher:
    """Posts to one Facebook Page's feed; with ``attach_card``, as a photo with the status card."""

    network = Network.FACEBOOK
    idempotent = False  # Graph has no idempotency key

    def __init__(
        self,
        *,
        http: HttpClient,
        token: SecretStr,
        page_id: str,
        config: CrierConfig,
        settings: Settings,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        attach_card: bool = False,
    ) -> None:
        self.label = f"Facebook (Page {page_id})"
        self._http = http
        self._token = token
        self._page_id = page_id
        self._config = config
        self._settings = settings
        self._root = f"{base_url.rstrip('/')}/{version}"
        self._version = version
        self._attach_card = attach_card

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    async def publish(self, request: PublishRequest) -> Published:
        if self._attach_card:
            image = await card_url(request, config=self._config, settings=self._settings)
            url = f"{self._root}/{self._page_id}/photos"
            form = {"url": image, "message": request.text}
        else:
            url = f"{self._root}/{self._page_id}/feed"
            form = {"message": request.text}
        answer = await self._http.send(
            "POST", url, network=NAME, data=form, headers=self._headers()
        )
        if not answer.ok:
            raise graph_refusal(answer, network=NAME, secret=self._token)
        body = answer.body if isinstance(answer.body, dict) else {}
        # /feed answers {"id": "{page}_{post}"}; /photos {"id": photo, "post_id": "{page}_{post}"}
        post_id = str(body.get("post_id") or body.get("id") or "")
        if not post_id:
            raise PublishError(
                "Facebook accepted the post but sent no id back; check the Page",
                transient=False,
                maybe_sent=True,
            )
        return Published(external_id=post_id, url=f"https://www.facebook.com/{post_id}")

    async def check(self) -> ChannelCheck:
        checked = await graph_check(
            self._http,
            f"{self._root}/{self._page_id}",
            network=self.network,
            name=NAME,
            token=self._token,
            field="name",
            shown_as="the Page {}",
        )
        return await with_lifetimes(
            checked,
            self._http,
            root=self._root,
            version=self._version,
            name=NAME,
            token=self._token,
            setting=CREDENTIAL_VARIABLE,
            renew=RENEW,
        )


def build(context: PublisherContext) -> FacebookPublisher | None:
    token = context.credentials.facebook_page_token
    page_id = (context.channel.account or "").strip()
    if token is None or not token.get_secret_value():
        return None
    if not page_id:
        log.warning("FACEBOOK_PAGE_TOKEN is set but channels.facebook.account (the Page id) is not")
        return None
    return FacebookPublisher(
        http=context.http,
        token=token,
        page_id=page_id,
        config=context.config,
        settings=context.settings,
        base_url=context.channel.base_url or DEFAULT_BASE_URL,
        version=graph_version(context.channel),
        attach_card=context.channel.attach_card,
    )
