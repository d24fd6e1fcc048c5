"""What ``POST /api/messages`` checks before the Bot Framework SDK sees a request.

The SDK's ``CloudAdapter.process`` parses the body before it authenticates and answers what it
cannot read with a 500. Crier reads the request itself, in this order, and refuses with a status and
a one-line reason (the endpoint logs it, rate-limited; never the body or a header's value):

1. With a MicrosoftAppId, before the body is read: one ``Authorization`` header that can be a Bot
   Framework token for this bot — ``Bearer`` and a JWT signed RS256 with a key id, issued by the
   Bot Framework (or, for the Emulator, by Entra), for this app id, not expired. Else 401.
2. ``Content-Type: application/json`` (UTF-8), else 415; at most ``MAX_ACTIVITY`` bytes, else 413.
3. UTF-8 JSON holding an activity: an object whose fields have the types of the SDK's own schema,
   with a ``type``, an http(s) ``serviceUrl``, a conversation id, a sender and a recipient; no
   deeper than ``MAX_DEPTH``, no lone surrogates. Else 400.
4. With a MicrosoftAppId: the SDK's own check of the token, signature and all, on a thread (the SDK
   fetches the signing keys with a blocking HTTP client, which must not stop the event loop).
   Else 401; 503 when the keys cannot be fetched.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard, TypeVar
from urllib.parse import urlsplit

import botbuilder.schema
from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    EmulatorValidation,
)
from msrest.serialization import Model
from multidict import CIMultiDictProxy

T = TypeVar("T")

MAX_ACTIVITY = 256 * 1024  # bytes; a Teams activity is a few kB, a card's submission far less
MAX_DEPTH = 32  # nesting of objects and lists in an activity
MAX_TOKEN = 8 * 1024  # characters of a token
CLOCK_LEEWAY = 5 * 60  # seconds, as the SDK allows
CHECK_WITHIN = 15.0  # seconds for the SDK's token check (fetching the keys included)
CHECKS_AT_ONCE = 4  # threads checking tokens; one whose fetch hangs keeps its slot

CHANNEL_ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
EMULATOR_ISSUERS = frozenset(
    EmulatorValidation.TO_BOT_FROM_EMULATOR_TOKEN_VALIDATION_PARAMETERS.issuer
)
_JWT = re.compile(r"[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[!-~]{1,1024}")


class Refused(Exception):
    """The request is answered ``status`` with ``reason`` (one line, nothing the caller sent)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


NOT_A_TOKEN = "the Authorization header is not a Bot Framework token"  # noqa: S105


# --- 1. the token's shape ------------------------------------------------------------------------


def bearer(headers: CIMultiDictProxy[str], app_id: str, now: float) -> str:
    """The ``Authorization`` header if it can be a Bot Framework token for ``app_id``; else
    ``Refused(401)``. Only the SDK can tell whether it is one (its signature)."""
    values = headers.getall(hdrs.AUTHORIZATION, [])
    if not values:
        raise Refused(401, "a Bot Framework token is required (no Authorization header)")
    if len(values) > 1:
        raise Refused(401, "more than one Authorization header")
    header = values[0]
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or len(token) > MAX_TOKEN or not _JWT.fullmatch(token):
        raise Refused(401, NOT_A_TOKEN)
    head, claims = (_segment(part) for part in token.split(".")[:2])
    if head is None or claims is None:
        raise Refused(401, NOT_A_TOKEN)
    key_id = head.get("kid")
    if head.get("alg") != "RS256" or not isinstance(key_id, str) or not key_id:
        raise Refused(401, "the token is not signed as the Bot Framework signs its tokens")
    issuer = claims.get("iss")
    if issuer == CHANNEL_ISSUER:
        ours = claims.get("aud") == app_id
    elif isinstance(issuer, str) and issuer in EMULATOR_ISSUERS:
        ours = app_id in (claims.get("appid"), claims.get("azp"))
    else:
        raise Refused(401, "the token is not from the Bot Framework")
    if not ours:
        raise Refused(401, "the token is for another bot")
    expires = claims.get("exp")
    if not _number(expires) or expires + CLOCK_LEEWAY < now:
        raise Refused(401, "the token has expired")
    return header


def _segment(part: str) -> dict[str, Any] | None:
    """A JWT's header or claims, unverified."""
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _number(value: object) -> TypeGuard[int | float]:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


# --- 2. the body ---------------------------------------------------------------------------------


async def read_body(request: web.Request) -> bytes:
    """The body, if it is JSON by its type and not too big."""
    types = request.headers.getall(hdrs.CONTENT_TYPE, [])
    charset = (request.charset or "utf-8").lower()
    if len(types) != 1 or request.content_type != "application/json" or charset != "utf-8":
        raise Refused(415, "an activity is sent as Content-Type: application/json (UTF-8)")
    too_big = Refused(413, f"an activity is at most {MAX_ACTIVITY // 1024} KiB")
    if request.content_length is not None and request.content_length > MAX_ACTIVITY:
        raise too_big
    try:  # aiohttp stops reading past the limit (a chunked body has no Content-Length)
        return await request.clone(client_max_size=MAX_ACTIVITY).read()
    except web.HTTPRequestEntityTooLarge:
        raise too_big from None
    except (web.RequestPayloadError, HttpProcessingError):  # a Content-Encoding it lacks
        raise Refused(400, "the body could not be read (its Content-Encoding?)") from None


