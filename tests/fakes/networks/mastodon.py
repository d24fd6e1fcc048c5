"""A fake Mastodon instance: statuses, the instance's limit, credentials, and Idempotency-Key.

It checks what Mastodon checks and answers as Mastodon does: a refused token is 401
``{"error": "The access token is invalid"}``, a text over the limit (links count 23) is 422
``{"error": "Validation failed: Text character limit of 500 exceeded"}``, a reply to a missing
status is 404, and a repeated ``Idempotency-Key`` within the hour returns the status it made the
first time. Throttling carries Mastodon's ``X-RateLimit-*`` headers, the reset as ISO 8601.

Media: ``POST /api/v2/media`` (multipart ``file``, ``description``) answers 200 with the
attachment, or 202 with ``url: null`` while it is processed (``processing_polls``: how many
``GET /api/v1/media/:id`` answer 206 first); a status with ``media_ids[]`` of an attachment still
processing is refused with 422, as Mastodon does.

Reading, as Mastodon answers it: ``GET /api/v1/statuses/:id/context`` (the thread below a status,
depth first), ``GET /api/v1/notifications`` (``types[]``, ``since_id``/``min_id``/``max_id``,
``limit`` up to ``page_max``, ``Link`` headers with ``rel="next"``/``"prev"``) and
``GET /api/v2/search?type=statuses`` (a token needed; ``search_enabled=False`` is an instance
without full-text search). A test adds replies (``add_reply``, at any depth, from anyone),
mentions (``mention``) and other statuses (``add_status``); ``read_limit`` reads per
``read_window`` seconds on the fake's clock (``now``), then 429 with ``X-RateLimit-*``.

    async with FakeMastodon() as mastodon:
        publisher = MastodonPublisher(http=http, base_url=mastodon.base_url, token=...)
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import urlencode

import grapheme
from aiohttp import web

from tests.fakes.networks.base import FakeNetwork, Received
from tests.fakes.networks.reading import ReadWindow, at_or_now, iso_ms

IDEMPOTENCY_SECONDS = 3600
VISIBILITIES = frozenset({"public", "unlisted", "private", "direct"})
_LINK = re.compile(r"https?://\S+")


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[bytes, str]]:
    """``multipart/form-data`` fields: name -> (bytes, content type)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (payload, part.get_content_type())
    return fields


def mastodon_length(text: str) -> int:
    """As Mastodon counts: grapheme clusters, every link as 23."""
    return int(grapheme.length(_LINK.sub("x" * 23, text)))


