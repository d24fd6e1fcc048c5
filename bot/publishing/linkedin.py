"""LinkedIn: organisation posts, ``POST /rest/posts`` with a versioned header.

Every call names its API version (``Linkedin-Version: YYYYMM``, from ``api_version`` in
``crier.yml``); LinkedIn switches each version off about a year after its release and then answers
426 ``NONEXISTENT_VERSION``, which Crier reports with the setting to change. The new post's URN
comes back in the ``x-restli-id`` header. LinkedIn has no idempotency key and no threads: each
update is a new post, and a post whose answer was lost is *unknown* until a person checks. Its
duplicate check does help then: a Retry of a post that did get through is refused as
``DUPLICATE_POST`` naming the existing URN, which Crier takes as the success.

``commentary`` is LinkedIn's "little" text format, where ``\\ | { } @ [ ] ( ) < > # * _ ~`` are
markup: unescaped, LinkedIn silently cuts the post at the first one. ``little_text`` (in
``bot.drafting.textrules``, which counts LinkedIn's 3,000 on the escaped text) escapes them,
leaving links and hashtags as they are so they stay clickable. The delivery records the plain text.

    publisher = build(context)  # None without LINKEDIN_ACCESS_TOKEN or channels.linkedin.account
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any

from pydantic import SecretStr

from bot.config import Network
from bot.drafting.textrules import check_text, little_text
from bot.ports import (
    ChannelCheck,
    Clock,
    Published,
    PublishError,
    PublishRequest,
    SystemClock,
    TokenLife,
)
from bot.publishing import PublisherContext
from bot.publishing.facts import ApiFacts
from bot.publishing.http import Answer, HttpClient, refusal, without_id
from bot.publishing.versions import (
    CURRENT_LINKEDIN,
    LINKEDIN_API,
    LINKEDIN_VERSIONS,
    linkedin_life,
    newest_version,
)

log = logging.getLogger(__name__)

NAME = "LinkedIn"
FACTS = ApiFacts(
    network=Network.LINKEDIN,
    checked="2026-12-02",
    api="POST /rest/posts with Linkedin-Version: YYYYMM (202607 current mid-2026; each kept "
    "at least 12 months, a sunset one answers 426) and X-Restli-Protocol-Version: 2.0.0; "
    "author urn:li:organization:{id}",
    limits="commentary 3,000 characters, little-text reserved characters escaped",
    idempotency="none; the new post's id comes in x-restli-id",
    rate_limits="none in Crier's notes: a 429 is retried like any network's",
)
DEFAULT_BASE_URL = "https://api.linkedin.com"
DEFAULT_VERSION = CURRENT_LINKEDIN  # the versions' end dates: bot/publishing/versions.py
VERSION_SETTING = "channels.linkedin.api_version"
# Token introspection is on LinkedIn's OAuth host, not the API's (``channels.linkedin.oauth_url``).
DEFAULT_OAUTH_URL = "https://www.linkedin.com"
CREDENTIAL_VARIABLE = "LINKEDIN_ACCESS_TOKEN"
RENEW = (
    "sign in again through your app's OAuth flow with w_organization_social, or use LinkedIn's "
    "token generator (https://www.linkedin.com/developers/tools/oauth/token-generator)"
)
_DUPLICATE_OF = re.compile(r"duplicate of (urn:li:\w+:\d+)")


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}"


class LinkedInPublisher:
    """Posts as one organisation (a LinkedIn page) the token's member administers."""

    network = Network.LINKEDIN
    idempotent = False

    def __init__(
        self,
        *,
        http: HttpClient,
        token: SecretStr,
        organization_id: str,
        api_version: str = DEFAULT_VERSION,
        base_url: str = DEFAULT_BASE_URL,
        oauth_url: str = DEFAULT_OAUTH_URL,
        client_id: str | None = None,
        client_secret: SecretStr | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._clock = clock or SystemClock()  # which version to suggest after a 426, and when
        self._oauth_root = oauth_url.rstrip("/")
        # The app's credentials, only to ask LinkedIn when the token expires.
        self._client = (client_id, client_secret) if client_id and client_secret else None
        self._token = token
        self._organization_id = organization_id
        self._author = f"urn:li:organization:{organization_id}"
        self._version = api_version
        self._root = base_url.rstrip("/")
        self.label = f"{NAME} (organisation {organization_id})"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Linkedin-Version": self._version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    async def publish(self, request: PublishRequest) -> Published:
        checked = check_text(Network.LINKEDIN, request.text)
        if not checked.ok:
            raise PublishError(f"{NAME} would refuse the post: {checked.problem}", transient=False)
        body = {
            "author": self._author,
            "commentary": little_text(request.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        answer = await self._http.send(
            "POST", f"{self._root}/rest/posts", network=NAME, json=body, headers=self._headers()
        )
        if answer.ok:
            urn = answer.headers.get("x-restli-id") or _field(answer.body, "id")
            if not urn:
                raise without_id(NAME, check="the page")
            return Published(external_id=urn, url=post_url(urn))
        if existing := duplicate_of(answer):
            log.info("LinkedIn already has this text as %s: taking it as the post", existing)
            return Published(external_id=existing, url=post_url(existing))
        raise linkedin_refusal(answer, version=self._version, now=self._clock.now())

    async def check(self) -> ChannelCheck:
        """``GET /rest/organizations/{id}``: the token works, the version is served, the page
        exists. It does not prove the member may post for the page (that needs a write)."""
        url = f"{self._root}/rest/organizations/{self._organization_id}"
        # The version's end is known without LinkedIn: said even when it cannot be reached.
        life = linkedin_life(self._version, setting=VERSION_SETTING)
        try:
            answer = await self._http.send("GET", url, network=NAME, headers=self._headers())
        except PublishError as exc:
            return ChannelCheck(self.network, "unreachable", exc.message, version=life)
        if not answer.ok:
            state = "expired" if answer.status in (401, 403) else "error"
            said = linkedin_refusal(answer, version=self._version, now=self._clock.now()).message
            return ChannelCheck(self.network, state, said, version=life)
        name = _field(answer.body, "localizedName") or self._author
        token, inactive = await self._token_life()
        if inactive is not None:
            return ChannelCheck(self.network, "expired", inactive, version=life)
        ready = f"posting as {name} (Linkedin-Version {self._version})"
        return ChannelCheck(self.network, "ready", ready, version=life, token=token)

    async def _token_life(self) -> tuple[TokenLife, str | None]:
        """When the token expires, from LinkedIn's token introspection (which needs the app's
        client id and secret); the second value says why LinkedIn calls the token inactive."""
        life = partial(TokenLife, CREDENTIAL_VARIABLE, RENEW)
        if self._client is None:
            ask = "set LINKEDIN_CLIENT_ID and LINKEDIN_CLIENT_SECRET (your LinkedIn app's) so Crier"
            return life(unknown=f"{ask} can ask LinkedIn"), None
        client_id, secret = self._client
        form = {
            "client_id": client_id,
            "client_secret": secret.get_secret_value(),
            "token": self._token.get_secret_value(),
        }
        url = f"{self._oauth_root}/oauth/v2/introspectToken"
        try:
            answer = await self._http.send("POST", url, network=NAME, data=form)
        except PublishError as trouble:
            return life(unknown=f"introspection: {trouble.message}"), None
        body = answer.fields
        if not answer.ok:
            said = str(body.get("error_description") or body.get("error") or answer.status)
            for hidden in (secret.get_secret_value(), self._token.get_secret_value()):
                said = said.replace(hidden, "[redacted]")
            refused = "LinkedIn refused LINKEDIN_CLIENT_ID or LINKEDIN_CLIENT_SECRET for token"
            return life(unknown=f"{refused} introspection ({said[:200]})"), None
        if body.get("active") is False:
            status = str(body.get("status") or "inactive")[:40]
            inactive = f"{NAME} says the access token is {status}"
            return life(), f"{inactive}: renew {CREDENTIAL_VARIABLE} ({RENEW})"
        stamp = body.get("expires_at")
        if isinstance(stamp, int) and stamp > 0:
            return life(expires_at=datetime.fromtimestamp(stamp, UTC)), None
        return life(unknown="LinkedIn did not say"), None


def _field(body: Any, name: str) -> str | None:
    value = body.get(name) if isinstance(body, dict) else None
    return str(value) if value else None


def duplicate_of(answer: Answer) -> str | None:
    """The URN in a 422 ``DUPLICATE_POST`` ("Content is a duplicate of urn:li:share:…")."""
    if answer.status != 422:
        return None
    found = _DUPLICATE_OF.search(_field(answer.body, "message") or "")
    return found.group(1) if found else None


def _input_error(body: Any) -> str | None:
    """The first of a 422's ``errorDetails.inputErrors``: what and where."""
    details = body.get("errorDetails") if isinstance(body, dict) else None
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None
    first = errors[0]
    path = ((first.get("input") or {}).get("inputPath") or {}).get("fieldPath")
    described = first.get("description") or first.get("code")
    return f"{described} at {path}" if path else str(described) if described else None


def linkedin_refusal(answer: Answer, *, version: str, now: datetime | None = None) -> PublishError:
    """LinkedIn's ``{"status", "code", "serviceErrorCode", "message"}`` as an outcome."""
    code = _field(answer.body, "code")
    message = _field(answer.body, "message") or f"HTTP {answer.status}"
    said = f"{code}: {message}" if code else message
    if problem := _input_error(answer.body):
        said += f" ({problem})"
    now = now or datetime.now(UTC)
    if answer.status == 426 or code in ("NONEXISTENT_VERSION", "VERSION_MISSING"):
        newest = newest_version(LINKEDIN_API, today=now.date())
        # LinkedIn may switch a version off before Crier's estimate: never suggest that one.
        to = f"to {newest}" if newest != version.strip()[:6] else "to a newer version"
        return PublishError(
            f"{NAME} no longer serves API version {version} ({said}). Set {VERSION_SETTING} in "
            f"crier.yml {to} (a version a month, YYYYMM, each served about a year: "
            f"{LINKEDIN_VERSIONS})",
            transient=False,
        )
    error = refusal(answer, network=NAME, message=said)
    if answer.status == 401:
        error.message += ". LinkedIn tokens last 60 days: renew LINKEDIN_ACCESS_TOKEN"
    elif answer.status == 403:
        error.message += (
            ". The token needs the w_organization_social scope, and its member an "
            "administrator or content administrator role on the page"
        )
    elif answer.status == 429 and error.retry_at is None and "DAY" in message:
        # LinkedIn's daily limits reset at midnight UTC and it sends no reset header.
        error.retry_at = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
    return error


def build(context: PublisherContext) -> LinkedInPublisher | None:
    token = context.credentials.linkedin_access_token
    account = context.setting(token, "account", what="the organisation id")
    if token is None or account is None:
        return None
    organization_id = account.removeprefix("urn:li:organization:")
    client_id = context.credentials.linkedin_client_id
    return LinkedInPublisher(
        http=context.http,
        token=token,
        organization_id=organization_id,
        api_version=context.channel.api_version or DEFAULT_VERSION,
        base_url=context.channel.base_url or DEFAULT_BASE_URL,
        oauth_url=context.channel.oauth_url or DEFAULT_OAUTH_URL,
        client_id=client_id.get_secret_value() if client_id else None,
        client_secret=context.credentials.linkedin_client_secret,
        clock=context.clock,
    )
