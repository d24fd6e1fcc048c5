"""A fake Graph API serving a Facebook Page and an Instagram professional account.

Facebook: ``POST /{v}/{page}/feed`` (``message``), ``POST /{v}/{page}/photos`` (``url``,
``message``), ``GET /{v}/{page}?fields=name``. Instagram: ``POST /{v}/{ig}/media`` (``image_url``,
``caption``) makes a container, ``POST /{v}/{ig}/media_publish`` (``creation_id``) publishes it,
``GET /{v}/{container}?fields=status_code``, ``GET /{v}/{media}?fields=permalink``,
``GET /{v}/{ig}/media`` (``fields=id,caption,timestamp``), and
``GET /{v}/{ig}/content_publishing_limit?fields=quota_usage,config``: the posts published in the
last ``publish_limit_seconds`` on the fake's clock (``now``, unix seconds) against
``publish_limit``. A container keeps its ``alt_text``. ``GET /{v}/debug_token`` tells a token's
``token_expiry``; once the fake's clock passes it the token is refused (190, subcode 463) and
``debug_token`` calls it not valid, as Graph does. Tokens come as
``Authorization: Bearer``/``OAuth`` or ``access_token``; errors are Graph's
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``. Images are fetched
from their URL like the real thing does (Instagram takes JPEG only).

Reading: ``GET /{v}/{post}/comments`` (``filter=toplevel|stream``, ``order=chronological|
reverse_chronological``, ``fields``, ``limit`` up to ``page_max``, ``after`` cursors and
``paging.next``) over the comments a test adds with ``add_comment`` (on a post, or in reply to a
comment), and Graph's multiple-id read of them, ``GET /{v}/?ids=<a>,<b>…&fields=comments
.filter(stream).order(reverse_chronological).limit(N){fields}`` (50 ids at most; ONE read of the
window, as Graph counts it): each id's ``comments`` (``data``, ``paging`` whose ``next`` is that
post's ``/comments`` edge), left out when it has none; an unknown id gets Graph's error under it.
Every read answers ``X-App-Usage`` (``call_count`` as per cent of ``read_limit`` reads
per ``read_window`` seconds); past it, Graph's code 4 with ``X-Business-Use-Case-Usage``'s
``estimated_time_to_regain_access``.

Beyond the base faults: ``fault_when`` makes the queued faults wait for a matching request
(``fake.fault_when = lambda r: r.path.endswith("/media_publish")``); ``lose_answer_next(path)``
does the work, then drops the connection, so the caller cannot know it happened.
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.fakes.networks.base import FakeNetwork, Fault
from tests.fakes.networks.reading import ReadWindow, at_or_now

VERSION = re.compile(r"^v\d+\.\d+$")
HASHTAG = re.compile(r"(?<![\w&])#\w+")
IDS_MAX = 50  # ids in one multiple-id read
# ``comments.filter(stream).order(reverse_chronological).limit(100){id,message}``
EDGE = re.compile(r"^comments((?:\.\w+\([^()]*\))*)(?:\{([^{}]*)\})?$")
MODIFIER = re.compile(r"\.(\w+)\(([^()]*)\)")
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}


def graph_error(
    message: str,
    code: int,
    subcode: int | None = None,
    *,
    kind: str = "OAuthException",
    **extra: Any,
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = "A" + secrets.token_hex(5)
    return {"error": error}


class FakeGraph(FakeNetwork):
    name = "graph"

    def __init__(
        self,
        *,
        page_id: str = "1122334455",
        page_name: str = "Northfield IT",
        page_token: str = "fb-page-token",
        ig_user_id: str = "17841400000000001",
        ig_username: str = "northfieldit",
        ig_token: str = "ig-token",
        processing_polls: int = 0,
        publish_limit: int = 50,
        publish_limit_seconds: int = 24 * 3600,
        now: Callable[[], float] = time.time,
        latency: float = 0.0,
        read_limit: int | None = None,
        read_window: float = 3600.0,
        page_max: int = 100,
    ) -> None:
        super().__init__(latency=latency)
        self.reads = ReadWindow(read_limit, read_window, now)
        self.page_max = page_max
        # When set, a multiple-id read naming a missing id is refused with these words instead
        # of ones naming the ids (the reading side must then find the missing post itself).
        self.missing_alias_message: str | None = None
        self.comments: dict[str, list[dict[str, Any]]] = {}  # post id -> comments, oldest first
        self.page_id, self.page_name, self.page_token = page_id, page_name, page_token
        self.ig_user_id, self.ig_username, self.ig_token = ig_user_id, ig_username, ig_token
        self.processing_polls = processing_polls  # status checks a container stays IN_PROGRESS
        self.publish_limit = publish_limit  # Instagram posts per rolling 24 hours
        self.publish_limit_seconds = publish_limit_seconds
        self.now = now
        self.expired: set[str] = set()  # tokens Graph now calls expired
        # What ``debug_token`` tells of a token: (expires_at, data_access_expires_at) in unix
        # seconds, 0 meaning never; a token not listed never expires. Past it (on ``now``), the
        # token is refused like one in ``expired``.
        self.token_expiry: dict[str, tuple[int, int]] = {}
        self.page_posts: list[dict[str, Any]] = []  # {"id", "message", "photo"}
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: list[dict[str, Any]] = []  # published Instagram posts, oldest first
        self.fetched: list[tuple[str, str]] = []  # (image url, content type) fetched
        self.fault_when: Callable[[web.Request], bool] | None = None
        self._lose: list[str] = []
        self._serial = 100

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/{version}/{node}/feed", self.feed),
            web.post("/{version}/{node}/photos", self.photos),
            web.post("/{version}/{node}/media", self.create_container),
            web.post("/{version}/{node}/media_publish", self.media_publish),
            web.get("/{version}/{node}/media", self.list_media),
            web.get("/{version}/{node}/content_publishing_limit", self.publishing_limit),
            web.get("/{version}/debug_token", self.debug_token),
            web.get("/{version}/{node}/comments", self.list_comments),
            web.post("/{version}/{node}/comments", self.reply_to_comment),
            web.get("/{version}/{node}", self.node),
            web.get("/{version}/", self.read_many),
            web.get("/{version}", self.read_many),
        ]

    # ----- faults ------------------------------------------------------------------------

    async def before(self, request: web.Request) -> web.StreamResponse | None:
        if self.fault_when is not None and not self.fault_when(request):
            saved, self._faults = self._faults, type(self._faults)()
            try:
                return await super().before(request)  # latency only
            finally:
                self._faults = saved
        return await super().before(request)

    def lose_answer_next(self, path: str) -> None:
        """The next request to a path ending in ``path`` is carried out, then its answer lost."""
        self._lose.append(path)

    def _answer(self, request: web.Request, response: web.Response) -> web.Response:
        for index, path in enumerate(self._lose):
            if request.path.endswith(path):
                del self._lose[index]
                assert request.transport is not None
                request.transport.close()
                break
        return response

    def rate_limit_headers(self, reset_in: float) -> dict[str, str]:
        usage = {
            self.page_id: [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 12,
                    "total_time": 18,
                    "estimated_time_to_regain_access": max(1, math.ceil(reset_in / 60)),
                }
            ]
        }
        return {"X-Business-Use-Case-Usage": json.dumps(usage)}

    def rate_limit_next(
        self,
        *,
        reset_in: float = 60.0,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        code: int = 32,
    ) -> None:
        """Graph throttles with an error code in a 400 (default: 32, the Page's limit)."""
        for _ in range(times):
            answer = body or graph_error(THROTTLE_MESSAGES[code], code, is_transient=True)
            self._faults.append(Fault("rate_limit", 400, answer, headers or {}, seconds=reset_in))

    # ----- checks ------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._serial += 1
        return f"{17_900_000_000_000_000 + self._serial}"

    async def _params(self, request: web.Request) -> dict[str, Any]:
        received = await self.read(request)
        params: dict[str, Any] = dict(request.query)
        if isinstance(received.body, dict):
            params.update(received.body)
        return params

    def _token_problem(
        self, request: web.Request, params: dict[str, Any], wanted: str
    ) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = header.split(" ", 1)[1] if header.startswith(("Bearer ", "OAuth ")) else None
        token = token or params.get("access_token")
        if not token:
            message = (
                "An active access token must be used to query information about the current user."
            )
            return self.json(graph_error(message, 2500), status=400)
        if self.lapsed(token):
            message = (
                "Error validating access token: Session has expired on Tuesday, 14-Jan-25 "
                "12:00:00 PST. The current time is Tuesday, 14-Jan-25 14:45:00 PST."
            )
            return self.json(graph_error(message, 190, 463), status=400)
        if token != wanted:
            message = "Invalid OAuth access token - Cannot parse access token"
            return self.json(graph_error(message, 190), status=400)
        return None

    def lapsed(self, token: str) -> bool:
        """Expired: by the test's word, or because the fake's clock passed its expiry."""
        ends = [stamp for stamp in self.token_expiry.get(token, (0, 0)) if stamp]
        return token in self.expired or any(stamp <= self.now() for stamp in ends)

    def _version_problem(self, request: web.Request) -> web.Response | None:
        version = request.match_info["version"]
        if VERSION.match(version):
            return None
        return self.json(graph_error(f"Unknown path components: /{version}", 2500), status=400)

    def _unsupported(self, method: str, node: str) -> web.Response:
        message = (
            f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation."
        )
        return self.json(graph_error(message, 100, 33, kind="GraphMethodException"), status=400)

    async def _fetch(self, url: str) -> str | None:
        """The image's content type, as Graph's fetcher sees it; None if it cannot get it."""
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                await response.read()
                kind = response.headers.get("Content-Type", "")
                self.fetched.append((url, kind))
                return kind if response.status == 200 else None
        except aiohttp.ClientError:
            return None

    # ----- Facebook ----------------------------------------------------------------------

    async def _page_request(
        self, request: web.Request
    ) -> tuple[dict[str, Any], web.StreamResponse | None]:
        fault = await self.before(request)
        if fault is not None:
            return {}, fault
        params = await self._params(request)
        problem = self._version_problem(request) or self._token_problem(
            request, params, self.page_token
        )
        if problem is None and request.match_info["node"] != self.page_id:
            problem = self._unsupported("post", request.match_info["node"])
        return params, problem

    def _page_post(self, message: str, photo: str | None) -> str | None:
        if self.page_posts and self.page_posts[-1]["message"] == message:
            return None
        post_id = f"{self.page_id}_{self._new_id()}"
        self.page_posts.append({"id": post_id, "message": message, "photo": photo})
        return post_id

    def _duplicate(self) -> web.Response:
        return self.json(
            graph_error(
                "Duplicate status message",
                506,
                1455006,
                is_transient=False,
                error_user_title="Duplicate Status Update",
                error_user_msg="This status update is identical to the last one you posted.",
            ),
            status=400,
        )

    async def feed(self, request: web.Request) -> web.StreamResponse:
        params, problem = await self._page_request(request)
        if problem is not None:
            return problem
        message = params.get("message")
        if not message:
            return self.json(graph_error("(#100) Missing message or attachment", 100), status=400)
        post_id = self._page_post(message, None)
        if post_id is None:
            return self._duplicate()
        return self._answer(request, self.json({"id": post_id}))

    async def photos(self, request: web.Request) -> web.StreamResponse:
        params, problem = await self._page_request(request)
        if problem is not None:
            return problem
        url = params.get("url")
        kind = await self._fetch(url) if url else None
        if not kind or not kind.startswith("image/"):
            return self.json(graph_error("(#324) Missing or invalid image file", 324), status=400)
        post_id = self._page_post(params.get("message", ""), url)
        if post_id is None:
            return self._duplicate()
        photo_id = self._new_id()
        return self._answer(request, self.json({"id": photo_id, "post_id": post_id}))

    # ----- Instagram ---------------------------------------------------------------------

    async def _ig_request(
        self, request: web.Request
    ) -> tuple[dict[str, Any], web.StreamResponse | None]:
        fault = await self.before(request)
        if fault is not None:
            return {}, fault
        params = await self._params(request)
        problem = self._version_problem(request) or self._token_problem(
            request, params, self.ig_token
        )
        if problem is None and request.match_info["node"] != self.ig_user_id:
            problem = self._unsupported(request.method.lower(), request.match_info["node"])
        return params, problem

    async def create_container(self, request: web.Request) -> web.StreamResponse:
        params, problem = await self._ig_request(request)
        if problem is not None:
            return problem
        image_url, caption = params.get("image_url"), params.get("caption", "")
        if not image_url:
            return self.json(graph_error("The parameter image_url is required.", 100), status=400)
        if len(caption) > 2200 or len(HASHTAG.findall(caption)) > 30:
            message = "The caption is too long or has too many hashtags."
            return self.json(graph_error(message, 100, 2207064), status=400)
        kind = await self._fetch(image_url)
        if kind is None or not kind.startswith("image/jpeg"):
            return self.json(
                graph_error(
                    "Only photo or video can be accepted as media type.",
                    9004,
                    2207052,
                    is_transient=False,
                    error_user_title="Media download has failed. The media URI doesn't meet "
                    "our requirements.",
                ),
                status=400,
            )
        container = self._new_id()
        self.containers[container] = {
            "image_url": image_url,
            "caption": caption,
            "alt_text": params.get("alt_text"),
            "polls_left": self.processing_polls,
            "status": "IN_PROGRESS" if self.processing_polls else "FINISHED",
            "media_id": None,
        }
        return self._answer(request, self.json({"id": container}))

    async def media_publish(self, request: web.Request) -> web.StreamResponse:
        params, problem = await self._ig_request(request)
        if problem is not None:
            return problem
        container = self.containers.get(str(params.get("creation_id", "")))
        if container is None:
            return self._unsupported("post", str(params.get("creation_id")))
        if container["status"] == "IN_PROGRESS":
            return self.json(graph_error("Media ID is not available", 9007, 2207027), status=400)
        if container["status"] == "PUBLISHED":
            message = "The media has already been published."  # wording unverified
            return self.json(graph_error(message, 9007, 2207008), status=400)
        if self.quota_usage() >= self.publish_limit:
            message = "Application request limit reached"  # code and subcode as seen in the wild
            return self.json(graph_error(message, 9, 2207042, is_transient=False), status=400)
        media_id = self._new_id()
        container["status"], container["media_id"] = "PUBLISHED", media_id
        shortcode = secrets.token_urlsafe(8)
        self.media.append(
            {
                "id": media_id,
                "caption": container["caption"],
                "image_url": container["image_url"],
                "permalink": f"https://www.instagram.com/p/{shortcode}/",
                "alt_text": container["alt_text"],
                "at": self.now(),
            }
        )
        return self._answer(request, self.json({"id": media_id}))

    async def list_media(self, request: web.Request) -> web.StreamResponse:
        params, problem = await self._ig_request(request)
        if problem is not None:
            return problem
        limit = int(params.get("limit", 25))
        fields = str(params.get("fields") or "id").split(",")
        newest = [
            {field: value for field, value in self._media_fields(m).items() if field in fields}
            for m in reversed(self.media)
        ]
        return self.json({"data": newest[:limit]})

    @staticmethod
    def _media_fields(media: dict[str, Any]) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(media["at"], UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        return {"id": media["id"], "caption": media["caption"], "timestamp": stamp}

    def quota_usage(self) -> int:
        """Posts published within the rolling window."""
        since = self.now() - self.publish_limit_seconds
        return sum(1 for media in self.media if media["at"] > since)

    async def publishing_limit(self, request: web.Request) -> web.StreamResponse:
        params, problem = await self._ig_request(request)
        if problem is not None:
            return problem
        fields = str(params.get("fields") or "quota_usage").split(",")
        row: dict[str, Any] = {}
        if "quota_usage" in fields:
            row["quota_usage"] = self.quota_usage()
        if "config" in fields:
            row["config"] = {
                "quota_total": self.publish_limit,
                "quota_duration": self.publish_limit_seconds,
            }
        return self.json({"data": [row]})

    # ----- reading nodes -----------------------------------------------------------------

    async def node(self, request: web.Request) -> web.StreamResponse:
        fault = await self.before(request)
        if fault is not None:
            return fault
        params = await self._params(request)
        node = request.match_info["node"]
        wanted = self.page_token if node == self.page_id else self.ig_token
        problem = self._version_problem(request) or self._token_problem(request, params, wanted)
        if problem is not None:
            return problem
        if node == self.page_id:
            return self.json({"name": self.page_name, "id": node})
        if node == self.ig_user_id:
            return self.json({"username": self.ig_username, "id": node})
        if node in self.containers:
            container = self.containers[node]
            if container["status"] == "IN_PROGRESS":
                container["polls_left"] -= 1
                if container["polls_left"] < 0:
                    container["status"] = "FINISHED"
            return self.json({"status_code": container["status"], "id": node})
        for media in self.media:
            if media["id"] == node:
                return self.json({"permalink": media["permalink"], "id": node})
        return self._unsupported("get", node)

    # ----- tokens ------------------------------------------------------------------------

    async def debug_token(self, request: web.Request) -> web.StreamResponse:
        """``GET /{v}/debug_token?input_token=…``: what Graph knows of a token, asked with a
        valid one (here: the token itself). An expired or unknown ``input_token`` answers 200
        with ``is_valid: false``, as Graph does."""
        fault = await self.before(request)
        if fault is not None:
            return fault
        params = await self._params(request)
        header = request.headers.get("Authorization", "")
        asking = header.split(" ", 1)[1] if " " in header else params.get("access_token")
        problem = self._version_problem(request)
        if problem is None and asking not in (self.page_token, self.ig_token):
            problem = self._token_problem(request, params, self.page_token)
        if problem is not None:
            return problem
        token = str(params.get("input_token") or "")
        if token not in (self.page_token, self.ig_token) or self.lapsed(token):
            message = (
                "Error validating access token: Session has expired"
                if self.lapsed(token)
                else "Invalid OAuth access token - Cannot parse access token"
            )
            return self.json(
                {
                    "data": {
                        "error": {"code": 190, "message": message},
                        "is_valid": False,
                        "scopes": [],
                    }
                }
            )
        expires_at, data_access = self.token_expiry.get(token, (0, 0))
        page = token == self.page_token
        return self.json(
            {
                "data": {
                    "app_id": "138483919580948",
                    "type": "PAGE" if page else "USER",
                    "application": "Crier",
                    "data_access_expires_at": data_access,
                    "expires_at": expires_at,
                    "is_valid": True,
                    "scopes": ["pages_manage_posts"] if page else ["instagram_content_publish"],
                    "user_id": "4242",  # whose token it is (a Page token's: the Page's admin)
                }
            }
        )

    # ----- reading comments --------------------------------------------------------------

    def add_comment(
        self,
        post_id: str,
        message: str,
        *,
        author: str = "Ann Smith",
        author_id: str | None = None,
        reply_to: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """A comment on ``post_id`` (a Page post's id), or a reply to the comment ``reply_to``."""
        comment_id = f"{post_id.split('_')[-1]}_{self._new_id()}"
        moment = at_or_now(at, self.now)
        comment: dict[str, Any] = {
            "id": comment_id,
            "from": {"name": author, "id": author_id or str(10**14 + sum(map(ord, author)))},
            "message": message,
            "created_time": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "permalink_url": f"https://www.facebook.com/{post_id}?comment_id={comment_id}",
        }
        if reply_to is not None:
            parent = next(c for c in self.comments[post_id] if c["id"] == reply_to)
            comment["parent"] = {
                key: parent[key] for key in ("id", "from", "message", "created_time")
            }
        self.comments.setdefault(post_id, []).append(comment)
        return comment

    async def reply_to_comment(self, request: web.Request) -> web.StreamResponse:
        """``POST /{comment-id}/comments`` (``message``): the Page answers in that comment's
        thread, as Graph lets a Page token do."""
        fault = await self.before(request)
        if fault is not None:
            return fault
        params = await self._params(request)
        problem = self._version_problem(request) or self._token_problem(
            request, params, self.page_token
        )
        if problem is not None:
            return problem
        node = request.match_info["node"]
        found = [(post, c) for post, cs in self.comments.items() for c in cs if c["id"] == node]
        if not found:
            return self._unsupported("post", node)
        if not params.get("message"):
            return self.json(graph_error("(#100) Missing message", 100), status=400)
        post_id, _ = found[0]
        made = self.add_comment(
            post_id,
            str(params["message"]),
            author=self.page_name,
            author_id=self.page_id,
            reply_to=node,
        )
        return self._answer(request, self.json({"id": made["id"]}))

    def _usage(self) -> dict[str, str]:
        share = min(100, math.ceil(self.reads.used * 100 / max(self.reads.cap, 1)))
        usage = {"call_count": share, "total_time": 1, "total_cputime": 1}
        return {"X-App-Usage": json.dumps(usage)}

    def _throttled(self) -> web.Response:
        """Graph's answer once the app's reads are spent (code 4)."""
        minutes = max(1, math.ceil((self.reads.reset - self.now()) / 60))
        usage = {
            self.page_id: [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 5,
                    "total_time": 5,
                    "estimated_time_to_regain_access": minutes,
                }
            ]
        }
        headers = {**self._usage(), "X-Business-Use-Case-Usage": json.dumps(usage)}
        return self.json(
            graph_error(THROTTLE_MESSAGES[4], 4, is_transient=True), status=400, headers=headers
        )

    def _is_post(self, post_id: str) -> bool:
        return post_id in self.comments or any(p["id"] == post_id for p in self.page_posts)

    def _comment_page(self, post_id: str, params: dict[str, Any], version: str) -> dict[str, Any]:
        """One page of a post's comments as its ``/comments`` edge gives it."""
        rows = list(self.comments.get(post_id, []))
        if params.get("filter", "toplevel") != "stream":
            rows = [c for c in rows if "parent" not in c]
        if params.get("order") == "reverse_chronological":
            rows.reverse()
        fields = str(params.get("fields") or "id,message,created_time").split(",")
        start = int(base64.b64decode(params["after"]).decode()) if params.get("after") else 0
        limit = min(int(params.get("limit", 25)), self.page_max)
        page = [{k: v for k, v in c.items() if k in fields} for c in rows[start : start + limit]]
        body: dict[str, Any] = {"data": page}
        if page:
            cursors = {
                "before": base64.b64encode(str(start).encode()).decode(),
                "after": base64.b64encode(str(start + len(page)).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if start + limit < len(rows):
                query = {k: v for k, v in params.items() if k not in ("access_token", "after")}
                query["after"] = cursors["after"]
                path = f"/{version}/{post_id}/comments"
                body["paging"]["next"] = f"{self.base_url}{path}?{urlencode(query)}"
        return body

    async def _page_read(self, request: web.Request) -> dict[str, Any] | web.StreamResponse:
        """A read with the Page token: its parameters, or the answer that refuses it (a fault
        played, an ended version, a bad token)."""
        fault = await self.before(request)
        if fault is not None:
            return fault
        params = await self._params(request)
        problem = self._version_problem(request) or self._token_problem(
            request, params, self.page_token
        )
        return params if problem is None else problem

    async def list_comments(self, request: web.Request) -> web.StreamResponse:
        params = await self._page_read(request)
        if isinstance(params, web.StreamResponse):
            return params
        if not self.reads.take():
            return self._throttled()
        post_id = request.match_info["node"]
        if not self._is_post(post_id):
            return self._unsupported("get", post_id)
        body = self._comment_page(post_id, params, request.match_info["version"])
        return self.json(body, headers=self._usage())

    async def read_many(self, request: web.Request) -> web.StreamResponse:
        """``GET /{v}/?ids=…&fields=comments.<modifiers>{fields}``: one read for many posts."""
        params = await self._page_read(request)
        if isinstance(params, web.StreamResponse):
            return params
        ids = [i for i in str(params.get("ids") or "").split(",") if i]
        edge = EDGE.match(str(params.get("fields") or ""))
        if not ids or len(ids) > IDS_MAX or edge is None:
            message = "(#100) ids must name 1 to 50 objects, and fields a comments edge"
            return self.json(graph_error(message, 100), status=400)
        if not self.reads.take():
            return self._throttled()
        modifiers = dict(MODIFIER.findall(edge.group(1)))
        edge_params: dict[str, Any] = dict(modifiers)
        if edge.group(2):
            edge_params["fields"] = edge.group(2)
        missing = [post_id for post_id in ids if not self._is_post(post_id)]
        if missing:  # Graph refuses the whole read, naming what it could not find
            named = f"(#803) Some of the aliases you requested do not exist: {','.join(missing)}"
            message = self.missing_alias_message or named
            return self.json(graph_error(message, 803), status=404)
        body: dict[str, Any] = {}
        for post_id in dict.fromkeys(ids):
            node: dict[str, Any] = {"id": post_id}
            comments = self._comment_page(post_id, edge_params, request.match_info["version"])
            if comments["data"]:  # Graph leaves an empty edge out
                node["comments"] = comments
            body[post_id] = node
        return self.json(body, headers=self._usage())


FakeFacebook = FakeGraph