class FakeMastodon(FakeNetwork):
    name = "mastodon"

    def __init__(
        self,
        *,
        token: str = "mastodon-test-token",
        username: str = "it",
        max_characters: int = 500,
        latency: float = 0.0,
        now: Callable[[], float] = time.time,
        read_limit: int | None = None,
        read_window: float = 300.0,
        page_max: int = 40,
    ) -> None:
        super().__init__(latency=latency)
        self.now = now
        self.reads = ReadWindow(read_limit, read_window, now)
        self.page_max = page_max  # the most one page of notifications or results holds
        self.notifications: list[dict[str, Any]] = []
        self.search_enabled = True
        self.token = token
        self.username = username
        self.max_characters = max_characters
        self.statuses: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}  # id -> attachment (and "polls_left", "data")
        self.processing_polls = 0
        self.instance_reads = 0
        self.token_problem: str | None = None  # e.g. "The access token was revoked"
        self._keys: dict[str, tuple[str, float]] = {}
        self._next_id = 113_000_000_000_000_000
        self._lose_answers = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/statuses", self.create_status),
            web.get("/api/v2/instance", self.instance),
            web.get("/api/v1/accounts/verify_credentials", self.verify_credentials),
            web.post("/api/v2/media", self.upload_media),
            web.get("/api/v1/media/{id}", self.get_media),
            web.get("/api/v1/statuses/{id}/context", self.context),
            web.get("/api/v1/notifications", self.list_notifications),
            web.get("/api/v2/search", self.search),
        ]

    # ----- test controls ---------------------------------------------------------------------

    def revoke_token(self, problem: str = "The access token is invalid") -> None:
        self.token_problem = problem

    def lose_answer_next(self) -> None:
        """Make the next status, then drop the connection before answering."""
        self._lose_answers += 1

    def rate_limit_headers(self, reset_in: float) -> dict[str, str]:
        reset = datetime.now(UTC) + timedelta(seconds=reset_in)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }

    def rate_limit_next(self, *, body: Any = None, **kwargs: Any) -> None:
        super().rate_limit_next(body=body or {"error": "Too many requests"}, **kwargs)

    @property
    def posted(self) -> list[dict[str, Any]]:
        return list(self.statuses.values())

    # ----- routes ----------------------------------------------------------------------------

    def _refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            problem = "The access token is invalid"
        elif self.token_problem:
            problem = self.token_problem
        else:
            return None
        challenge = (
            f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{problem}"'
        )
        return self.json({"error": problem}, status=401, headers={"WWW-Authenticate": challenge})

    async def create_status(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        received = await self.read(request)
        if refused := self._refused(request):
            return refused
        form: dict[str, Any] = received.body if isinstance(received.body, dict) else {}
        reply_to = form.get("in_reply_to_id") or None
        if reply_to and reply_to not in self.statuses:
            return self.json(
                {"error": "The post you are trying to reply to does not appear to exist."},
                status=404,
            )
        key = request.headers.get("Idempotency-Key")
        if key and key in self._keys:
            status_id, stored_at = self._keys[key]
            if time.monotonic() - stored_at < IDEMPOTENCY_SECONDS:
                return self.json(self.statuses[status_id])
        text = str(form.get("status") or "")
        if not text.strip():
            return self.json({"error": "Validation failed: Text can't be blank"}, status=422)
        if mastodon_length(text) > self.max_characters:
            return self.json(
                {
                    "error": "Validation failed: Text character limit of "
                    f"{self.max_characters} exceeded"
                },
                status=422,
            )
        visibility = form.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            return self.json({"error": "Validation failed: Visibility is invalid"}, status=422)
        media_id = form.get("media_ids[]")
        attachments = [self.media[media_id]] if media_id in self.media else []
        if any(a["url"] is None for a in attachments):
            return self.json(
                {
                    "error": "Cannot attach files that have not finished processing. "
                    "Try again in a moment!"
                },
                status=422,
            )
        status = self._store(text, visibility=visibility, reply_to=reply_to)
        status["media_attachments"] = [self._attachment(a) for a in attachments]
        if key:
            self._keys[key] = (status["id"], time.monotonic())
        if self._lose_answers:
            self._lose_answers -= 1
            assert request.transport is not None
            request.transport.close()
        return self.json(status)

    def _store(
        self,
        text: str,
        *,
        visibility: str,
        reply_to: str | None,
        account: dict[str, Any] | None = None,
        content: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        self._next_id += 1
        status_id = str(self._next_id)
        account = account or self._account()
        status = {
            "id": status_id,
            "created_at": iso_ms(at)
            if at
            else datetime.now(UTC).isoformat(timespec="milliseconds"),
            "in_reply_to_id": reply_to,
            "visibility": visibility,
            "uri": f"{self.base_url}/users/{account['username']}/statuses/{status_id}",
            "url": f"{account['url']}/{status_id}",
            "content": content
            if content is not None
            else "<p>" + html.escape(text).replace("\n", "<br />") + "</p>",
            "text": text,  # Mastodon answers ``text`` only for deletes; kept here for tests
            "account": account,
        }
        self.statuses[status_id] = status
        return status

    def _account(self, acct: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Crier's account, or another: "ann" (local) or "jsmith@mastodon.social"."""
        if acct is None:
            acct, name = self.username, "IT Services"
        username, _, host = acct.lstrip("@").partition("@")
        return {
            "id": str(109_000_000_000_000_001 + sum(map(ord, acct))),
            "username": username,
            "acct": acct.lstrip("@"),
            "display_name": name if name is not None else username.title(),
            "url": f"https://{host}/@{username}" if host else f"{self.base_url}/@{username}",
        }

    # ----- reading: what a test makes people say -------------------------------------------

    def add_status(
        self,
        text: str,
        *,
        author: str = "jsmith@mastodon.social",
        name: str | None = None,
        reply_to: str | None = None,
        content: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """A public status by someone else (``content``: its HTML, else made from ``text``)."""
        return self._store(
            text,
            visibility="public",
            reply_to=reply_to,
            account=self._account(author, name),
            content=content,
            at=at_or_now(at, self.now),
        )

    def add_reply(self, to: str, text: str, **status: Any) -> dict[str, Any]:
        """A reply to the status ``to`` (Crier's or another reply); notifies Crier, as Mastodon
        does, when ``to`` is Crier's."""
        assert to in self.statuses, f"no status {to}"
        reply = self.add_status(text, reply_to=to, **status)
        if self.statuses[to]["account"]["acct"] == self.username:
            self.notify("mention", reply)
        return reply

    def mention(self, text: str, **status: Any) -> dict[str, Any]:
        """A status that names Crier's account, and its ``mention`` notification."""
        return self.notify("mention", self.add_status(f"@{self.username} {text}", **status))

    def notify(self, kind: str, status: dict[str, Any]) -> dict[str, Any]:
        """A notification of ``kind`` ("mention", "favourite", "reblog", …) about ``status``."""
        self._next_id += 1
        note = {
            "id": str(self._next_id),
            "type": kind,
            "created_at": status["created_at"],
            "account": status["account"],
            "status": status,
        }
        self.notifications.append(note)
        return status

    # ----- reading: the endpoints ----------------------------------------------------------

    async def _read(self, request: web.Request, *, token: bool) -> web.StreamResponse | None:
        """Faults, then the token (``token``: required; else checked only when sent), then the
        read budget. None when the read may go on."""
        if fault := await self.before(request):
            return fault
        await self.read(request)
        if (token or "Authorization" in request.headers) and (refused := self._refused(request)):
            return refused
        if not self.reads.take():
            return self.json({"error": "Too many requests"}, status=429, headers=self._limits())
        return None

    def _limits(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.reads.cap),
            "X-RateLimit-Remaining": str(self.reads.remaining),
            "X-RateLimit-Reset": self.reads.reset_iso(),
        }

    async def context(self, request: web.Request) -> web.StreamResponse:
        if problem := await self._read(request, token=False):
            return problem
        status_id = request.match_info["id"]
        if status_id not in self.statuses:
            return self.json({"error": "Record not found"}, status=404, headers=self._limits())
        descendants: list[dict[str, Any]] = []

        def below(parent: str) -> None:  # depth first, as Mastodon orders a thread
            for status in self.statuses.values():
                if status["in_reply_to_id"] == parent:
                    descendants.append(status)
                    below(status["id"])

        below(status_id)
        ancestors: list[dict[str, Any]] = []
        parent = self.statuses[status_id]["in_reply_to_id"]
        while parent in self.statuses:
            ancestors.insert(0, self.statuses[parent])
            parent = self.statuses[parent]["in_reply_to_id"]
        body = {"ancestors": ancestors, "descendants": descendants}
        return self.json(body, headers=self._limits())

    def _paged(
        self, request: web.Request, rows: list[dict[str, Any]], *, default: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Mastodon's id paging of ``rows`` (any order): newest first, ``max_id``/``since_id``/
        ``min_id``, and the ``Link`` header's next (older) and prev (newer) pages."""
        query = request.query
        limit = min(int(query.get("limit", default)), self.page_max)
        rows = sorted(rows, key=lambda row: int(row["id"]), reverse=True)
        if "max_id" in query:
            rows = [r for r in rows if int(r["id"]) < int(query["max_id"])]
        if "since_id" in query:
            rows = [r for r in rows if int(r["id"]) > int(query["since_id"])]
        if "min_id" in query:  # the page just above min_id, still newest first
            rows = [r for r in rows if int(r["id"]) > int(query["min_id"])][-limit:]
        page = rows[:limit]
        if not page:
            return page, None
        kept = [(k, v) for k, v in query.items() if k not in ("max_id", "since_id", "min_id")]
        base = f"{self.base_url}{request.path}?{urlencode(kept)}"
        older, newer = f"{base}&max_id={page[-1]['id']}", f"{base}&min_id={page[0]['id']}"
        link = f'<{older}>; rel="next", <{newer}>; rel="prev"'
        return page, link

    async def list_notifications(self, request: web.Request) -> web.StreamResponse:
        if problem := await self._read(request, token=True):
            return problem
        types = request.query.getall("types[]", [])
        rows = [n for n in self.notifications if not types or n["type"] in types]
        page, link = self._paged(request, rows, default=40)
        headers = self._limits() | ({"Link": link} if link else {})
        return self.json(page, headers=headers)

    async def search(self, request: web.Request) -> web.StreamResponse:
        if problem := await self._read(request, token=False):
            return problem
        query = request.query.get("q", "").lower()
        signed_in = "Authorization" in request.headers
        found: list[dict[str, Any]] = []
        if self.search_enabled and signed_in and request.query.get("type") == "statuses":
            found = [s for s in self.statuses.values() if query in s["text"].lower()]
        page, _ = self._paged(request, found, default=20)
        body = {"accounts": [], "statuses": page, "hashtags": []}
        return self.json(body, headers=self._limits())

    async def instance(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        self.instance_reads += 1
        return self.json(
            {
                "domain": "mastodon.example.edu",
                "title": "Fake Mastodon",
                "version": "4.3.0",
                "configuration": {
                    "statuses": {
                        "max_characters": self.max_characters,
                        "max_media_attachments": 4,
                        "characters_reserved_per_url": 23,
                    }
                },
            }
        )

    @staticmethod
    def _attachment(media: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in media.items() if k not in ("polls_left", "data")}

    async def upload_media(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        parts = _multipart(request.headers.get("Content-Type", ""), await request.read())
        self.received.append(
            Received(request.method, request.path, dict(request.headers), sorted(parts))
        )
        if refused := self._refused(request):
            return refused
        if "file" not in parts:
            return self.json({"error": "Validation failed: File can't be blank"}, status=422)
        data, kind = parts["file"]
        if not kind.startswith("image/"):
            problem = "Validation failed: File content type is invalid"
            return self.json({"error": problem}, status=422)
        description = parts["description"][0].decode() if "description" in parts else None
        self._next_id += 1
        media_id = str(self._next_id)
        url = f"{self.base_url}/system/media_attachments/{media_id}/original.png"
        processing = self.processing_polls > 0
        self.media[media_id] = {
            "id": media_id,
            "type": "image",
            "url": None if processing else url,
            "preview_url": url,
            "description": description,
            "polls_left": self.processing_polls,
            "data": data,
        }
        return self.json(self._attachment(self.media[media_id]), status=202 if processing else 200)

    async def get_media(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        await self.read(request)
        if refused := self._refused(request):
            return refused
        media = self.media.get(request.match_info["id"])
        if media is None:
            return self.json({"error": "Record not found"}, status=404)
        if media["url"] is None:
            media["polls_left"] -= 1
            if media["polls_left"] < 0:
                media["url"] = media["preview_url"]
            else:
                return self.json(self._attachment(media), status=206)
        return self.json(self._attachment(media))

    async def verify_credentials(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        await self.read(request)
        if refused := self._refused(request):
            return refused
        return self.json(self._account())
