"""A fake X API v2: ``POST /2/tweets`` and ``GET /2/users/me``, checked the way X checks them.

Auth is an OAuth 2 user token (``Bearer``) or OAuth 1.0a user context, whose HMAC-SHA1 signature
this fake verifies itself (independently of the oauthlib that signs), with the nonce and the
timestamp. Texts are measured by twitter-text's weighted length; a text the account already
posted is refused as duplicate content (403); a reply must point at an existing post. Every
answer carries ``x-rate-limit-limit/remaining/reset``, and a windowed limit can be switched on:

    async with FakeX(window_limit=50, window_seconds=15) as x:
        ...  # the 51st post in a 15 s window gets 429 with the window's end as its reset

Reading: ``GET /2/tweets/search/recent`` (a query of words, ``conversation_id:``, ``from:``,
``-from:``, and groups in parentheses whose terms are joined by ``OR``; over ``QUERY_MAX``
characters it is refused with X's 400; ``since_id``, ``max_results``, ``next_token``) and
``GET /2/users/:id/mentions`` (``since_id``, ``pagination_token``), newest first, with
``includes.users`` and ``meta``. A test adds replies (``add_reply``, any depth), mentions
(``mention``) and other posts (``add_post``); ``page_max`` caps a page, ``read_limit`` reads per
``read_window`` seconds (on ``now``) answer 429 with ``x-rate-limit-*``, and ``posts_read``
counts every post served (X bills each). As X does, each read endpoint has its own window and
headers: recent search in ``reads`` (``read_limit``), the mentions timeline in ``mention_reads``
(``mentions_limit`` per ``mentions_window``: 10 / 15 min per user on Basic, once ``read_limit``
switches the limits on).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import twitter_text
from aiohttp import web

from tests.fakes.networks.base import FakeNetwork, Fault
from tests.fakes.networks.reading import ReadWindow, at_or_now

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
OWN_ID = "1500000000000000001"
QUERY_MAX = 512  # recent search's query length on the self-serve tiers
# ``GET /2/users/:id/mentions`` on Basic: 10 requests / 15 min per user, apart from search's 60.
MENTIONS_LIMIT = 10
MENTIONS_WINDOW = 900.0
# A group in parentheses, or a bare term.
QUERY_PART = re.compile(r"\(([^()]*)\)|(\S+)")


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
        now: Callable[[], float] = time.time,
        read_limit: int | None = None,
        read_window: float = 900.0,
        mentions_limit: int = MENTIONS_LIMIT,
        mentions_window: float = MENTIONS_WINDOW,
        page_max: int = 100,
    ) -> None:
        super().__init__(latency=latency)
        self.now = now
        self.reads = ReadWindow(read_limit, read_window, now)  # recent search
        limited = mentions_limit if read_limit is not None else None
        self.mention_reads = ReadWindow(limited, mentions_window, now)
        self.page_max = page_max
        self.others: dict[str, dict[str, Any]] = {}  # id -> post (v2 shape), by other accounts
        self.users: dict[str, dict[str, str]] = {}  # id -> {id, username, name}
        self.posts_read = 0
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
        return [
            web.post("/2/tweets", self.create_tweet),
            web.get("/2/users/me", self.me),
            web.get("/2/tweets/search/recent", self.search_recent),
            web.get("/2/users/{id}/mentions", self.user_mentions),
        ]

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
        user = {"id": OWN_ID, "name": "Northfield IT", "username": self.username}
        return self.json({"data": user})

    # ----- reading: what a test makes people say -------------------------------------------

    def _v2(self, post_id: str) -> dict[str, Any]:
        """A post as API v2 gives it, Crier's or another account's."""
        if post_id in self.others:
            return self.others[post_id]
        tweet = self.tweets[post_id]
        post: dict[str, Any] = {
            "id": post_id,
            "text": tweet["text"],
            "author_id": OWN_ID,
            "created_at": _stamp(datetime.fromtimestamp(tweet["at"], UTC)),
            "conversation_id": self._conversation(tweet["in_reply_to"]) or post_id,
        }
        if tweet["in_reply_to"]:
            post["in_reply_to_user_id"] = self._v2(str(tweet["in_reply_to"]))["author_id"]
            post["referenced_tweets"] = [{"type": "replied_to", "id": str(tweet["in_reply_to"])}]
        return post

    def _conversation(self, post_id: object) -> str | None:
        return self._v2(str(post_id))["conversation_id"] if post_id else None

    def add_post(
        self,
        text: str,
        *,
        username: str = "jsmith",
        name: str | None = None,
        reply_to: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """A post by ``username`` (a reply to ``reply_to``); its id."""
        user_id = str(1_600_000_000_000_000_000 + sum(map(ord, username)))
        self.users[user_id] = {"id": user_id, "username": username, "name": name or username}
        post_id = str(self._next_id)
        self._next_id += 1
        post: dict[str, Any] = {
            "id": post_id,
            "text": text,
            "author_id": user_id,
            "created_at": _stamp(at_or_now(at, self.now)),
            "conversation_id": self._conversation(reply_to) or post_id,
        }
        if reply_to:
            post["in_reply_to_user_id"] = self._v2(reply_to)["author_id"]
            post["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        self.others[post_id] = post
        return post_id

    def add_reply(self, to: str, text: str, **post: Any) -> str:
        return self.add_post(text, reply_to=to, **post)

    def mention(self, text: str, **post: Any) -> str:
        return self.add_post(f"@{self.username} {text}", **post)

    # ----- reading: the endpoints ----------------------------------------------------------

    def _read_headers(self, window: ReadWindow) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(window.cap),
            "x-rate-limit-remaining": str(window.remaining),
            "x-rate-limit-reset": str(window.reset),
        }

    async def _reading(self, request: web.Request, window: ReadWindow) -> web.StreamResponse | None:
        fault = await self.before(request)
        if fault is not None:
            return fault
        await self.read(request)
        if not self._authorised(request):
            return self.json(UNAUTHORIZED, status=401)
        if not window.take():
            return self.json(TOO_MANY, status=429, headers=self._read_headers(window))
        return None

    def _everything(self) -> list[dict[str, Any]]:
        return [self._v2(i) for i in [*self.tweets, *self.others]]

    def _answer(
        self,
        request: web.Request,
        posts: list[dict[str, Any]],
        token_name: str,
        window: ReadWindow,
    ) -> web.Response:
        """Newest first from ``since_id`` on, a page at a time, as X answers reads."""
        query = request.query
        since = int(query.get("since_id") or 0)
        posts = sorted((p for p in posts if int(p["id"]) > since), key=lambda p: -int(p["id"]))
        start = int(query.get(token_name) or 0)
        limit = min(int(query.get("max_results", 10)), self.page_max)
        page = posts[start : start + limit]
        self.posts_read += len(page)
        meta: dict[str, Any] = {"result_count": len(page)}
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
            if "author_id" in query.get("expansions", ""):
                authors = {p["author_id"] for p in page}
                own = {"id": OWN_ID, "name": "Northfield IT", "username": self.username}
                users = [self.users.get(a, own) for a in sorted(authors)]
                body["includes"] = {"users": users}
        if start + limit < len(posts):
            meta["next_token"] = str(start + limit)
        return self.json(body, headers=self._read_headers(window))

    async def search_recent(self, request: web.Request) -> web.StreamResponse:
        if (problem := await self._reading(request, self.reads)) is not None:
            return problem
        query = request.query.get("query", "")
        if len(query) > QUERY_MAX:
            message = f"There were errors processing your request: Query must be {QUERY_MAX} "
            message += f"characters or fewer (yours: {len(query)})"
            headers = self._read_headers(self.reads)
            return self.json(invalid(message, "query"), status=400, headers=headers)
        found = [p for p in self._everything() if self._matches(p, query)]
        return self._answer(request, found, "next_token", self.reads)

    def _matches(self, post: dict[str, Any], query: str) -> bool:
        """Every part of the query holds; a group in parentheses holds when one of its
        ``OR``-joined alternatives does (all of that alternative's terms)."""
        for group, term in QUERY_PART.findall(query):
            alternatives = re.split(r"\s+OR\s+", group.strip()) if group else [term]
            if not any(
                all(self._holds(post, word) for word in alternative.split())
                for alternative in alternatives
            ):
                return False
        return True

    def _holds(self, post: dict[str, Any], term: str) -> bool:
        author = self.users.get(post["author_id"], {"username": self.username})["username"]
        key, _, value = term.partition(":")
        if key == "conversation_id":
            return bool(post["conversation_id"] == value)
        if key == "from":
            return author.lower() == value.lower()
        if key == "-from":
            return author.lower() != value.lower()
        return bool(value) or term.lower() in post["text"].lower()

    async def user_mentions(self, request: web.Request) -> web.StreamResponse:
        if (problem := await self._reading(request, self.mention_reads)) is not None:
            return problem
        if request.match_info["id"] != OWN_ID:
            return self.json(forbidden("You can only read your own mentions."), status=403)
        named = f"@{self.username}".lower()
        found = [p for p in self.others.values() if named in p["text"].lower()]
        return self._answer(request, found, "pagination_token", self.mention_reads)


def _stamp(moment: datetime) -> str:
    """X's ``created_at``: ``2026-01-15T19:45:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
