"""A fake Atlassian Statuspage REST API (``/v1/pages/{page_id}/…``) on 127.0.0.1, port 0.

It checks what the real API checks: ``Authorization: OAuth <key>`` (401 otherwise), the page id
(404), the incident's name (required, 255 at most) and body (25000 at most), statuses and component
ids (422), and it limits unpaginated component lists to one a minute (429, ``Retry-After: 60``).
Every key may make ``rate_limit`` requests (60) in any ``rate_window`` seconds (60), measured on
the fake's clock (``now``, unix seconds); past that it answers ``throttle_status`` (420, Statuspage
also uses 429) without a ``Retry-After``, so the client must know the window itself.
Answers have the real shapes: incidents with ``incident_updates`` newest first, ``shortlink``,
``metadata`` and ``components``. Error bodies are ``{"error": …}`` (the exact wording is ours).

``lose_next_answer()`` makes the next write take effect and then never answer, which is how a
retried create could open a second incident on the real service.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.networks.base import FakeNetwork, Received

INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved"}
COMPONENT_STATUSES = {
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
}
DEFAULT_COMPONENTS = {
    "Learning platform": "lp0000000001",
    "Email and calendar": "em0000000002",
    "Campus Wi-Fi": "wf0000000003",
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeStatuspage(FakeNetwork):
    name = "statuspage"

    def __init__(
        self,
        *,
        api_key: str = "sp-test-key",
        page_id: str = "kctbh9vrtdwd",
        page_name: str = "Northfield IT Status",
        components: dict[str, str] | None = None,
        rate_limit: int = 60,
        rate_window: float = 60.0,
        throttle_status: int = 420,
        now: Callable[[], float] = time.time,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.throttle_status = throttle_status
        self.now = now
        self.requests_at: dict[str, list[float]] = {}  # key -> when each request came
        self.throttled = 0
        self.api_key = api_key
        self.page_id = page_id
        self.page_name = page_name
        self.components: dict[str, dict[str, Any]] = {}
        for name, component_id in (components or DEFAULT_COMPONENTS).items():
            self.add_component(name, component_id)
        self.incidents: dict[str, dict[str, Any]] = {}
        self.faults_on_reads = True  # False: injected faults wait for the next write
        self._lose_next_answer = False
        self._unpaginated_component_calls = 0
        self._ids = itertools.count(1)

    def add_component(self, name: str, component_id: str, *, group: bool = False) -> None:
        self.components[component_id] = {
            "id": component_id,
            "page_id": self.page_id,
            "group_id": None,
            "group": group,
            "name": name,
            "description": None,
            "position": len(self.components) + 1,
            "status": "operational",
            "showcase": True,
            "only_show_if_degraded": False,
            "created_at": _now(),
            "updated_at": _now(),
        }

    def lose_next_answer(self) -> None:
        self._lose_next_answer = True

    @property
    def writes(self) -> list[str]:
        """``POST`` / ``PATCH`` requests received, in order (``"POST /incidents"``)."""
        prefix = f"/v1/pages/{self.page_id}"
        return [
            f"{r.method} {r.path.removeprefix(prefix)}"
            for r in self.received
            if r.method in ("POST", "PATCH", "PUT", "DELETE")
        ]

    def routes(self) -> list[web.RouteDef]:
        base = "/v1/pages/{page_id}"
        return [
            web.get(base, self.get_page),
            web.get(base + "/components", self.list_components),
            web.get(base + "/incidents/unresolved", self.list_unresolved),
            web.get(base + "/incidents/{incident_id}", self.get_incident),
            web.post(base + "/incidents", self.create_incident),
            web.patch(base + "/incidents/{incident_id}", self.update_incident),
        ]

    # --- checks shared by every route ---------------------------------------------------------

    async def _enter(self, request: web.Request, *, write: bool) -> web.StreamResponse | Received:
        """The request as received, or the answer that refuses it (fault, auth, page)."""
        if write or self.faults_on_reads:
            fault = await self.before(request)
            if fault is not None:
                return fault
        received = await self.read(request)
        if throttled := self._over_rate(request):
            return throttled
        if request.headers.get("Authorization") != f"OAuth {self.api_key}":
            return self.json({"error": "Could not authenticate"}, status=401)
        if request.match_info["page_id"] != self.page_id:
            return self.json({"error": "Page not found"}, status=404)
        return received

    def _over_rate(self, request: web.Request) -> web.Response | None:
        now = self.now()
        stamps = self.requests_at.setdefault(request.headers.get("Authorization", ""), [])
        stamps.append(now)
        if sum(1 for at in stamps if at > now - self.rate_window) <= self.rate_limit:
            return None
        self.throttled += 1
        return self.json({"error": "Rate limit exceeded"}, status=self.throttle_status)

    async def _answer(self, body: Any, *, status: int = 200) -> web.StreamResponse:
        if self._lose_next_answer:
            self._lose_next_answer = False
            hang: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._hangs.append(hang)
            await hang
        return self.json(body, status=status)

    @staticmethod
    def _invalid(*messages: str) -> web.Response:
        return web.json_response({"error": list(messages)}, status=422)

    # --- routes --------------------------------------------------------------------------------

    async def get_page(self, request: web.Request) -> web.StreamResponse:
        entered = await self._enter(request, write=False)
        if isinstance(entered, web.StreamResponse):
            return entered
        return self.json(
            {
                "id": self.page_id,
                "name": self.page_name,
                "subdomain": "northfield",
                "url": "https://it.northfield.example.edu",
                "time_zone": "America/New_York",
                "created_at": _now(),
                "updated_at": _now(),
            }
        )

    async def list_components(self, request: web.Request) -> web.StreamResponse:
        entered = await self._enter(request, write=False)
        if isinstance(entered, web.StreamResponse):
            return entered
        rows = list(self.components.values())
        if "page" not in request.query:
            self._unpaginated_component_calls += 1
            if self._unpaginated_component_calls > 1:
                return self.json(
                    {"error": "Rate limit exceeded"}, status=429, headers={"Retry-After": "60"}
                )
            return self.json(rows)
        page, per_page = int(request.query["page"]), int(request.query.get("per_page", 100))
        return self.json(rows[(page - 1) * per_page : page * per_page])

    async def list_unresolved(self, request: web.Request) -> web.StreamResponse:
        entered = await self._enter(request, write=False)
        if isinstance(entered, web.StreamResponse):
            return entered
        open_ = [i for i in self.incidents.values() if i["status"] != "resolved"]
        open_.sort(key=lambda i: i["created_at"], reverse=True)
        return self.json(open_)

    async def get_incident(self, request: web.Request) -> web.StreamResponse:
        entered = await self._enter(request, write=False)
        if isinstance(entered, web.StreamResponse):
            return entered
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return self.json({"error": "Incident not found"}, status=404)
        return self.json(incident)

    async def create_incident(self, request: web.Request) -> web.StreamResponse:
        entered = await self._enter(request, write=True)
        if isinstance(entered, web.StreamResponse):
            return entered
        fields = entered.body.get("incident") if isinstance(entered.body, dict) else None
        if not isinstance(fields, dict):
            return self.json({"error": "incident is missing"}, status=400)
        problems = self._problems(fields, creating=True)
        if problems:
            return self._invalid(*problems)
        incident_id = f"inc{next(self._ids):09d}"
        now = _now()
        incident: dict[str, Any] = {
            "id": incident_id,
            "page_id": self.page_id,
            "name": fields["name"],
            "status": fields.get("status", "investigating"),
            "impact": "none",
            "created_at": now,
            "updated_at": now,
            "monitoring_at": None,
            "resolved_at": None,
            "shortlink": f"https://stspg.io/{incident_id[-5:]}",
            "metadata": fields.get("metadata") or {},
            "components": [],
            "incident_updates": [],
        }
        self.incidents[incident_id] = incident
        self._apply(incident, fields)
        return await self._answer(incident, status=201)

    async def update_incident(self, request: web.Request) -> web.StreamResponse:
        entered = await self._enter(request, write=True)
        if isinstance(entered, web.StreamResponse):
            return entered
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return self.json({"error": "Incident not found"}, status=404)
        fields = entered.body.get("incident") if isinstance(entered.body, dict) else None
        if not isinstance(fields, dict):
            return self.json({"error": "incident is missing"}, status=400)
        problems = self._problems(fields, creating=False)
        if problems:
            return self._invalid(*problems)
        if "name" in fields:
            incident["name"] = fields["name"]
        if "metadata" in fields:
            incident["metadata"] = fields["metadata"]
        self._apply(incident, fields)
        return await self._answer(incident)

    # --- the model -----------------------------------------------------------------------------

    def _problems(self, fields: dict[str, Any], *, creating: bool) -> list[str]:
        problems: list[str] = []
        name = fields.get("name")
        if creating and not name:
            problems.append("Name can't be blank")
        if isinstance(name, str) and len(name) > 255:
            problems.append("Name is too long (maximum is 255 characters)")
        body = fields.get("body")
        if isinstance(body, str) and len(body) > 25000:
            problems.append("Body is too long (maximum is 25000 characters)")
        if "status" in fields and fields["status"] not in INCIDENT_STATUSES:
            problems.append(f"Status {fields['status']!r} is not a valid incident status")
        metadata = fields.get("metadata")
        if metadata is not None and not all(isinstance(v, dict) for v in metadata.values()):
            problems.append("Metadata top-level values must be objects")
        for component_id in fields.get("component_ids") or []:
            if component_id not in self.components:
                problems.append(f"Component {component_id} does not exist")
        for component_id, status in (fields.get("components") or {}).items():
            if component_id not in self.components:
                problems.append(f"Component {component_id} does not exist")
            elif status not in COMPONENT_STATUSES:
                problems.append(f"Component status {status!r} is not valid")
        return problems

    def _apply(self, incident: dict[str, Any], fields: dict[str, Any]) -> None:
        now = _now()
        status = fields.get("status", incident["status"])
        incident["status"] = status
        incident["updated_at"] = now
        if status == "monitoring" and not incident["monitoring_at"]:
            incident["monitoring_at"] = now
        if status == "resolved":
            incident["resolved_at"] = now
        affected = []
        for component_id, component_status in (fields.get("components") or {}).items():
            component = self.components[component_id]
            affected.append(
                {
                    "code": component_id,
                    "name": component["name"],
                    "old_status": component["status"],
                    "new_status": component_status,
                }
            )
            component["status"] = component_status
            component["updated_at"] = now
        ids = set(fields.get("component_ids") or []) | set(fields.get("components") or {})
        known = {c["id"] for c in incident["components"]}
        incident["components"] = [
            *(self.components[c] for c in known),
            *(self.components[c] for c in ids - known),
        ]
        if "body" in fields or "status" in fields:
            update = {
                "id": f"upd{next(self._ids):09d}",
                "incident_id": incident["id"],
                "status": status,
                "body": fields.get("body", ""),
                "created_at": now,
                "updated_at": now,
                "display_at": now,
                "affected_components": affected or None,
                "deliver_notifications": fields.get("deliver_notifications", True),
                "tweet_id": None,
                "custom_tweet": None,
            }
            incident["incident_updates"].insert(0, update)
