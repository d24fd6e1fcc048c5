"""How the core's states are worded for people: every chat, the sandbox and the status card
read them here, each adding only its own markup.

    labels.status("monitoring")  # "Monitoring"
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import Network
from bot.storage.models import DeliveryState, PostKind
from bot.views import NETWORK_LABELS, IncidentView, PostView

KINDS: dict[PostKind, str] = {
    PostKind.INITIAL: "First public post",
    PostKind.UPDATE: "Update",
    PostKind.RESOLUTION: "All-clear",
}
DELIVERIES: dict[DeliveryState, str] = {
    DeliveryState.QUEUED: "⏳ queued",
    DeliveryState.SENDING: "📤 sending",
    DeliveryState.RETRYING: "🔁 retrying",
    DeliveryState.SENT: "✅ sent",
    DeliveryState.FAILED: "❌ failed",
    DeliveryState.UNKNOWN: "❓ unknown",
}
SEVERITY_MARKS: dict[str, str] = {"sev1": "🔴", "sev2": "🟠", "sev3": "🟡"}
CLOSED_QUIETLY = (  # a resolve that closed the incident without drafting an all-clear
    "Incident #{id} is closed. Nothing about it was ever published, so there is no all-clear "
    "to post."
)


def status(value: str) -> str:
    return value.capitalize()  # every status reads as its name: "Monitoring"


# Each falls back on the stored value: a row older than its enum still reads.
def kind(value: str) -> str:
    return KINDS[PostKind(value)] if value in KINDS else value.capitalize()


def network(value: str) -> str:
    """A channel as people call it ("Status page", not "statuspage")."""
    return NETWORK_LABELS[Network(value)] if value in set(Network) else value


def delivery(state: str) -> str:
    return DELIVERIES[DeliveryState(state)] if state in DELIVERIES else state


def severity_mark(severity: str) -> str:
    return SEVERITY_MARKS.get(severity, "⚪")


RESOLVED_MARK = "✅"


def incident_mark(incident: IncidentView) -> str:
    """The mark before an incident's title: its severity's colour while open, ✅ once resolved
    (a closed incident is no longer urgent, whatever its severity was)."""
    return severity_mark(incident.severity) if incident.is_open else RESOLVED_MARK


def channels(networks: Iterable[str]) -> str:
    """Channels as people call them: "X, Facebook, Status page"."""
    return ", ".join(network(n) for n in networks)


def outcome(post: PostView, *, retry_hint: str) -> str:
    """What came of a published post, ``retry_hint`` saying where this chat's *Retry* is:

    "Post 2 is out on X, Mastodon. Needs attention: Facebook (failed). <retry_hint>"
    """
    sent = [d.label for d in post.deliveries if d.state == DeliveryState.SENT]
    problems = [f"{d.label} ({d.state})" for d in post.deliveries if d.state != DeliveryState.SENT]
    text = f"Post {post.number} is out on {', '.join(sent) or 'no channel'}."
    if problems:
        text += f" Needs attention: {', '.join(problems)}. {retry_hint}"
    return text
