"""X: ``POST /2/tweets`` with ``{text, reply: {in_reply_to_tweet_id}}``.

Auth is an OAuth 2 user token (``X_BEARER_TOKEN``) or OAuth 1.0a user context (``X_API_KEY``,
``X_API_SECRET``, ``X_ACCESS_TOKEN``, ``X_ACCESS_TOKEN_SECRET``) signed by oauthlib; with a JSON
body only the URL's query takes part in the signature. X has no idempotency key: a post whose
answer was lost is *unknown*, and X's "duplicate content" refusal means an earlier attempt
probably got through, so that is *unknown* too, for a person to check, never a blind re-post.
A 429 retries at ``x-rate-limit-reset`` (or the 24-hour cap's reset when that is what ran out).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER, Client
from pydantic import SecretStr

from bot.config import Network
from bot.drafting.textrules import check_text
from bot.ports import ChannelCheck, Published, PublishError, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.facts import ApiFacts
from bot.publishing.http import Answer, HttpClient, refusal, retry_after, without_id

log = logging.getLogger(__name__)

NAME = "X"
FACTS = ApiFacts(
    network=Network.X,
    checked="2026-12-02",
    api="POST /2/tweets {text, reply: {in_reply_to_tweet_id}}; OAuth 1.0a user context or an "
    "OAuth 2 user token; media upload is /2/media/upload (v1.1 upload is deprecated)",
    limits="280 weighted characters: NFC first, most CJK and every emoji count 2, every URL 23",
    idempotency="none: thread by replying to the previous id; a lost answer is unknown",
    rate_limits="200 posts per 15 minutes and 300 per 3 hours per user per app; 429 with "
    "x-rate-limit-reset (unix time); pay per use: about $0.015 a post, $0.20 with a link",
)
DEFAULT_BASE_URL = "https://api.x.com"
DUPLICATE_CODE = 187  # v1.1's "Status is a duplicate", still seen in some answers


class XAuth(Protocol):
    def headers(self, method: str, url: str) -> dict[str, str]: ...


class BearerAuth:
    """OAuth 2.0 user context: ``Authorization: Bearer <user access token>``."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def headers(self, method: str, url: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}


class OAuth1Auth:
    """OAuth 1.0a user context, HMAC-SHA1, a fresh nonce and timestamp for every request."""

    def __init__(
        self,
        *,
        api_key: SecretStr,
        api_secret: SecretStr,
        access_token: SecretStr,
        access_token_secret: SecretStr,
    ) -> None:
        self._client = Client(
            api_key.get_secret_value(),
            client_secret=api_secret.get_secret_value(),
            resource_owner_key=access_token.get_secret_value(),
            resource_owner_secret=access_token_secret.get_secret_value(),
            signature_method=SIGNATURE_HMAC_SHA1,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
        )

    def headers(self, method: str, url: str) -> dict[str, str]:
        # No body given: a JSON body is not part of the OAuth 1.0a signature base string.
        _, signed, _ = self._client.sign(url, http_method=method)
        return {"Authorization": signed["Authorization"]}


def x_auth(credentials: NetworkCredentials) -> XAuth | None:
    """OAuth 2 if ``X_BEARER_TOKEN`` is set, else OAuth 1.0a if all four values are."""
    if credentials.x_bearer_token and credentials.x_bearer_token.get_secret_value():
        return BearerAuth(credentials.x_bearer_token)
    names = ("api_key", "api_secret", "access_token", "access_token_secret")
    four = {name: getattr(credentials, f"x_{name}") for name in names}
    if all(value is not None and value.get_secret_value() for value in four.values()):
        return OAuth1Auth(**four)
    return None


def _said(body: Any) -> str | None:
    """X's own words: the first error's message, else the problem's detail or title."""
    if not isinstance(body, dict):
        return str(body)[:300] if body else None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0].get("message") or errors[0].get("detail")
        if first:
            return str(first)[:300]
    for key in ("detail", "title", "reason"):
        if body.get(key):
            return str(body[key])[:300]
    return None


