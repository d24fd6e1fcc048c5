"""The words of `/outage help`, the usage hint, and `/outage list`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.drafting.post_times import format_time
from bot.incidents import labels
from bot.views import IncidentView
from handlers.slack.text import escape

HELP = """*Crier — outage communications*
• `/outage` — declare an outage with a form (service, severity, what users see, channels…)
• `/outage Blackboard: students cannot log in` — draft the first public post at once, \
with the service's usual channels
• `/outage list` — the open incidents
• `/outage calendar` — the content calendar's next two weeks (waiting for approval, \
scheduled, held), with their buttons; `/outage calendar add` proposes a post (an approver \
approves it)
• `/outage maintenance` — plan a maintenance window: its announcement, reminder, start and \
completion are drafted for you, approved once, and each goes out at its time
• `/outage follow Blackboard, Wi-Fi` — this channel gets each status-site post about those \
services (`/outage follow all`: every service); `/outage following` says what it follows, \
`/outage unfollow` stops it
• `/outage help` — this message
Drafts appear in the incident's thread. An approver clicks *Approve & publish*; \
use *Post update* and *Resolve* on the incident's message for what follows."""

USAGE = (
    "I didn't catch that. Try `/outage` for the form, "
    "`/outage Blackboard: students cannot log in` to draft at once, `/outage list`, "
    "`/outage calendar`, `/outage maintenance`, `/outage follow Blackboard, Wi-Fi`, "
    "`/outage following`, `/outage unfollow` or `/outage help`."
)


def incident_list(incidents: list[IncidentView], *, zone: ZoneInfo) -> str:
    if not incidents:
        return "No open incidents. :white_check_mark:"
    lines = ["*Open incidents*"]
    for incident in incidents:
        lines.append(
            f"{labels.severity_mark(incident.severity)} #{incident.id} "
            f"*{escape(incident.service)}*: {escape(incident.summary)} — "
            f"{labels.status(incident.status)}, since {format_time(incident.declared_at, zone)}"
        )
    return "\n".join(lines)