# --- 3. the activity -----------------------------------------------------------------------------


def parse_activity(body: bytes) -> Activity:
    """The activity in ``body``, or ``Refused(400)`` saying what is wrong with it."""
    try:
        value = json.loads(
            body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite_float
        )
    except RecursionError:
        raise Refused(400, f"the activity nests deeper than {MAX_DEPTH}") from None
    except ValueError:  # not UTF-8, not JSON, a number too big
        raise Refused(400, "the body is not UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, "the body is not an activity (a JSON object)")
    _check_nesting(value)
    problem = _required(value) or _typed(value, Activity, "")
    if problem:
        raise Refused(400, f"the body is not an activity: {problem}")
    try:
        return Activity().deserialize(value)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
        raise Refused(400, "the body is not an activity the Bot Framework can read") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _check_nesting(value: object) -> None:
    """No deeper than ``MAX_DEPTH``, and no string that is not Unicode text (a lone surrogate)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise Refused(400, "the activity holds a string that is not Unicode text")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise Refused(400, f"the activity nests deeper than {MAX_DEPTH}")
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)


def _required(value: dict[str, Any]) -> str | None:
    kind = value.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        return "no type"
    service_url = value.get("serviceUrl")
    if not isinstance(service_url, str) or not _web_address(service_url):
        return "no http(s) serviceUrl"
    conversation = value.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else None
    # It goes into a URL and a header of the replies: printable ASCII, no spaces.
    if not isinstance(conversation_id, str) or not _IDENTIFIER.fullmatch(conversation_id):
        return "no conversation id"
    for name in ("from", "recipient"):
        if not isinstance(value.get(name), dict):
            return f"no {name}"
    return None


def _web_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https"} and bool(parts.hostname) and len(url) <= 2048
    except ValueError:
        return False


def _typed(value: Mapping[str, Any], model: type[Model], where: str) -> str | None:
    """The first field whose JSON type is not the one the SDK's schema gives it."""
    return _first(
        _typed_value(value[spec["key"]], spec["type"], f"{where}{spec['key']}")
        for spec in model._attribute_map.values()
        if value.get(spec["key"]) is not None
    )


def _typed_value(value: object, kind: str, where: str) -> str | None:
    if kind.startswith("["):
        if not isinstance(value, list):
            return f"{where} is not a list"
        return _first(_typed_value(v, kind[1:-1], f"{where}[{i}]") for i, v in enumerate(value))
    if kind.startswith("{"):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        return _first(_typed_value(v, kind[1:-1], f"{where}.{k}") for k, v in value.items())
    if kind in _SIMPLE:
        expected, name = _SIMPLE[kind]
        ok = isinstance(value, expected) and not (kind == "int" and isinstance(value, bool))
        return None if ok else f"{where} is not {name}"
    model = getattr(botbuilder.schema, kind, None)
    if isinstance(model, type) and issubclass(model, Model):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        return _typed(value, model, f"{where}.")
    return None  # "object": anything


def _first(problems: Iterable[str | None]) -> str | None:
    return next(filter(None, problems), None)


_SIMPLE: dict[str, tuple[type, str]] = {
    "str": (str, "a string"),
    "iso-8601": (str, "a date"),
    "int": (int, "a whole number"),
    "bool": (bool, "true or false"),
}


# --- 4. the SDK's check of the token -------------------------------------------------------------


@dataclass
class TokenCheck:
    """The SDK's ``authenticate_request``, run to completion on a thread of its own.

    The SDK fetches the Bot Framework's signing keys with ``requests`` (blocking, no timeout):
    on the event loop, a slow fetch would stop every request Crier serves. At most
    ``CHECKS_AT_ONCE`` run at a time; a check that hangs keeps its slot until it ends.
    """

    authentication: BotFrameworkAuthentication
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CHECKS_AT_ONCE))

    async def __call__(self, activity: Activity, header: str) -> AuthenticateRequestResult:
        def check() -> AuthenticateRequestResult:
            return asyncio.run(self.authentication.authenticate_request(activity, header))

        try:
            async with asyncio.timeout(CHECK_WITHIN):
                await self._slots.acquire()
                return await _on_a_thread(check, finished=self._slots.release)
        except TimeoutError:  # (an OSError)
            raise Refused(503, "the Bot Framework's signing keys did not arrive in time") from None
        except PermissionError:  # (an OSError too) the SDK's "not authorized"
            raise Refused(401, "the token did not pass the Bot Framework's check") from None
        except OSError:  # requests' errors are OSErrors: the keys could not be fetched
            raise Refused(503, "could not fetch the Bot Framework's signing keys") from None
        except Exception:  # the SDK tripping over a token it cannot read
            raise Refused(401, "the token did not pass the Bot Framework's check") from None


async def _on_a_thread(work: Callable[[], T], *, finished: Callable[[], None]) -> T:
    """``work()`` on a daemon thread (one that hangs never holds up the process's exit);
    ``finished`` runs on the loop when it ends, even if nobody waits for it any more."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: Exception | None) -> None:
        finished()
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = work(), None
        except Exception as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="crier-teams-token", daemon=True).start()
    return await done