def _is_duplicate(answer: Answer) -> bool:
    errors = answer.fields.get("errors")
    codes = (
        [e.get("code") for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    )
    return DUPLICATE_CODE in codes or "duplicate" in (_said(answer.body) or "").lower()


def _reply_refused(answer: Answer) -> bool:
    said = (_said(answer.body) or "").lower()
    return answer.status in (400, 403) and "reply" in said and "deleted or not visible" in said


def x_refusal(answer: Answer) -> PublishError:
    said = _said(answer.body)
    if _is_duplicate(answer):
        return PublishError(
            f"X refused it as duplicate content: an earlier attempt probably got through ({said})",
            transient=False,
            maybe_sent=True,
        )
    if answer.status == 429:
        # When the 24-hour cap is what ran out, the 15-minute window's reset is too early.
        daily = answer.headers.get("x-user-limit-24hour-remaining")
        reset = answer.headers.get("x-user-limit-24hour-reset")
        retry_at = retry_after(answer.headers)
        if daily == "0" and reset and reset.isdigit():
            retry_at = datetime.fromtimestamp(int(reset), UTC)
        return PublishError(
            f"X is rate limiting: {said}", transient=True, retry_at=retry_at, rate_limited=True
        )
    return refusal(answer, network=NAME, message=said)


class XPublisher:
    """Posts to one X account; an update replies to the incident's previous post."""

    network = Network.X
    idempotent = False  # X has no idempotency key

    def __init__(
        self,
        *,
        http: HttpClient,
        auth: XAuth,
        base_url: str = DEFAULT_BASE_URL,
        handle: str | None = None,
        max_characters: int | None = None,
    ) -> None:
        self._http = http
        self._auth = auth
        self._base = base_url.rstrip("/")
        self._handle = handle.lstrip("@") if handle else None
        self._max_characters = max_characters
        self.label = f"X (@{self._handle})" if self._handle else "X"

    def url_for(self, post_id: str) -> str:
        if self._handle:
            return f"https://x.com/{self._handle}/status/{post_id}"
        return f"https://x.com/i/web/status/{post_id}"

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        url = f"{self._base}{path}"
        return await self._http.send(
            method, url, network=NAME, json=body, headers=self._auth.headers(method, url)
        )

    async def publish(self, request: PublishRequest) -> Published:
        measured = check_text(Network.X, request.text, max_characters=self._max_characters)
        if not measured.ok:
            raise PublishError(f"X would refuse this text: {measured.problem}", transient=False)
        body: dict[str, Any] = {"text": request.text}
        if request.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": request.reply_to}
        answer = await self._send("POST", "/2/tweets", body)
        if request.reply_to and _reply_refused(answer):
            # The previous post is gone; X refused outright, so posting on its own is safe.
            log.warning(
                "X: the incident's previous post %s is gone; posting unthreaded", request.reply_to
            )
            answer = await self._send("POST", "/2/tweets", {"text": request.text})
        if not answer.ok:
            raise x_refusal(answer)
        data = answer.ok_value("data")
        post_id = str(data.get("id") or "") if isinstance(data, dict) else ""
        if not post_id:
            raise without_id(NAME, check="the account")
        return Published(external_id=post_id, url=self.url_for(post_id))

    async def check(self) -> ChannelCheck:
        try:
            answer = await self._send("GET", "/2/users/me")
        except PublishError as trouble:
            return ChannelCheck(self.network, "unreachable", trouble.message)
        data = answer.ok_value("data")
        if isinstance(data, dict):
            return ChannelCheck(self.network, "ready", f"can post as @{data.get('username', '?')}")
        state = "expired" if answer.status == 401 else "error"
        return ChannelCheck(self.network, state, x_refusal(answer).message)


def build(context: PublisherContext) -> XPublisher | None:
    auth = x_auth(context.credentials)
    if auth is None:
        return None
    if context.channel.attach_card:
        log.warning("channels.x.attach_card: X posts go without the card (no media upload yet)")
    return XPublisher(
        http=context.http,
        auth=auth,
        base_url=context.channel.base_url or DEFAULT_BASE_URL,
        handle=context.channel.account,
        max_characters=context.channel.max_characters,
    )
