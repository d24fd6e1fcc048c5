"""``api/v2/summary.json`` and ``api/v2/incidents.json`` in the shape of Atlassian Statuspage's
public API v2, so that widgets and tools that read a Statuspage page read Crier's site.

    summary.json:   {page, components, incidents (unresolved), scheduled_maintenances, status}
    incidents.json: {page, incidents (the 50 most recent)}

Ids are Crier's own (a service's slug, an incident's number, an update's delivery id) as
strings; every URL is absolute, from the site's URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.config import Organisation, Severity
from bot.site.maintenance import PublicMaintenance
from bot.site.public import PublicIncident, PublicService, PublicSite, ServiceState, slugify

MAX_INCIDENTS = 50  # as Statuspage's incidents.json

COMPONENT_STATUS_OF_SEVERITY: dict[str, str] = {
    Severity.SEV1: "major_outage",
    Severity.SEV2: "partial_outage",
    Severity.SEV3: "degraded_performance",
}
IMPACT_OF_SEVERITY: dict[str, str] = {
    Severity.SEV1: "critical",
    Severity.SEV2: "major",
    Severity.SEV3: "minor",
}
IMPACT_ORDER = ("none", "minor", "major", "critical")
# Statuspage's own words for its page-wide indicator.
INDICATOR_DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}


def _time(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatuspageShapes:
    """The JSON documents of one build of the site."""

    def __init__(
        self, site: PublicSite, *, organisation: Organisation, site_url: str, modified: datetime
    ) -> None:
        self._site, self._url, self._modified = site, site_url, modified
        self._page_id = slugify(organisation.name)
        self._page = {
            "id": self._page_id,
            "name": organisation.name,
            "url": site_url,
            "time_zone": organisation.time_zone,
            "updated_at": _time(modified),
        }

    def summary(self) -> bytes:
        unresolved = self._site.open_incidents
        impact = max((self._impact(i) for i in unresolved), key=IMPACT_ORDER.index, default="none")
        return _encode(
            {
                "page": self._page,
                "components": [self._component(s) for s in self._site.services],
                "incidents": [self._incident(i) for i in unresolved],
                "scheduled_maintenances": [self._maintenance(m) for m in self._site.planned],
                "status": {"indicator": impact, "description": INDICATOR_DESCRIPTIONS[impact]},
            }
        )

    def incidents(self) -> bytes:
        recent = self._site.incidents[:MAX_INCIDENTS]
        return _encode({"page": self._page, "incidents": [self._incident(i) for i in recent]})

    def _component(self, service: PublicService) -> dict[str, Any]:
        changed = max(
            (i.changed_at for i in self._site.incidents_of(service.slug)), default=self._modified
        )
        return {
            "id": service.slug,
            "name": service.name,
            "status": self._component_status(service),
            "created_at": _time(changed),
            "updated_at": _time(changed),
            "position": service.position,
            "description": service.description,
            "showcase": True,
            "start_date": None,
            "group_id": None,
            "page_id": self._page_id,
            "group": False,
            "only_show_if_degraded": False,
        }

    @staticmethod
    def _component_status(service: PublicService) -> str:
        if service.state == ServiceState.MAINTENANCE:
            return "under_maintenance"
        if service.worst_severity is None:
            return "operational"
        return COMPONENT_STATUS_OF_SEVERITY.get(service.worst_severity, "degraded_performance")

    @staticmethod
    def _impact(incident: PublicIncident) -> str:
        return IMPACT_OF_SEVERITY.get(incident.severity, "minor")

    def _incident(self, incident: PublicIncident) -> dict[str, Any]:
        service = self._site.service(incident.service_slug)
        return {
            "id": str(incident.id),
            "name": incident.title,
            "status": incident.status,
            "created_at": _time(incident.started_at),
            "updated_at": _time(incident.updated_at),
            "monitoring_at": _time(incident.first_at("monitoring")),
            "resolved_at": _time(incident.resolved_at),
            "impact": self._impact(incident),
            "shortlink": f"{self._url}incidents/{incident.id}/",
            "started_at": _time(incident.started_at),
            "page_id": self._page_id,
            "incident_updates": list(self._updates(incident)),
            "components": [self._component(service)],
        }

    def _maintenance(self, maintenance: PublicMaintenance) -> dict[str, Any]:
        """As Statuspage's scheduled maintenances: its status, its window, its updates."""
        return {
            "id": f"maintenance-{maintenance.id}",
            "name": maintenance.name,
            "status": maintenance.phase.value,
            "created_at": _time(maintenance.updates[0].published_at),
            "updated_at": _time(maintenance.changed_at),
            "monitoring_at": None,
            "resolved_at": None,
            "impact": "maintenance",
            "shortlink": f"{self._url}maintenance/{maintenance.id}/",
            "started_at": _time(maintenance.starts_at),
            "scheduled_for": _time(maintenance.starts_at),
            "scheduled_until": _time(maintenance.ends_at),
            "page_id": self._page_id,
            "incident_updates": [
                {
                    "id": str(update.id),
                    "status": maintenance.phase.value,
                    "body": update.text,
                    "incident_id": f"maintenance-{maintenance.id}",
                    "created_at": _time(update.published_at),
                    "updated_at": _time(update.published_at),
                    "display_at": _time(update.published_at),
                }
                for update in maintenance.newest_first
            ],
            "components": [
                self._component(s) for s in self._site.services if s.name in maintenance.services
            ],
        }

    def _updates(self, incident: PublicIncident) -> Iterable[dict[str, Any]]:
        for update in incident.newest_first:  # Statuspage lists the newest first
            yield {
                "id": str(update.id),
                "status": update.status,
                "body": update.text,
                "incident_id": str(incident.id),
                "created_at": _time(update.published_at),
                "updated_at": _time(update.published_at),
                "display_at": _time(update.published_at),
                "affected_components": None,
                "deliver_notifications": True,
            }


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode()
