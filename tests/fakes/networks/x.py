"""A fake X API v2: ``POST /2/tweets`` and ``GET /2/users/me``, checked the way X checks them.

Auth is an OAuth 2 user token (``Bearer``) or OAuth 1.0a user context, whose HMAC-SHA1 signature
this fake verifies itself (independently of the oauthlib that signs), with the nonce and the
timestamp. Texts are measured by twitter-text's weighted length; a text the account already
posted is refused as duplicate content (403); a reply must point at an existing post. Every
answer carries ``x-rate-limit-limit/remaining/reset``, and a windowed limit can be switched on:

    async with FakeX(window_limit=50, window_seconds=15) as x:
        ...  # the 51st post in a 15 s window gets 429 with the window's end as its reset
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from typing import Any
from urllib.parse import quote, unquote

import twitter_text
from aiohttp import web

from tests.fakes.networks.base import FakeNetwork, Fault

UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
TOO_MANY = {
    "title": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
    "detail": "Too Many Requests",
}
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
GONE_REPLY = "You attempted to reply to a Tweet that is deleted or not visible to you."
FIRST_ID = 1_790_000_000_000_000_000


def _pct(value: str) -> str:
    return quote(value, safe="~-._")


def forbidden(detail: str) -> dict[str, Any]:
    return {"detail": detail, "type": "about:blank", "title": "Forbidden", "status": 403}


def invalid(message: str, parameter: str = "text") -> dict[str, Any]:
    return {
        "errors": [{"parameters": {parameter: []}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


class FakeX(FakeNetwork):
    name = "x"

    def __init__(
        self,
        *,
        bearer_token: str = "x-user-token",
        api_key: str = "x-api-key",
        api_secret: str = "x-api-secret",
        access_token: str = "x-access-token",
        access_token_secret: str = "x-access-secret",
        username: str = "northfieldit",
        window_limit: int = 200,
        window_seconds: float = 900.0,
        refuse_duplicates: bool = True,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.bearer_token = bearer_token
        self.consumer = (api_key, api_secret)
        self.access = (access_token, access_token_secret)
        self.username = username
        self.window_limit = window_limit
        self.window_seconds = window_seconds
        # X refuses a text the account already posted; a benchmark of identical texts may not.
        self.refuse_duplicates = refuse_duplicates
        self.expired = False  # every credential refused, as after a revoked token
        self.tweets: dict[str, dict[str, Any]] = {}  # id -> {"text", "in_reply_to", "at"}
        self.rate_limited = 0  # 429s answered by the window
        self._next_id = FIRST_ID
        self._nonces: set[str] = set()
        # Windows start on a whole unix second (X's resets are whole seconds), from the first post.
        self.window_start: float | None = None
        self._window_used = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/2/tweets", self.create_tweet), web.get("/2/users/me", self.me)]

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Every post created, oldest first, each with its ``id``."""
        return [{"id": key, **tweet} for key, tweet in self.tweets.items()]

    # ----- rate limits -------------------------------------------------------------------

    def _window(self) -> tuple[float, int]:
        """The current window's end (whole unix seconds, as X sends it) and posts left in it."""
        now = time.time()
        if self.window_start is None:
            self.window_start = math.floor(now)
        if now >= self.window_start + self.window_seconds:
            passed = (now - self.window_start) // self.window_seconds
            self.window_start += passed * self.window_seconds
            self._window_used = 0
        return self.window_start + self.window_seconds, self.window_limit - self._window_used

    def _limit_headers(self) -> dict[str, str]:
        reset, left = self._window()
        return {
            "x-rate-limit-limit": str(self.window_limit),
            "x-rate-limit-remaining": str(max(left, 0)),
            "x-rate-limit-reset": str(math.ceil(reset)),
        }

    def rate_limit_headers(self, reset_in: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.window_limit),
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(math.ceil(time.time() + reset_in)),
        }

    def rate_limit_next(
        self,
        *,
        reset_in: float = 1.0,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        for _ in range(times):
            self._faults.append(
                Fault("rate_limit", 429, body or TOO_MANY, headers or {}, seconds=reset_in)
            )

    # ----- auth --------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if self.expired:
            return False
        if header.startswith("Bearer "):
            return hmac.compare_digest(header[7:], self.bearer_token)
        if header.startswith("OAuth "):
            return self._oauth1_valid(request, header[6:])
        return False

    def _oauth1_valid(self, request: web.Request, header: str) -> bool:
        params: dict[str, str] = {}
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            params[unquote(key)] = unquote(value.strip('"'))
        signature = params.pop("oauth_signature", "")
        params.pop("realm", None)
        if params.get("oauth_consumer_key") != self.consumer[0]:
            return False
        if params.get("oauth_token") != self.access[0]:
            return False
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        nonce = params.get("oauth_nonce", "")
        if not nonce or nonce in self._nonces:
            return False
        if abs(time.time() - int(params.get("oauth_timestamp", "0"))) > 300:
            return False
        pairs = sorted(
            [(_pct(k), _pct(v)) for k, v in params.items()]
            + [(_pct(k), _pct(v)) for k, v in request.query.items()]
        )
        base_url = f"{request.scheme}://{request.host.lower()}{request.path}"
        base = "&".join(
            [request.method.upper(), _pct(base_url), _pct("&".join(f"{k}={v}" for k, v in pairs))]
        )
        key = f"{_pct(self.consumer[1])}&{_pct(self.access[1])}".encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            return False
        self._nonces.add(nonce)
        return True

    # ----- routes ------------------------------------------------------------------------

    async def create_tweet(self, request: web.Request) -> web.StreamResponse:
        fault = await self.before(request)
        if fault is not None:
            return fault
        received = await self.read(request)
        if not self._authorised(request):
            return self.json(UNAUTHORIZED, status=401)
        _, left = self._window()
        if left <= 0:
            self.rate_limited += 1
            return self.json(TOO_MANY, status=429, headers=self._limit_headers())
        self._window_used += 1
        headers = self._limit_headers()
        if "json" not in request.headers.get("Content-Type", ""):
            message = "Requests with bodies must have content-type of application/json."
            return self.json(invalid(message, "body"), status=400, headers=headers)
        body = received.body if isinstance(received.body, dict) else {}
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return self.json(invalid("The `text` field is required."), status=400, headers=headers)
        if twitter_text.parse_tweet(text).weightedLength > 280:
            message = "The text of your post is too long (weighted length over 280)."
            return self.json(invalid(message), status=400, headers=headers)
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and str(reply_to) not in self.tweets:
            return self.json(forbidden(GONE_REPLY), status=403, headers=headers)
        if self.refuse_duplicates and any(t["text"] == text for t in self.tweets.values()):
            return self.json(forbidden(DUPLICATE), status=403, headers=headers)
        post_id = str(self._next_id)
        self._next_id += 1
        self.tweets[post_id] = {"text": text, "in_reply_to": reply_to, "at": time.time()}
        data = {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}
        return self.json({"data": data}, status=201, headers=headers)

    async def me(self, request: web.Request) -> web.StreamResponse:
        fault = await self.before(request)
        if fault is not None:
            return fault
        await self.read(request)
        if not self._authorised(request):
            return self.json(UNAUTHORIZED, status=401)
        user = {"id": "1500000000000000001", "name": "Northfield IT", "username": self.username}
        return self.json({"data": user})
