"""The site's HTML pages and stylesheet, from the Jinja templates in ``bot/site/templates``.

Every text in a page is escaped (autoescape): an approved text holding ``<script>`` or
``<!channel>`` shows as those characters. Pages link to each other relatively (``../../``) so
that the same files work under ``crier serve``'s prefix and exported to any web server; a page
keyed ``incidents/12`` is reached as ``incidents/12/``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.config import Organisation
from bot.drafting.post_times import format_time
from bot.incidents import labels
from bot.site.colours import WHITE, readable_on, text_on
from bot.site.maintenance import MaintenancePhase, PublicMaintenance
from bot.site.public import PublicIncident, PublicService, PublicSite, ServiceState

STATE_LABELS: dict[str, str] = {
    ServiceState.OPERATIONAL: "Operational",
    ServiceState.DEGRADED: "Degraded performance",
    ServiceState.OUTAGE: "Outage",
    ServiceState.MAINTENANCE: "Under maintenance",
}
# A sign beside each state's words, so that the state never rests on colour alone.
STATE_SIGNS: dict[str, str] = {
    ServiceState.OPERATIONAL: "✓",
    ServiceState.DEGRADED: "!",
    ServiceState.OUTAGE: "✕",
    ServiceState.MAINTENANCE: "⚙",
}
# Badge backgrounds for each state; their text colour is computed, so each reads at AA.
STATE_COLOURS: dict[str, str] = {
    ServiceState.OPERATIONAL: "#1e7b34",
    ServiceState.DEGRADED: "#a35200",
    ServiceState.OUTAGE: "#b3261e",
    ServiceState.MAINTENANCE: "#3d5a80",
}
PAGE_BACKGROUND = WHITE
PHASE_LABELS: dict[str, str] = {
    MaintenancePhase.SCHEDULED: "Scheduled",
    MaintenancePhase.IN_PROGRESS: "In progress",
    MaintenancePhase.COMPLETED: "Completed",
    MaintenancePhase.CANCELLED: "Cancelled",
}


@functools.cache
def environment() -> Environment:
    """The site's one Jinja environment, built on first use and shared (templates compile once)."""
    env = Environment(
        loader=PackageLoader("bot.site", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["status_label"] = labels.status
    env.filters["state_label"] = lambda state: STATE_LABELS.get(state, str(state).capitalize())
    env.filters["state_sign"] = lambda state: STATE_SIGNS.get(state, "•")
    env.filters["phase_label"] = lambda phase: PHASE_LABELS.get(phase, str(phase))
    return env


@dataclass(frozen=True)
class Times:
    """How a page writes a time: in the organisation's zone for people, ISO 8601 for machines."""

    zone: ZoneInfo

    def local(self, at: datetime) -> str:
        """ "Thu 15 Jan, 2:52 PM EST"."""
        return f"{at.astimezone(self.zone):%a %d %b}, {format_time(at, self.zone)}"

    @staticmethod
    def iso(at: datetime) -> str:
        return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class PageContext:
    """What every page's layout needs."""

    organisation: Organisation
    logo_url: str | None
    subscribe: bool = False  # the footer links the email form (crier serve; not an export)

    def render(
        self, template: str, *, root: str, service_feed: str | None = None, **data: object
    ) -> str:
        return (
            environment()
            .get_template(template)
            .render(
                organisation=self.organisation,
                logo_url=self.logo_url,
                subscribe=self.subscribe,
                root=root,
                service_feed=service_feed,
                times=Times(self.organisation.zone),
                **data,
            )
        )


HOME_ROOT = "./"
NESTED_ROOT = "../../"  # from incidents/<id>/ and services/<slug>/


def render_home(page: PageContext, site: PublicSite, *, now: datetime) -> str:
    return page.render(
        "home.html",
        root=HOME_ROOT,
        services=site.services,
        open_incidents=site.open_incidents,
        planned=site.planned,
        recent=site.recent(now),
    )


def render_maintenance(page: PageContext, maintenance: PublicMaintenance) -> str:
    return page.render("maintenance.html", root=NESTED_ROOT, maintenance=maintenance)


def render_incident(page: PageContext, incident: PublicIncident) -> str:
    return page.render(
        "incident.html",
        root=NESTED_ROOT,
        incident=incident,
        service_feed=f"{NESTED_ROOT}services/{incident.service_slug}/feed.atom",
    )


def render_service(
    page: PageContext, service: PublicService, incidents: tuple[PublicIncident, ...]
) -> str:
    return page.render(
        "service.html",
        root=NESTED_ROOT,
        service=service,
        incidents=incidents,
        service_feed=f"{NESTED_ROOT}services/{service.slug}/feed.atom",
    )


def render_subscribe(
    page: PageContext,
    services: list[tuple[str, str]],
    *,
    problem: str | None = None,
    address: str = "",
    chosen: tuple[str, ...] = (),
) -> str:
    """The email form at ``subscribe/``: ``services`` as (slug, name), in catalog order."""
    return page.render(
        "subscribe.html",
        root="../",
        services=services,
        problem=problem,
        address=address,
        chosen=chosen,
    )


def render_message(
    page: PageContext,
    *,
    root: str,
    title: str,
    text: str,
    button: str | None = None,
    token: str | None = None,
) -> str:
    """A page of one message; with ``button``, a form posting ``token`` back to the page."""
    action = "./" if button else None
    return page.render(
        "message.html",
        root=root,
        title=title,
        text=text,
        action=action,
        button=button,
        token=token,
    )


def render_stylesheet(organisation: Organisation) -> str:
    primary, accent = organisation.primary_colour, organisation.accent_colour
    return (
        environment()
        .get_template("site.css")
        .render(
            page_background=PAGE_BACKGROUND,
            primary=primary,
            on_primary=text_on(primary),
            accent=accent,
            on_accent=text_on(accent),
            link=readable_on(primary, PAGE_BACKGROUND),
            states={state: (bg, text_on(bg)) for state, bg in STATE_COLOURS.items()},
        )
    )
