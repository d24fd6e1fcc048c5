"""A fake LinkedIn REST API: organisation posts and the organisation lookup, versioned.

It checks what LinkedIn checks and answers in LinkedIn's shapes: a refused token is 401
``{"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN", …}``; a missing
``Linkedin-Version`` is 400 ``VERSION_MISSING`` and one older than ``min_version`` 426
``NONEXISTENT_VERSION`` ("Requested version 202401 is not active"), and so is, on the fake's
clock (``now``, unix seconds, when given), a version from 12 months ago or more, as LinkedIn
switches each off a year after its release; missing fields and a
commentary over 3000 characters are 422 with ``errorDetails.inputErrors``; the same commentary
twice is 422 ``DUPLICATE_POST`` ("Content is a duplicate of urn:li:share:…"). A new post's URN
comes back in ``x-restli-id`` with 201 and no body.

``POST /oauth/v2/introspectToken`` (form ``client_id``, ``client_secret``, ``token``) is LinkedIn's
token introspection, served on www.linkedin.com by the real thing: ``{"active": true, "status":
"active", "expires_at": …}`` for the token (``token_expires_at``, unix seconds), ``{"active":
false, "status": "expired"}`` once ``expire_token()`` was called, ``{"active": false}`` for a
token it does not know, and 401 ``invalid_client`` for the wrong client credentials. On the
fake's clock, a token past ``token_expires_at`` is expired: introspection says so and every call
with it is 401 ``EXPIRED_ACCESS_TOKEN``.

``shown(urn)`` renders a post's commentary as LinkedIn shows it: little-format escapes undone,
and the text cut at the first unescaped reserved character, as LinkedIn silently does.

    async with FakeLinkedIn(organization="2414183") as linkedin:
        publisher = LinkedInPublisher(http=http, token=..., organization_id="2414183", ...)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.networks.base import FakeNetwork

RESERVED = frozenset("\\|{}@[]()<>#*_~")
_VERBATIM = re.compile(r"https?://[^\s<>(){}\[\]|\\]*|(?<!\S)#(?=\w)")
REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")
EXPIRED = (65602, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired")


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"status": status, **extra, "message": message}, status=status)


def shown_text(commentary: str) -> str:
    """What a reader sees: escapes undone; an unescaped reserved character ends the text."""
    out: list[str] = []
    position = 0
    while position < len(commentary):
        verbatim = _VERBATIM.match(commentary, position)
        if verbatim and verbatim.end() > position:
            out.append(verbatim.group())
            position = verbatim.end()
            continue
        char = commentary[position]
        if char == "\\" and position + 1 < len(commentary):
            out.append(commentary[position + 1])
            position += 2
            continue
        if char in RESERVED:
            break  # LinkedIn drops everything from here on, without a word
        out.append(char)
        position += 1
    return "".join(out)


class FakeLinkedIn(FakeNetwork):
    name = "linkedin"

    def __init__(
        self,
        *,
        token: str = "linkedin-test-token",
        organization: str = "2414183",
        min_version: str = "202511",
        client_id: str = "linkedin-client-id",
        client_secret: str = "linkedin-client-secret",
        token_expires_at: int = 0,
        now: Callable[[], float] | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.client_id, self.client_secret = client_id, client_secret
        self.token_expires_at = token_expires_at  # what introspection says, unix seconds
        self.token = token
        self.organization = organization
        self.min_version = min_version
        self.now = now  # None: versions and tokens do not age, only min_version and expire_token
        self.posts: dict[str, dict[str, Any]] = {}  # urn -> the request body
        self.token_problem: tuple[int, str, str] | None = None
        self._next_id = 7_141_138_937_766_391_808
        self._lose_answers = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/rest/posts", self.create_post),
            web.get("/rest/organizations/{id}", self.organization_lookup),
            web.post("/oauth/v2/introspectToken", self.introspect),
        ]

    # ----- test controls ---------------------------------------------------------------------

    def expire_token(self) -> None:
        self.token_problem = EXPIRED

    def lose_answer_next(self) -> None:
        """Make the next post, then drop the connection before answering."""
        self._lose_answers += 1

    def rate_limit_next(self, *, body: Any = None, **kwargs: Any) -> None:
        body = body or {
            "status": 429,
            "serviceErrorCode": 101,
            "code": "TOO_MANY_REQUESTS",
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource "
            "is reached.",
        }
        super().rate_limit_next(body=body, **kwargs)

    def rate_limit_headers(self, reset_in: float) -> dict[str, str]:
        return {}  # LinkedIn sends no reset time: daily limits reset at midnight UTC

    def token_lapsed(self) -> bool:
        if self.token_problem:
            return True
        ends = self.token_expires_at
        return self.now is not None and bool(ends) and ends <= self.now()

    def version_sunset(self, version: str) -> bool:
        """Older than ``min_version``, or (on the fake's clock) 12 months old or more."""
        if version[:6] < self.min_version:
            return True
        if self.now is None:
            return False
        today = datetime.fromtimestamp(self.now(), UTC)
        return int(version[:4]) * 12 + int(version[4:6]) + 12 <= today.year * 12 + today.month

    def shown(self, urn: str) -> str:
        return shown_text(self.posts[urn]["commentary"])

    # ----- checks shared by every route ------------------------------------------------------

    def _refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(
                401, "Invalid access token", serviceErrorCode=65600, code="INVALID_ACCESS_TOKEN"
            )
        if self.token_lapsed():
            service_code, code, message = self.token_problem or EXPIRED
            return _error(401, message, serviceErrorCode=service_code, code=code)
        version = request.headers.get("Linkedin-Version")
        if not version:
            return _error(
                400,
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
                code="VERSION_MISSING",
            )
        if not re.fullmatch(r"\d{6}(\.\d{2})?", version) or self.version_sunset(version):
            return _error(
                426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION"
            )
        if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return _error(400, "Rest.li protocol 2.0.0 is required", code="ILLEGAL_ARGUMENT")
        return None

    # ----- routes ----------------------------------------------------------------------------

    async def create_post(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        received = await self.read(request)
        if refused := self._refused(request):
            return refused
        body: dict[str, Any] = received.body if isinstance(received.body, dict) else {}
        missing = [field for field in REQUIRED if field not in body]
        if missing:
            lines = "".join(
                f"ERROR :: /{field} :: field is required but not found and has no default value\n"
                for field in missing
            )
            return _error(422, lines)
        if body["author"] != f"urn:li:organization:{self.organization}":
            return _error(
                403,
                "Not enough permissions to access: partnerApiPostsExternal.CREATE.20251101",
                serviceErrorCode=100,
                code="ACCESS_DENIED",
            )
        commentary = str(body["commentary"])
        if len(commentary) > 3000:  # the field as sent, escapes included (unverified)
            return self._input_error(
                "/commentary", "FIELD_LENGTH_TOO_LONG", "Commentary is longer than 3000"
            )
        if body["lifecycleState"] != "PUBLISHED" or body["visibility"] not in (
            "PUBLIC",
            "CONNECTIONS",
            "LOGGED_IN",
        ):
            return self._input_error("/visibility", "INVALID_VALUE", "Invalid visibility")
        for urn, earlier in self.posts.items():
            if earlier["commentary"] == commentary:
                return web.json_response(
                    {
                        "errorDetailType": "com.linkedin.common.error.BadRequest",
                        "message": "com.linkedin.content.common.exception."
                        f"BadRequestResponseException: Content is a duplicate of {urn}",
                        "errorDetails": {
                            "inputErrors": [
                                {
                                    "description": "Duplicate post is detected",
                                    "input": {},
                                    "code": "DUPLICATE_POST",
                                }
                            ]
                        },
                        "status": 422,
                    },
                    status=422,
                )
        self._next_id += 1
        urn = f"urn:li:share:{self._next_id}"
        self.posts[urn] = body
        if self._lose_answers:
            self._lose_answers -= 1
            assert request.transport is not None
            request.transport.close()
        return web.Response(status=201, headers={"x-restli-id": urn, "x-linkedin-id": urn})

    @staticmethod
    def _input_error(path: str, code: str, description: str) -> web.Response:
        return web.json_response(
            {
                "errorDetailType": "com.linkedin.common.error.BadRequest",
                "message": f"ERROR :: {path} :: {description}",
                "errorDetails": {
                    "inputErrors": [
                        {
                            "description": description,
                            "input": {"inputPath": {"fieldPath": path}},
                            "code": code,
                        }
                    ]
                },
                "status": 422,
            },
            status=422,
        )

    async def organization_lookup(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        await self.read(request)
        if refused := self._refused(request):
            return refused
        if request.match_info["id"] != self.organization:
            return _error(404, "Not Found", code="NOT_FOUND")
        return self.json(
            {
                "id": int(self.organization),
                "localizedName": "Northfield University IT Services",
                "vanityName": "northfield-it",
            }
        )

    async def introspect(self, request: web.Request) -> web.StreamResponse:
        if fault := await self.before(request):
            return fault
        received = await self.read(request)
        form: dict[str, Any] = received.body if isinstance(received.body, dict) else {}
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status=401,
            )
        if form.get("token") != self.token:
            return self.json({"active": False})
        if self.token_lapsed():
            return self.json({"active": False, "status": "expired"})
        return self.json(
            {
                "active": True,
                "client_id": self.client_id,
                "authorized_at": self.token_expires_at - 60 * 24 * 3600,
                "created_at": self.token_expires_at - 60 * 24 * 3600,
                "status": "active",
                "expires_at": self.token_expires_at,
                "scope": "w_organization_social,r_organization_social",
                "auth_type": "3L",
            }
        )
