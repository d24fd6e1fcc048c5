"""Atlassian Statuspage: one Statuspage incident per Crier incident, opened by the first post and
updated by every later one, with the service's component set by severity.

Auth is ``Authorization: OAuth <STATUSPAGE_API_KEY>``; the page id is
``channels.statuspage.account`` and ``base_url`` defaults to ``https://api.statuspage.io``.

    GET   /v1/pages/{page}/components?page=1&per_page=100  component ids by name (cached)
    GET   /v1/pages/{page}/incidents/unresolved           before opening an incident
    POST  /v1/pages/{page}/incidents                      the first post
    GET   /v1/pages/{page}/incidents/{id}                 before updating it
    PATCH /v1/pages/{page}/incidents/{id}                 every later post
    GET   /v1/pages/{page}                                ``crier channels check``

Exactly once, without an idempotency key (Statuspage has none): Crier looks before it writes, which
is why ``idempotent`` is True. The incident is opened with ``metadata: {"crier": {"incident_id":
…, "instance": CRIER_PUBLIC_URL}}``. Before opening one, Crier lists the unresolved incidents; one
carrying this incident's tag (or, untagged, the same name and this very text) is used instead: left
alone when it already shows the text (a create whose answer was lost), updated otherwise. Before an
update, Crier reads the incident and skips the PATCH when an update with this very text is already
there. Texts carry their publish time, so two different posts never share a body. The one gap: an
incident resolved by hand on Statuspage between a lost answer and the retry is no longer listed as
unresolved, so the retry opens a second one.

Components: ``services[].component`` is matched by name (case-insensitive, groups excluded); a
name Statuspage does not know is logged and the post goes out without a component. Its status
follows ``channels.statuspage.component_status`` per severity (defaults below), and is
``operational`` once resolved.
Statuspage allows one request a second per key, measured over a rolling minute (``FACTS``): every
request waits for its turn in a ``Pacer`` (60 in any 60 s); one that would wait longer than a few
seconds fails as rate limited with the time it may go, so the delivery worker holds Statuspage's
posts until then. A 420 or 429 holds the pacer until ``Retry-After``, or for the whole window when
there is none.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from bot.config import ChannelConfig, ConfigError, Network
from bot.ports import ChannelCheck, Clock, Published, PublishError, PublishRequest, SystemClock
from bot.publishing import PublisherContext
from bot.publishing.facts import ApiFacts
from bot.publishing.http import Answer, HttpClient, message_of, refusal, retry_after
from bot.publishing.pacing import Pacer, Sleep, key_fingerprint
from bot.storage.store import Store

log = logging.getLogger(__name__)

NAME = "Statuspage"
FACTS = ApiFacts(
    network=Network.STATUSPAGE,
    checked="2026-12-02",
    api="REST v1: POST /v1/pages/{page}/incidents, then PATCH …/incidents/{id}; "
    "Authorization: OAuth <key>; the key's user needs the incident-manager role",
    limits="incident name 255 characters, body 25,000; incident status investigating, identified, "
    "monitoring or resolved; component status operational, degraded_performance, "
    "partial_outage or major_outage",
    idempotency="none: Crier looks before it writes (its tag in the incident's metadata)",
    rate_limits="1 request a second per key over a rolling 60 s; 420 or 429 when exceeded",
)
REQUESTS_PER_WINDOW = 60  # 1 a second …
RATE_WINDOW = timedelta(seconds=60)  # … measured over a rolling minute
DEFAULT_BASE_URL = "https://api.statuspage.io"
NAME_MAX = 255
INCIDENT_STATUSES = frozenset({"investigating", "identified", "monitoring", "resolved"})
COMPONENT_STATUSES = frozenset(
    {"operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"}
)
DEFAULT_COMPONENT_STATUS = {
    "sev1": "major_outage",
    "sev2": "partial_outage",
    "sev3": "degraded_performance",
}
COMPONENTS_FRESH_SECONDS = 300.0
COMPONENTS_RETRY_SECONDS = 30.0


def component_statuses(channel: ChannelConfig) -> dict[str, str]:
    """The defaults overlaid with ``crier.yml``; an unknown status is a configuration error."""
    statuses = dict(DEFAULT_COMPONENT_STATUS)
    for severity, status in channel.component_status.items():
        if status not in COMPONENT_STATUSES:
            raise ConfigError(
                f"channels.statuspage.component_status.{severity}: {status!r} is not a "
                f"Statuspage component status ({', '.join(sorted(COMPONENT_STATUSES))})"
            )
        statuses[severity] = status
    return statuses


class StatuspagePublisher:
    network = Network.STATUSPAGE
    idempotent = True  # see the module docstring: Crier looks before it writes

    def __init__(
        self,
        *,
        http: HttpClient,
        api_key: str,
        page_id: str,
        base_url: str = DEFAULT_BASE_URL,
        component_status: dict[str, str] | None = None,
        instance: str = "",
        store: Store | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.label = f"Status page (Statuspage page {page_id})"
        self._http = http
        self._headers = {"Authorization": f"OAuth {api_key}", "Accept": "application/json"}
        self._page_id = page_id
        base = base_url.rstrip("/").removesuffix("/v1")
        self._page_url = f"{base}/v1/pages/{quote(page_id, safe='')}"
        self._component_status = component_status or dict(DEFAULT_COMPONENT_STATUS)
        self._instance = instance
        self._clock = clock or SystemClock()
        # Statuspage counts each key's requests, whichever process makes them: with a database,
        # every process's requests share one pace (a row per key).
        self._pacer = Pacer(
            limit=REQUESTS_PER_WINDOW,
            window=RATE_WINDOW,
            clock=self._clock,
            sleep=sleep,
            name=NAME,
            store=store,
            key=key_fingerprint(api_key),
        )
        self._components: dict[str, str] = {}
        self._components_at = float("-inf")
        self._components_lock = asyncio.Lock()
        # One publish at a time per Crier incident, so two quick posts cannot both open one.
        self._incident_locks = weakref.WeakValueDictionary[int, asyncio.Lock]()

    async def publish(self, request: PublishRequest) -> Published:
        if request.status not in INCIDENT_STATUSES:
            raise PublishError(f"{NAME} has no incident status {request.status!r}", transient=False)
        lock = self._incident_locks.setdefault(request.incident_id, asyncio.Lock())
        async with lock:
            fields: dict[str, Any] = {
                "status": request.status,
                "body": request.text,
                **await self._component_fields(request),
            }
            # An "outbox-…" id is a dry-run post from before the key was set: nothing to update.
            if request.reply_to and not request.reply_to.startswith("outbox-"):
                incident = await self._update(request.reply_to, fields, request.text)
            else:
                incident = await self._open(request, fields)
        return _published(incident)

    async def check(self) -> ChannelCheck:
        try:
            answer = await self._send("GET", "")
        except PublishError as exc:
            return ChannelCheck(self.network, "unreachable", exc.message)
        said = message_of(answer.body) or f"HTTP {answer.status}"
        if answer.ok and isinstance(answer.body, dict):
            name = answer.body.get("name") or self._page_id
            state, detail = "ready", f"page “{name}” ({self._page_id})"
        elif answer.status in (401, 403):
            state = "expired"
            detail = f"{NAME} refused STATUSPAGE_API_KEY ({answer.status}): {said}"
        elif answer.status == 404:
            state = "error"
            detail = f"{NAME} has no page {self._page_id!r}: check channels.statuspage.account"
        else:
            state, detail = "unreachable", f"{NAME} answered {answer.status}: {said}"
        return ChannelCheck(self.network, state, detail)

    # --- incidents -----------------------------------------------------------------------------

    async def _open(self, request: PublishRequest, fields: dict[str, Any]) -> dict[str, Any]:
        title = _name(request.title)
        existing = await self._existing(request.incident_id, title, request.text)
        if existing is not None:
            if _shows(existing, request.text):
                return existing
            return await self._write("PATCH", f"/incidents/{quote(existing['id'])}", fields)
        tag = {"incident_id": str(request.incident_id), "instance": self._instance}
        incident = {"name": title, **fields, "metadata": {"crier": tag}}
        return await self._write("POST", "/incidents", incident)

    async def _existing(self, incident_id: int, title: str, text: str) -> dict[str, Any] | None:
        """This Crier incident's unresolved Statuspage incident, if one is open already."""
        answer = await self._send(
            "GET", "/incidents/unresolved", params={"page": 1, "per_page": 100}
        )
        if not answer.ok:
            raise self._refused(answer, doing="list the unresolved incidents")
        listed = _rows(answer.body)
        for incident in listed:
            tag = (incident.get("metadata") or {}).get("crier") or {}
            if tag.get("incident_id") == str(incident_id) and tag.get("instance") == self._instance:
                return incident
        for incident in listed:
            if incident.get("name") == title and _shows(incident, text):
                return incident
        return None

    async def _update(
        self, statuspage_id: str, fields: dict[str, Any], text: str
    ) -> dict[str, Any]:
        path = f"/incidents/{quote(statuspage_id, safe='')}"
        answer = await self._send("GET", path)
        if not answer.ok:
            raise self._refused(answer, doing=f"read incident {statuspage_id}")
        if isinstance(answer.body, dict) and _shows(answer.body, text):
            return answer.body  # a PATCH whose answer was lost: the update is already there
        return await self._write("PATCH", path, fields)

    async def _write(self, method: str, path: str, incident: dict[str, Any]) -> dict[str, Any]:
        answer = await self._send(method, path, json={"incident": incident})
        if not answer.ok:
            doing = "open the incident" if method == "POST" else "update the incident"
            raise self._refused(answer, doing=doing)
        if not isinstance(answer.body, dict) or not answer.body.get("id"):
            # It may exist: a retry finds it by its tag rather than opening another.
            raise PublishError(
                f"{NAME} answered {answer.status} without an incident", transient=True
            )
        return answer.body

    # --- components ----------------------------------------------------------------------------

    async def _component_fields(self, request: PublishRequest) -> dict[str, Any]:
        if not request.component:
            return {}
        component_id = await self._component_id(request.component)
        if component_id is None:
            log.warning(
                "%s page %s has no component named %r: publishing without a component "
                "(add it on Statuspage, or correct services[].component in crier.yml)",
                NAME,
                self._page_id,
                request.component,
            )
            return {}
        severity = request.extra.get("severity", "")
        by_severity = self._component_status.get(severity, "partial_outage")
        state = "operational" if request.status == "resolved" else by_severity
        return {"component_ids": [component_id], "components": {component_id: state}}

    async def _component_id(self, name: str) -> str | None:
        wanted = name.strip().casefold()
        async with self._components_lock:
            age = time.monotonic() - self._components_at
            # A name not found is looked up again, but not on every post.
            missing = wanted not in self._components and age > COMPONENTS_RETRY_SECONDS
            if age > COMPONENTS_FRESH_SECONDS or missing:
                self._components = await self._load_components()
                self._components_at = time.monotonic()
        return self._components.get(wanted)

    async def _load_components(self) -> dict[str, str]:
        found: dict[str, str] = {}
        # Paginated on purpose: Statuspage allows one unpaginated components call a minute.
        for page in range(1, 11):
            answer = await self._send("GET", "/components", params={"page": page, "per_page": 100})
            if not answer.ok:
                raise self._refused(answer, doing="list the page's components")
            rows = _rows(answer.body)
            for row in rows:
                if not row.get("group") and row.get("name"):
                    found.setdefault(str(row["name"]).strip().casefold(), str(row["id"]))
            if len(rows) < 100:
                break
        return found

    # --- the wire ------------------------------------------------------------------------------

    async def _send(self, method: str, path: str, **kwargs: Any) -> Answer:
        await self._pacer.wait()
        answer = await self._http.send(
            method, self._page_url + path, network=NAME, headers=self._headers, **kwargs
        )
        if answer.status in (420, 429):
            # Nothing more until Statuspage's time, or until the window has passed.
            now = self._clock.now()
            await self._pacer.hold_until(retry_after(answer.headers, now=now) or now + RATE_WINDOW)
        return answer

    def _refused(self, answer: Answer, *, doing: str) -> PublishError:
        said = message_of(answer.body) or f"HTTP {answer.status}"
        if answer.status == 401:
            return PublishError(
                f"{NAME} refused the API key (401): {said}. Check STATUSPAGE_API_KEY.",
                transient=False,
            )
        if answer.status == 403:
            return PublishError(
                f"{NAME} does not let this API key {doing} on page {self._page_id} (403): {said}",
                transient=False,
            )
        if answer.status == 404:
            return PublishError(
                f"{NAME} could not {doing}: not found (404): {said}. Check "
                "channels.statuspage.account, or whether the incident was deleted on Statuspage.",
                transient=False,
            )
        if answer.status in (420, 429):
            now = self._clock.now()
            when = retry_after(answer.headers, now=now) or now + RATE_WINDOW
            return PublishError(
                f"{NAME} is rate limiting: {said}", transient=True, retry_at=when, rate_limited=True
            )
        return refusal(answer, network=NAME, message=said)


def _name(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= NAME_MAX else title[: NAME_MAX - 1].rstrip() + "…"


def _rows(body: Any) -> list[dict[str, Any]]:
    return [row for row in body if isinstance(row, dict)] if isinstance(body, list) else []


def _shows(incident: dict[str, Any], text: str) -> bool:
    updates = incident.get("incident_updates") or []
    return any(isinstance(u, dict) and u.get("body") == text for u in updates)


def _published(incident: dict[str, Any]) -> Published:
    link = incident.get("shortlink")
    return Published(external_id=str(incident["id"]), url=link if isinstance(link, str) else None)


def build(context: PublisherContext) -> StatuspagePublisher | None:
    key = context.credentials.statuspage_api_key
    page_id = context.setting(key, "account", what="the page id")
    if key is None or page_id is None:
        return None
    return StatuspagePublisher(
        http=context.http,
        api_key=key.get_secret_value(),
        page_id=page_id,
        base_url=context.channel.base_url or DEFAULT_BASE_URL,
        component_status=component_statuses(context.channel),
        instance=context.settings.public_url,
        store=context.store,
        clock=context.clock,
    )
