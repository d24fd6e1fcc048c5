"""The status site shows exactly what was published to it: pages, feeds and JSON from the sent
``site`` deliveries, escaped, deterministic, and rebuilt only when the marker moves."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from sqlmodel import Session

from bot.config import CrierConfig
from bot.site import SITE_CHANNEL
from bot.site.build import SiteBuild, build_site, site_marker
from bot.site.colours import AA_TEXT, contrast, readable_on, text_on
from bot.site.public import slugify
from bot.site.render import render_stylesheet
from bot.storage.models import (
    Delivery,
    DeliveryState,
    Incident,
    IncidentStatus,
    Post,
    PostKind,
    PostState,
    Rendition,
)
from bot.storage.store import Store
from tests.conftest import ANALYST, APPROVER

NOW = datetime(2026, 1, 15, 19, 52, tzinfo=UTC)  # Thu 15 Jan, 2:52 PM EST
SITE_URL = "https://status.northfield.example.edu/status/"
ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = "<script>alert(1)</script> <!channel>"
PAGES = ("", "incidents/", "services/")


def declare(
    session: Session, *, service: str = "Blackboard", severity: str = "sev1", at: datetime = NOW
) -> Incident:
    incident = Incident(
        service=service,
        summary="cannot log in",
        severity=severity,
        status=IncidentStatus.INVESTIGATING,
        declared_by=ANALYST,
        declared_at=at,
        updated_at=at,
    )
    session.add(incident)
    session.flush()
    return incident


def post(
    session: Session,
    incident: Incident,
    *,
    number: int,
    text: str,
    status: str = IncidentStatus.INVESTIGATING,
    kind: str = PostKind.INITIAL,
    state: str = PostState.APPROVED,
    summary: str = "cannot log in",
    at: datetime = NOW,
) -> Post:
    """A post of ``incident`` with its site rendition (and nothing published yet)."""
    row = Post(
        incident_id=incident.id or 0,
        number=number,
        kind=kind,
        state=state,
        status=status,
        facts={"summary": summary, "what_we_are_doing": "INTERNAL: restarting db-7"},
        requested_by=ANALYST,
        requested_at=at,
        decided_by=APPROVER if state == PostState.APPROVED else None,
        decided_at=at if state == PostState.APPROVED else None,
    )
    session.add(row)
    session.flush()
    session.add(Rendition(post_id=row.id or 0, channel=SITE_CHANNEL, text=text + " · {time}"))
    return row


def deliver(
    session: Session,
    row: Post,
    *,
    text: str,
    at: datetime = NOW,
    channel: str = SITE_CHANNEL,
    state: str = DeliveryState.SENT,
) -> Delivery:
    delivery = Delivery(
        post_id=row.id,
        incident_id=row.incident_id,
        channel=channel,
        state=state,
        idempotency_key=f"{row.id}:{channel}",
        text=text if state == DeliveryState.SENT else None,
        created_at=at,
        sent_at=at if state == DeliveryState.SENT else None,
    )
    session.add(delivery)
    session.flush()
    return delivery


def publish(
    session: Session, incident: Incident, *, number: int, text: str, **post_args: Any
) -> Post:
    row = post(session, incident, number=number, text=text, **post_args)
    deliver(session, row, text=text, at=post_args.get("at", NOW))
    return row


def build(store: Store, config: CrierConfig, *, now: datetime = NOW) -> SiteBuild:
    with store.transaction() as session:
        return build_site(session, config=config, now=now, site_url=SITE_URL)


def page(site: SiteBuild, key: str) -> str:
    return site.files[key].body.decode()


def feed_entries(site: SiteBuild, key: str) -> list[ET.Element]:
    return ET.fromstring(site.files[key].body).findall(f"{ATOM}entry")


def summary_json(site: SiteBuild) -> dict[str, Any]:
    return json.loads(site.files["api/v2/summary.json"].body)


def incidents_json(site: SiteBuild) -> dict[str, Any]:
    return json.loads(site.files["api/v2/incidents.json"].body)


def component(site: SiteBuild, slug: str) -> dict[str, Any]:
    return next(c for c in summary_json(site)["components"] if c["id"] == slug)


def test_an_incident_not_published_to_the_site_is_nowhere(
    store: Store, config: CrierConfig
) -> None:
    with store.transaction() as session:
        pending = declare(session)
        post(session, pending, number=1, text="Blackboard is down", state=PostState.PENDING)
        elsewhere = declare(session, service="Email")
        approved = post(session, elsewhere, number=1, text="Email is down")
        deliver(session, approved, text="Email is down", channel="x")
        deliver(session, approved, text="", state=DeliveryState.QUEUED)
    site = build(store, config)

    assert not [key for key in site.files if key.startswith("incidents/")]
    everything = b"".join(f.body for f in site.files.values()).decode()
    assert "Blackboard is down" not in everything and "Email is down" not in everything
    assert "cannot log in" not in everything
    assert "All services are operating normally" in page(site, "")
    assert "No incidents in the last 90 days" in page(site, "")
    assert feed_entries(site, "feed.atom") == []
    assert summary_json(site)["incidents"] == [] and incidents_json(site)["incidents"] == []
    assert component(site, "blackboard")["status"] == "operational"
    assert summary_json(site)["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }
    assert site.modified == NOW  # nothing public yet: the build time


def test_a_published_incident_is_on_every_page_feed_and_json(
    store: Store, config: CrierConfig
) -> None:
    text = "Blackboard: people cannot log in. We are on it. · 2:52 PM EST"
    with store.transaction() as session:
        incident = declare(session)
        publish(session, incident, number=1, text=text)
        incident_id = incident.id
    site = build(store, config)

    home = page(site, "")
    assert f'href="./incidents/{incident_id}/"' in home
    assert 'href="./services/blackboard/"' in home and 'href="./services/wi-fi/"' in home
    assert text in home and "1 incident is in progress." in home
    assert '<time datetime="2026-01-15T19:52:00Z">Thu 15 Jan, 2:52 PM EST</time>' in home
    incident_page = page(site, f"incidents/{incident_id}")
    assert "<h1>Blackboard: cannot log in</h1>" in incident_page and text in incident_page
    assert "INTERNAL" not in incident_page and APPROVER not in incident_page
    service_page = page(site, "services/blackboard")
    assert f'href="../../incidents/{incident_id}/"' in service_page
    assert "Outage" in service_page  # the state in words, not only a colour
    for feed in ("feed.atom", "services/blackboard/feed.atom"):
        [entry] = feed_entries(site, feed)
        assert entry.findtext(f"{ATOM}content") == text
    assert feed_entries(site, "services/wi-fi/feed.atom") == []

    summary = summary_json(site)
    [open_incident] = summary["incidents"]
    assert open_incident["id"] == str(incident_id) and open_incident["impact"] == "critical"
    assert open_incident["incident_updates"][0]["body"] == text
    assert open_incident["shortlink"] == f"{SITE_URL}incidents/{incident_id}/"
    assert component(site, "blackboard")["status"] == "major_outage"
    assert component(site, "wi-fi")["status"] == "operational"
    assert summary["status"]["indicator"] == "critical"
    assert [i["id"] for i in incidents_json(site)["incidents"]] == [str(incident_id)]
    assert site.modified == NOW


def test_a_resolved_incident_leaves_the_open_list_but_stays_in_history(
    store: Store, config: CrierConfig
) -> None:
    later = NOW + timedelta(hours=1)
    with store.transaction() as session:
        incident = declare(session, service="Wi-Fi", severity="sev2")
        publish(session, incident, number=1, text="Wi-Fi is slow in the library.")
        publish(
            session,
            incident,
            number=2,
            text="Wi-Fi is back to normal.",
            kind=PostKind.RESOLUTION,
            status=IncidentStatus.RESOLVED,
            at=later,
        )
        incident_id = incident.id
    site = build(store, config, now=later)

    home = page(site, "")
    assert "All services are operating normally" in home
    assert "Open incidents" not in home
    assert f'href="./incidents/{incident_id}/"' in home  # in the last 90 days
    assert "Resolved" in home
    incident_page = page(site, f"incidents/{incident_id}")
    assert incident_page.index("Wi-Fi is back to normal.") < incident_page.index("slow")
    assert f'href="../../incidents/{incident_id}/"' in page(site, "services/wi-fi")
    assert component(site, "wi-fi")["status"] == "operational"
    assert summary_json(site)["incidents"] == []
    [listed] = incidents_json(site)["incidents"]
    assert listed["status"] == "resolved" and listed["resolved_at"] == "2026-01-15T20:52:00.000Z"
    assert [u["status"] for u in listed["incident_updates"]] == ["resolved", "investigating"]
    assert len(feed_entries(site, "services/wi-fi/feed.atom")) == 2

    long_after = build(store, config, now=later + timedelta(days=91))
    assert "No incidents in the last 90 days" in page(long_after, "")
    assert f"incidents/{incident_id}" in long_after.files  # its page stays


def test_a_sev2_incident_degrades_its_service(store: Store, config: CrierConfig) -> None:
    with store.transaction() as session:
        publish(session, declare(session, service="Wi-Fi", severity="sev2"), number=1, text="Slow")
    site = build(store, config)
    assert "Degraded performance" in page(site, "services/wi-fi")
    assert component(site, "wi-fi")["status"] == "partial_outage"
    assert summary_json(site)["status"]["indicator"] == "major"


def test_a_new_severity_shows_with_its_post_not_before(store: Store, config: CrierConfig) -> None:
    with store.transaction() as session:
        incident = declare(session, service="Wi-Fi", severity="sev1")
        first = publish(session, incident, number=1, text="Wi-Fi is down")
        first.facts = {**first.facts, "severity": "sev1"}
        # An update lowering it to sev2 is approved: the incident takes the new severity at
        # once, but its post to the site is still on its way.
        update = post(session, incident, number=2, text="Partly back", kind=PostKind.UPDATE)
        update.facts = {**update.facts, "severity": "sev2"}
        incident.severity = "sev2"
        on_its_way = deliver(session, update, text="Partly back", state=DeliveryState.QUEUED)
    assert component(build(store, config), "wi-fi")["status"] == "major_outage"
    with store.transaction() as session:
        sent = session.get_one(Delivery, on_its_way.id)
        sent.state, sent.text, sent.sent_at = DeliveryState.SENT, "Partly back", NOW
    assert component(build(store, config), "wi-fi")["status"] == "partial_outage"


def test_incident_text_is_escaped_everywhere(store: Store, config: CrierConfig) -> None:
    with store.transaction() as session:
        incident = declare(session)
        publish(session, incident, number=1, text=HOSTILE, summary=HOSTILE)
        incident_id = incident.id
    site = build(store, config)

    for key in ("", f"incidents/{incident_id}", "services/blackboard"):
        html = page(site, key)
        assert "<script" not in html and "<!channel>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt;" in html
    [entry] = feed_entries(site, "feed.atom")
    assert entry.findtext(f"{ATOM}content") == HOSTILE  # text, as XML carries it
    assert summary_json(site)["incidents"][0]["incident_updates"][0]["body"] == HOSTILE


def test_the_atom_feeds_carry_what_rfc_4287_requires(store: Store, config: CrierConfig) -> None:
    with store.transaction() as session:
        incident = declare(session)
        publish(session, incident, number=1, text="Down.\x0b Looking.")  # \x0b: not XML
        publish(
            session,
            incident,
            number=2,
            text="Fixed.",
            kind=PostKind.RESOLUTION,
            status=IncidentStatus.RESOLVED,
            at=NOW + timedelta(minutes=30),
        )
        incident_id = incident.id
    site = build(store, config)
    rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

    for key, self_url, page_url in [
        ("feed.atom", f"{SITE_URL}feed.atom", SITE_URL),
        (
            "services/blackboard/feed.atom",
            f"{SITE_URL}services/blackboard/feed.atom",
            f"{SITE_URL}services/blackboard/",
        ),
    ]:
        assert site.files[key].content_type == "application/atom+xml"
        feed = ET.fromstring(site.files[key].body)
        assert feed.tag == f"{ATOM}feed"
        assert feed.findtext(f"{ATOM}id") == self_url
        assert feed.findtext(f"{ATOM}title")
        assert feed.findtext(f"{ATOM}updated") == "2026-01-15T20:22:00Z"
        assert feed.findtext(f"{ATOM}author/{ATOM}name") == config.organisation.name
        links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
        assert links == {"self": self_url, "alternate": page_url}
        entries = feed.findall(f"{ATOM}entry")
        assert [e.findtext(f"{ATOM}content") for e in entries] == ["Fixed.", "Down. Looking."]
        assert len({e.findtext(f"{ATOM}id") for e in entries}) == 2
        for entry in entries:
            assert (entry.findtext(f"{ATOM}id") or "").startswith("urn:uuid:")
            assert entry.findtext(f"{ATOM}title", "").startswith("Blackboard: cannot log in")
            for when in ("updated", "published"):
                assert rfc3339.match(entry.findtext(f"{ATOM}{when}") or "")
            content = entry.find(f"{ATOM}content")
            assert content is not None and content.get("type") == "text"
            [link] = entry.findall(f"{ATOM}link")
            assert link.get("rel") == "alternate"
            assert link.get("href") == f"{SITE_URL}incidents/{incident_id}/"
    # A later build names each update with the same id: readers never see one twice.
    assert feed_entries(build(store, config), "feed.atom")[0].findtext(f"{ATOM}id") == (
        feed_entries(site, "feed.atom")[0].findtext(f"{ATOM}id")
    )


def test_the_json_has_statuspage_shape(store: Store, config: CrierConfig) -> None:
    with store.transaction() as session:
        publish(session, declare(session), number=1, text="Down.")
    site = build(store, config)
    summary, incidents = summary_json(site), incidents_json(site)

    assert site.files["api/v2/summary.json"].content_type == "application/json"
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(incidents) == {"page", "incidents"}
    assert set(summary["page"]) == {"id", "name", "url", "time_zone", "updated_at"}
    assert summary["page"]["url"] == SITE_URL
    assert summary["page"]["time_zone"] == "America/New_York"
    assert [c["name"] for c in summary["components"]] == [s.name for s in config.services]
    assert {
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "group",
        "group_id",
        "only_show_if_degraded",
        "page_id",
        "showcase",
        "start_date",
    } <= set(summary["components"][0])
    [incident] = summary["incidents"]
    assert {
        "id",
        "name",
        "status",
        "impact",
        "created_at",
        "updated_at",
        "monitoring_at",
        "resolved_at",
        "shortlink",
        "started_at",
        "page_id",
        "incident_updates",
        "components",
    } <= set(incident)
    assert {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at"} <= set(
        incident["incident_updates"][0]
    )
    assert set(summary["status"]) == {"indicator", "description"}


def test_pages_are_accessible_script_free_and_relatively_linked(
    store: Store, config: CrierConfig
) -> None:
    with store.transaction() as session:
        incident = declare(session)
        publish(session, incident, number=1, text="Down.")
        incident_id = incident.id
    with store.transaction() as session:
        site = build_site(
            session, config=config, now=NOW, site_url=SITE_URL, logo_url="https://x.test/l.png"
        )

    for key in ("", f"incidents/{incident_id}", "services/blackboard"):
        html = page(site, key)
        assert site.files[key].content_type == "text/html; charset=utf-8"
        assert html.startswith("<!doctype html>") and '<html lang="en">' in html
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert "<script" not in html
        assert html.count("<h1") == 1
        for landmark in ("<header", "<main", "<footer"):
            assert landmark in html
        assert '<a class="skip-link" href="#main">' in html and 'id="main"' in html
        assert "Northfield University IT Services" in html
        assert '<img class="logo" src="https://x.test/l.png" alt=""' in html
        assert "https://" + "status.northfield" not in html  # links are relative
        root = "./" if key == "" else "../../"
        assert (
            f'<link rel="alternate" type="application/atom+xml" '
            f'title="Northfield IT: all incidents" href="{root}feed.atom">'
        ) in html
    assert 'href="../../services/blackboard/feed.atom"' in page(site, "services/blackboard")
    assert 'href="../../services/blackboard/feed.atom"' in page(site, f"incidents/{incident_id}")


def test_the_stylesheet_uses_the_organisation_colours_readably(config: CrierConfig) -> None:
    css = render_stylesheet(config.organisation)
    assert config.organisation.primary_colour in css and config.organisation.accent_colour in css
    for brand in ("#1f3a5f", "#f2b705", "#ffff00", "#777777", "#000000"):
        assert contrast(text_on(brand), brand) >= AA_TEXT
        assert contrast(readable_on(brand, "#ffffff"), "#ffffff") >= AA_TEXT
    assert readable_on("#1f3a5f", "#ffffff") == "#1f3a5f"  # already readable: unchanged


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Wi-Fi", "wi-fi"), ("Student Portal", "student-portal"), ("Café Wi Fi!", "cafe-wi-fi")],
)
def test_service_slugs(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_the_marker_moves_with_a_site_delivery_only(store: Store, config: CrierConfig) -> None:
    def marker() -> tuple[object, ...]:
        with store.transaction() as session:
            return site_marker(session)

    with store.transaction() as session:
        incident = declare(session)
        first = publish(session, incident, number=1, text="Down.")
        other = declare(session, service="Email")
    before = marker()

    with store.transaction() as session:
        post(session, other, number=1, text="Email is down", state=PostState.PENDING)
        deliver(session, first, text="Down.", channel="x")
    assert marker() == before

    with store.transaction() as session:
        update = post(session, incident, number=2, text="Still down.", kind=PostKind.UPDATE)
        queued = deliver(session, update, text="", state=DeliveryState.QUEUED)
    assert marker() == before
    with store.transaction() as session:
        sent = session.get(Delivery, queued.id)
        assert sent is not None
        sent.state, sent.text, sent.sent_at = DeliveryState.SENT, "Still down.", NOW
    assert marker() != before


def test_the_same_data_and_time_build_the_same_files(store: Store, config: CrierConfig) -> None:
    with store.transaction() as session:
        incident = declare(session)
        publish(session, incident, number=1, text="Down.")
        publish(session, declare(session, service="VPN", severity="sev3"), number=1, text="Slow.")
    first, second = build(store, config), build(store, config)

    assert {k: f.etag for k, f in first.files.items()} == {
        k: f.etag for k, f in second.files.items()
    }
    assert first.modified == second.modified
    for file in first.files.values():
        assert re.fullmatch(r'"[0-9a-f]{32}"', file.etag)
    assert {
        "",
        "site.css",
        "feed.atom",
        "api/v2/summary.json",
        "api/v2/incidents.json",
        "services/student-portal",
        "services/wi-fi/feed.atom",
    } <= set(first.files)


def test_a_service_missing_from_the_catalog_gets_its_own_page(
    store: Store, config: CrierConfig
) -> None:
    with store.transaction() as session:
        publish(
            session, declare(session, service="Zoom Rooms", severity="sev3"), number=1, text="Hm"
        )
    site = build(store, config)
    assert 'href="./services/zoom-rooms/"' in page(site, "")
    assert "Degraded performance" in page(site, "services/zoom-rooms")
    assert component(site, "zoom-rooms")["status"] == "degraded_performance"
    assert component(site, "zoom-rooms")["position"] == len(config.services) + 1
