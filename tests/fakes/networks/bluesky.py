"""A fake Bluesky PDS: sessions, post records, and record keys that cannot be used twice.

It answers XRPC the way the reference PDS does: ``{"error": name, "message": text}``; a wrong
password is 401 ``AuthenticationRequired``; an expired access token is 400 ``ExpiredToken``; a
text over 300 graphemes (or 3000 bytes) is 400 ``InvalidRequest``; a record key that is not a TID
is refused for posts; and a second create with a record key already taken fails the way today's
PDS fails it, 500 ``InternalServerError`` (``duplicate_answer="named"`` gives 409
``RecordAlreadyExists``, as newer servers name it). Throttling carries ``ratelimit-*`` headers,
the reset in unix seconds.

Sessions behave like the real ones: an access token lives ``access_lifetime`` seconds on the
fake's clock (``now``, unix seconds; pass a test clock to expire tokens without waiting), and
``createSession`` is limited per account (``session_limits``: 30 per 5 minutes and 300 a day by
default), every attempt counted, answered 429 ``RateLimitExceeded`` with ``ratelimit-limit``,
``ratelimit-remaining``, ``ratelimit-reset`` and ``ratelimit-policy`` once spent. Images come
through ``com.atproto.repo.uploadBlob`` (2 MB at most) and a post may embed up to four of them
(``app.bsky.embed.images``, each with its ``alt``).

It also plays the AppView for reading (one server, so ``appview_url`` is ``base_url``):
``app.bsky.feed.getPostThread`` (``depth``; ``NotFound`` for a missing post), ``searchPosts``
(``sort=latest``, cursor paging; ``search_public=False`` refuses it without a session, as the
public AppView has) and, with a session, ``app.bsky.notification.listNotifications`` (newest
first, cursor paging). A test adds replies at any depth (``add_reply``), mentions (``mention``)
and other posts (``add_post``); ``page_max`` caps every page and ``read_limit`` reads per
``read_window`` seconds answer 429 with ``ratelimit-*`` headers.

    async with FakeBluesky() as pds:
        publisher = BlueskyPublisher(http=http, handle=pds.handle, password=…, base_url=…)
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import grapheme
from aiohttp import web

from tests.fakes.networks.base import FakeNetwork, Received
from tests.fakes.networks.reading import ReadWindow, at_or_now, iso_ms

POST = "app.bsky.feed.post"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
STRONG_REF = re.compile(r"^at://did:[a-z]+:[A-Za-z0-9._:%-]+/[a-z.]+/[A-Za-z0-9._:~-]+$")
IMAGES = "app.bsky.embed.images"
BLOB_MAX_BYTES = 2_000_000
# createSession per account: (attempts, window in seconds)
SESSION_LIMITS = ((30, 300.0), (300, 86_400.0))


def _xrpc_error(name: str, message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": name, "message": message}, status=status)


def _cid(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]


class FakeBluesky(FakeNetwork):
    name = "bluesky"

    def __init__(
        self,
        *,
        handle: str = "it.example.edu",
        password: str = "abcd-efgh-ijkl-mnop",
        did: str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        duplicate_answer: Literal["internal", "named"] = "internal",
        access_lifetime: float = 2 * 3600.0,
        session_limits: tuple[tuple[int, float], ...] = SESSION_LIMITS,
        now: Callable[[], float] = time.time,
        latency: float = 0.0,
        read_limit: int | None = None,
        read_window: float = 300.0,
        page_max: int = 100,
    ) -> None:
        super().__init__(latency=latency)
        self.reads = ReadWindow(read_limit, read_window, now)
        self.page_max = page_max
        self.search_public = True
        self.others: dict[str, dict[str, Any]] = {}  # uri -> post view, by other accounts
        self.notifications: list[dict[str, Any]] = []
        self.handle = handle
        self.password = password
        self.did = did
        self.duplicate_answer = duplicate_answer
        self.access_lifetime = access_lifetime
        self.session_limits = session_limits
        self.now = now
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> {uri, cid, value}
        self.blobs: dict[str, dict[str, Any]] = {}  # cid -> {mimeType, size, data}
        self.sessions_created = 0
        self.sessions_refreshed = 0
        self.session_attempts: list[float] = []  # when createSession was called, limited or not
        self._access: dict[str, float] = {}  # token -> when it expires
        self._refresh: set[str] = set()
        self._lose_answers = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/xrpc/com.atproto.server.createSession", self.create_session),
            web.post("/xrpc/com.atproto.server.refreshSession", self.refresh_session),
            web.get("/xrpc/com.atproto.server.getSession", self.get_session),
            web.post("/xrpc/com.atproto.repo.createRecord", self.create_record),
            web.get("/xrpc/com.atproto.repo.getRecord", self.get_record),
            web.post("/xrpc/com.atproto.repo.uploadBlob", self.upload_blob),
            web.get("/xrpc/app.bsky.feed.getPostThread", self.get_post_thread),
            web.get("/xrpc/app.bsky.feed.searchPosts", self.search_posts),
            web.get("/xrpc/app.bsky.notification.listNotifications", self.list_notifications),
        ]

    # ----- test controls ---------------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        """Access tokens live about two hours; make every one handed out so far stale."""
        for token in self._access:
            self._access[token] = float("-inf")

    def revoke_refresh_tokens(self) -> None:
        self._refresh.clear()

    def lose_answer_next(self) -> None:
        """Make the next record, then drop the connection before answering."""
        self._lose_answers += 1

    def rate_limit_headers(self, reset_in: float) -> dict[str, str]:
        return {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(time.time() + reset_in)),
            "ratelimit-policy": "3000;w=300",
        }

    def rate_limit_next(self, *, body: Any = None, **kwargs: Any) -> None:
        body = body or {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        super().rate_limit_next(body=body, **kwargs)

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The post records, oldest first."""
        return [entry["value"] for entry in self.records.values()]

    # ----- sessions --------------------------------------------------------------------------

    def _new_session(self) -> dict[str, Any]:
        access, refresh = f"access-{secrets.token_hex(8)}", f"refresh-{secrets.token_hex(8)}"
        self._access[access] = self.now() + self.access_lifetime
        self._refresh.add(refresh)
        return {
            "did": self.did,
            "handle": self.handle,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }

    def _bearer(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

    def _unauthorised(self, request: web.Request) -> web.Response | None:
        token = self._bearer(request)
        if token is None:
            return _xrpc_error("AuthenticationRequired", "Authentication Required", 401)
        if token not in self._access:
            return _xrpc_error("InvalidToken", "Token could not be verified", 400)
        if self._access[token] <= self.now():
            return _xrpc_error("ExpiredToken", "Token has expired", 400)
        return None

    def _session_limit(self) -> tuple[dict[str, str], bool]:
        """Count this createSession attempt: the ``ratelimit-*`` headers of the tightest limit,
        and whether a limit is spent."""
        now = self.now()
        self.session_attempts.append(now)
        tightest: int | None = None
        headers: dict[str, str] = {}
        for limit, window in self.session_limits:
            recent = [at for at in self.session_attempts if at > now - window]
            remaining = limit - len(recent)
            if tightest is None or remaining < tightest:
                tightest = remaining
                headers = {
                    "ratelimit-limit": str(limit),
                    "ratelimit-remaining": str(max(remaining, 0)),
                    "ratelimit-reset": str(math.ceil(recent[0] + window)),
                    "ratelimit-policy": f"{limit};w={int(window)}",
                }
        return headers, tightest is not None and tightest < 0

    async def create_session(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        received = await self.read(request)
        limits, spent = self._session_limit()
        if spent:
            return web.json_response(
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                status=429,
                headers=limits,
            )
        body = received.body if isinstance(received.body, dict) else {}
        for field in ("identifier", "password"):
            if not isinstance(body.get(field), str):
                return _xrpc_error("InvalidRequest", f'Input must have the property "{field}"')
        known = body["identifier"].lstrip("@") in (self.handle, self.did)
        if not known or body["password"] != self.password:
            return _xrpc_error("AuthenticationRequired", "Invalid identifier or password", 401)
        self.sessions_created += 1
        return self.json(self._new_session(), headers=limits)

    async def refresh_session(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        await self.read(request)
        token = self._bearer(request)
        if token is None:
            return _xrpc_error("AuthenticationRequired", "Authentication Required", 401)
        if token not in self._refresh:
            return _xrpc_error("ExpiredToken", "Token has been revoked", 400)
        self._refresh.discard(token)  # refresh tokens are single-use: a new pair comes back
        self.sessions_refreshed += 1
        return self.json(self._new_session())

    async def get_session(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        await self.read(request)
        if refused := self._unauthorised(request):
            return refused
        return self.json({"did": self.did, "handle": self.handle, "active": True})

    # ----- records ---------------------------------------------------------------------------

    async def create_record(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        received = await self.read(request)
        if refused := self._unauthorised(request):
            return refused
        body = received.body if isinstance(received.body, dict) else {}
        if body.get("repo") not in (self.did, self.handle):
            return _xrpc_error("InvalidRequest", "Invalid repo: not the authenticated account")
        if body.get("collection") != POST:
            return _xrpc_error("InvalidRequest", "this fake PDS knows only app.bsky.feed.post")
        rkey = body.get("rkey")
        if rkey is not None and not (isinstance(rkey, str) and TID.match(rkey)):
            return _xrpc_error("InvalidRequest", f"Invalid record key for {POST}: must be a tid")
        if problem := self._invalid_post(body.get("record")):
            return _xrpc_error("InvalidRequest", f"Invalid {POST} record: {problem}")
        rkey = rkey or self._next_tid()
        uri = f"at://{self.did}/{POST}/{rkey}"
        if rkey in self.records:
            if self.duplicate_answer == "named":
                return _xrpc_error("RecordAlreadyExists", f"Record already exists: {uri}", 409)
            return _xrpc_error("InternalServerError", "Internal Server Error", 500)
        record = body["record"]
        cid = _cid(record)
        self.records[rkey] = {"uri": uri, "cid": cid, "value": record}
        if self._lose_answers:
            self._lose_answers -= 1
            assert request.transport is not None
            request.transport.close()
        return self.json(
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": _cid([uri, cid]), "rev": self._next_tid()},
                "validationStatus": "valid",
            }
        )

    def _invalid_post(self, record: Any) -> str | None:
        """The lexicon's checks on ``app.bsky.feed.post`` that Crier's posts can trip."""
        if not isinstance(record, dict):
            return "Record must be an object"
        if record.get("$type", POST) != POST:
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str):
            return 'Record must have the property "text"'
        if problem := self._invalid_embed(record.get("embed")):
            return problem
        if grapheme.length(text) > 300:
            return "Record/text must not be longer than 300 graphemes"
        if len(text.encode()) > 3000:
            return "Record/text must not be longer than 3000 characters"
        if not isinstance(record.get("createdAt"), str):
            return 'Record must have the property "createdAt"'
        size = len(text.encode())
        for number, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= size):
                return f"Record/facets/{number}/index must be a byte slice of the text"
            if not facet.get("features"):
                return f'Record/facets/{number} must have the property "features"'
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                ref = ref if isinstance(ref, dict) else {}
                uri = ref.get("uri")
                if not (isinstance(uri, str) and STRONG_REF.match(uri) and ref.get("cid")):
                    return f"Record/reply/{part} must be a strong reference (uri and cid)"
        return None

    def _invalid_embed(self, embed: Any) -> str | None:
        if embed is None:
            return None
        if not isinstance(embed, dict) or embed.get("$type") != IMAGES:
            return f"Record/embed: this fake PDS knows only {IMAGES}"
        images = embed.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 4:
            return "Record/embed/images must hold 1 to 4 images"
        for number, image in enumerate(images):
            if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                return f'Record/embed/images/{number} must have the property "alt"'
            blob = image.get("image") if isinstance(image.get("image"), dict) else {}
            link = (blob.get("ref") or {}).get("$link") if isinstance(blob, dict) else None
            if blob.get("$type") != "blob" or link not in self.blobs:
                return f"Record/embed/images/{number}/image is not a blob this PDS holds"
        return None

    async def upload_blob(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        data = await request.read()
        kind = request.headers.get("Content-Type", "")
        self.received.append(
            Received(request.method, request.path, dict(request.headers), f"<{len(data)} bytes>")
        )
        if refused := self._unauthorised(request):
            return refused
        if len(data) > BLOB_MAX_BYTES:
            return _xrpc_error(
                "BlobTooLarge", f"This file is too large. Max size: {BLOB_MAX_BYTES}"
            )
        blob = {
            "$type": "blob",
            "ref": {"$link": _cid(data.hex())},
            "mimeType": kind,
            "size": len(data),
        }
        self.blobs[blob["ref"]["$link"]] = {"mimeType": kind, "size": len(data), "data": data}
        return self.json({"blob": blob})

    async def get_record(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        await self.read(request)
        repo, rkey = request.query.get("repo"), request.query.get("rkey")
        collection = request.query.get("collection")
        if not (repo and rkey and collection):
            return _xrpc_error("InvalidRequest", "repo, collection and rkey are required")
        uri = f"at://{repo}/{collection}/{rkey}"
        entry = self.records.get(rkey)
        if repo not in (self.did, self.handle) or collection != POST or entry is None:
            return _xrpc_error("RecordNotFound", f"Could not locate record: {uri}")
        return self.json(entry)

    def _next_tid(self) -> str:
        alphabet = "234567abcdefghijklmnopqrstuvwxyz"
        value = (time.time_ns() // 1000) << 10 | secrets.randbelow(1024)
        return "".join(alphabet[(value >> shift) & 31] for shift in range(60, -1, -5))

    # ----- reading: what a test makes people say -------------------------------------------

    def _view(self, uri: str) -> dict[str, Any] | None:
        """A post view (the AppView's shape) of Crier's record or another account's post."""
        if uri in self.others:
            return self.others[uri]
        entry = next((e for e in self.records.values() if e["uri"] == uri), None)
        if entry is None:
            return None
        author = {"did": self.did, "handle": self.handle, "displayName": "IT Services"}
        stamp = entry["value"].get("createdAt")
        return {**entry, "record": entry["value"], "author": author, "indexedAt": stamp}

    def add_post(
        self,
        text: str,
        *,
        author: str = "ann.bsky.social",
        name: str | None = None,
        reply_to: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """A post by ``author`` (a reply to ``reply_to``, a uri); its at:// uri."""
        moment = iso_ms(at_or_now(at, self.now))
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": moment}
        if reply_to is not None:
            parent = self._view(reply_to)
            assert parent is not None, f"no post {reply_to}"
            ref = {"uri": parent["uri"], "cid": parent["cid"]}
            root = (parent["record"].get("reply") or {}).get("root") or ref
            record["reply"] = {"root": root, "parent": ref}
        did = self.did if author == self.handle else "did:plc:" + _cid(author)[7:31]
        uri = f"at://{did}/{POST}/{self._next_tid()}"
        who = {"did": did, "handle": author, "displayName": name or author.split(".")[0].title()}
        self.others[uri] = {
            "uri": uri,
            "cid": _cid(record),
            "author": who,
            "record": record,
            "indexedAt": moment,
        }
        return uri

    def add_reply(self, to: str, text: str, **post: Any) -> str:
        """A reply to the post ``to``; Crier is notified when ``to`` is its own post."""
        uri = self.add_post(text, reply_to=to, **post)
        if to.startswith(f"at://{self.did}/"):
            self.notify("reply", uri)
        return uri

    def mention(self, text: str, **post: Any) -> str:
        return self.notify("mention", self.add_post(f"@{self.handle} {text}", **post))

    def notify(self, reason: str, uri: str) -> str:
        """A notification of ``reason`` ("mention", "reply", "quote", "like", …) about ``uri``."""
        view = self.others[uri]
        self.notifications.append(
            {
                "uri": uri,
                "cid": view["cid"],
                "author": view["author"],
                "reason": reason,
                "record": view["record"],
                "isRead": False,
                "indexedAt": view["indexedAt"],
            }
        )
        return uri

    # ----- reading: the endpoints ----------------------------------------------------------

    def _limits(self) -> dict[str, str]:
        return {
            "ratelimit-limit": str(self.reads.cap),
            "ratelimit-remaining": str(self.reads.remaining),
            "ratelimit-reset": str(self.reads.reset),
            "ratelimit-policy": f"{self.reads.cap};w={int(self.reads.seconds)}",
        }

    async def _reading(self, request: web.Request, *, session: bool) -> web.StreamResponse | None:
        if fault := await self.before(request):
            return fault
        await self.read(request)
        if (session or "Authorization" in request.headers) and (
            refused := self._unauthorised(request)
        ):
            return refused
        if not self.reads.take():
            body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
            return self.json(body, status=429, headers=self._limits())
        return None

    def _page(self, request: web.Request, rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
        """Newest first, ``limit`` (capped by ``page_max``) from the ``cursor`` on."""
        rows = sorted(rows, key=lambda row: row["indexedAt"], reverse=True)
        start = int(request.query.get("cursor") or 0)
        limit = min(int(request.query.get("limit", 50)), self.page_max)
        page = rows[start : start + limit]
        body: dict[str, Any] = {key: page}
        if start + limit < len(rows):
            body["cursor"] = str(start + limit)
        return body

    async def get_post_thread(self, request: web.Request) -> web.StreamResponse:
        if problem := await self._reading(request, session=False):
            return problem
        uri = request.query.get("uri", "")
        depth = min(int(request.query.get("depth", 6)), 1000)
        if self._view(uri) is None:
            return _xrpc_error("NotFound", f"Post not found: {uri}")

        def node(at: str, left: int) -> dict[str, Any]:
            view = self._view(at)
            below = [
                other
                for other, post in self.others.items()
                if (post["record"].get("reply") or {}).get("parent", {}).get("uri") == at
            ]
            thread: dict[str, Any] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": view}
            if left > 0:
                thread["replies"] = [node(other, left - 1) for other in below]
            return thread

        return self.json({"thread": node(uri, depth)}, headers=self._limits())

    async def search_posts(self, request: web.Request) -> web.StreamResponse:
        if problem := await self._reading(request, session=False):
            return problem
        if not self.search_public and "Authorization" not in request.headers:
            return web.json_response({"error": "Forbidden", "message": "Forbidden"}, status=403)
        query = request.query.get("q", "").lower()
        found = [p for p in self.others.values() if query in p["record"]["text"].lower()]
        return self.json(self._page(request, found, "posts"), headers=self._limits())

    async def list_notifications(self, request: web.Request) -> web.StreamResponse:
        if problem := await self._reading(request, session=True):
            return problem
        reasons = request.query.getall("reasons", [])
        rows = [n for n in self.notifications if not reasons or n["reason"] in reasons]
        return self.json(self._page(request, rows, "notifications"), headers=self._limits())
