"""The words of `/outage help`, the usage hint, and `/outage list`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.views import IncidentView
from handlers.slack.messages import SEVERITY_MARK, STATUS_LABEL
from handlers.slack.text import escape

HELP = """*Crier — outage communications*
• `/outage` — declare an outage with a form (service, severity, what users see, channels…)
• `/outage Blackboard: students cannot log in` — draft the first public post at once, \
with the service's usual channels
• `/outage list` — the open incidents
• `/outage calendar` — propose a post for the content calendar (an approver approves it)
• `/outage help` — this message
Drafts appear in the incident's thread. An approver clicks *Approve & publish*; \
use *Post update* and *Resolve* on the incident's message for what follows."""

USAGE = (
    "I didn't catch that. Try `/outage` for the form, "
    "`/outage Blackboard: students cannot log in` to draft at once, `/outage list`, "
    "`/outage calendar` or `/outage help`."
)


def incident_list(incidents: list[IncidentView], *, zone: ZoneInfo) -> str:
    if not incidents:
        return "No open incidents. :white_check_mark:"
    lines = ["*Open incidents*"]
    for incident in incidents:
        since = incident.declared_at.astimezone(zone).strftime("%-I:%M %p %Z")
        status = STATUS_LABEL.get(incident.status, incident.status)  # type: ignore[call-overload]
        lines.append(
            f"{SEVERITY_MARK.get(incident.severity, '⚪')} #{incident.id} "
            f"*{escape(incident.service)}*: {escape(incident.summary)} — {status}, "
            f"since {since}"
        )
    return "\n".join(lines)
