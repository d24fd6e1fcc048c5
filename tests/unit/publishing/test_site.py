"""Crier's status site as a channel: on by default, in every incident, published through the
outbox exactly once, its sent delivery being its record."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import ConfigError, CrierConfig, Network, load_config
from bot.core import Core, build_core
from bot.errors import Conflict, InvalidInput
from bot.incidents.requests import DeclareRequest, EditRequest
from bot.ports import Actor
from bot.publishing import build_publishers
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.site import SitePublisher
from bot.redaction import http_client
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState, OutboxPost
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, make_config

analyst = Actor("slack", ANALYST)
approver = Actor("slack", APPROVER)
PUBLIC_URL = "https://crier.northfield.example.edu"
SITE_TEXT = "Blackboard sign-in fails for some students. We're on it and will post again soon."


def configured(channels: dict[str, object], **overrides: object) -> CrierConfig:
    """The starter crier.yml with only ``channels``, and a VPN that goes to X."""
    services = [{"name": "VPN", "default_channels": ["x"]}]
    return make_config(**{"channels": channels, "services": services, **overrides})


def core_with(store: Store, config: CrierConfig) -> Core:
    settings = Settings(public_url=PUBLIC_URL)
    return build_core(settings=settings, config=config, store=store, clock=FakeClock())


def site_deliveries(core: Core) -> list[Delivery]:
    with core.store.transaction() as session:
        found = session.exec(select(Delivery).where(Delivery.channel == Network.SITE.value))
        rows = list(found.all())
        session.expunge_all()
        return rows


async def test_an_approval_publishes_to_the_site_once_with_the_approved_text(
    store: Store,
) -> None:
    core = core_with(store, make_config())
    draft = await core.declare(analyst, DeclareRequest(service="VPN", summary="slow"))
    assert Network.SITE in draft.incident.channels  # the catalog's [x, statuspage], and the site
    edited = await core.edit(analyst, draft.post.id, EditRequest(texts={Network.SITE: SITE_TEXT}))
    await core.approve(approver, edited.post.id)
    await core.publishing.run_once()
    await core.publishing.run_once()  # nothing left: a second pass sends nothing again
    with pytest.raises(Conflict):
        await core.approve(Actor("slack", APPROVER_2), edited.post.id)

    (delivery,) = site_deliveries(core)
    incident_id = draft.incident.id
    assert delivery.state == DeliveryState.SENT and delivery.sent_at is not None
    assert delivery.text == SITE_TEXT
    assert delivery.url == f"{PUBLIC_URL}/status/incidents/{incident_id}/"
    assert delivery.external_id == delivery.idempotency_key
    with core.store.transaction() as session:  # no dry run: the delivery is the site's record
        assert not session.exec(select(OutboxPost).where(OutboxPost.network == "site")).all()


async def test_the_site_follows_its_path(store: Store) -> None:
    channels = {"x": {"enabled": True}, "site": {"path": "/it/status/"}}
    core = core_with(store, configured(channels))
    draft = await core.declare(analyst, DeclareRequest(service="VPN", summary="slow"))
    await core.approve(approver, draft.post.id)
    await core.publishing.run_once()
    (delivery,) = site_deliveries(core)
    assert delivery.url == f"{PUBLIC_URL}/it/status/incidents/{draft.incident.id}/"


async def test_a_site_turned_off_gets_nothing(store: Store) -> None:
    core = core_with(store, configured({"x": {}, "site": {"enabled": False}}))
    draft = await core.declare(analyst, DeclareRequest(service="VPN", summary="slow"))
    assert draft.incident.channels == (Network.X,)
    await core.approve(approver, draft.post.id)
    await core.publishing.run_once()
    assert site_deliveries(core) == []


async def test_the_site_needs_no_credentials_and_says_where_it_is_served(store: Store) -> None:
    settings = Settings(public_url=PUBLIC_URL)
    http = http_client(settings, NetworkCredentials())
    try:
        publishers = build_publishers(
            config=configured({"x": {}}), settings=settings, store=store, http=http
        )
    finally:
        await http.close()
    site = publishers[Network.SITE]
    assert isinstance(site, SitePublisher) and site.label == "Status site"  # never the outbox
    check = await site.check()
    assert check.ready and check.detail == f"served by crier serve at {PUBLIC_URL}/status/"


# --- crier.yml ---------------------------------------------------------------------------------


def test_a_crier_yml_without_the_site_has_it_on() -> None:
    config = configured({"x": {"enabled": True}})
    assert config.enabled_channels == [Network.X, Network.SITE]
    assert config.site.path == "/status/"
    vpn = config.find_service("VPN")
    assert vpn is not None and config.default_channels(vpn) == [Network.X, Network.SITE]


def test_a_crier_yml_can_turn_the_site_off() -> None:
    config = configured({"x": {"enabled": True}, "site": {"enabled": False}})
    assert config.enabled_channels == [Network.X]
    vpn = config.find_service("VPN")
    assert vpn is not None and config.default_channels(vpn) == [Network.X]


def test_a_service_that_names_the_site_once_has_it_once() -> None:
    services = [{"name": "VPN", "default_channels": ["site", "x"]}]
    config = configured({"x": {}}, services=services)
    assert config.default_channels(config.services[0]) == [Network.SITE, Network.X]


def test_a_service_may_not_name_a_site_turned_off() -> None:
    services = [{"name": "VPN", "default_channels": ["site"]}]
    with pytest.raises(ValueError, match="'site', which is not enabled"):
        configured({"site": {"enabled": False}}, services=services)


@pytest.mark.parametrize("path", ["/status/", "/it/status/", "/status-2026/"])
def test_a_site_path_starts_and_ends_with_a_slash(path: str) -> None:
    assert configured({"x": {}, "site": {"path": path}}).site.path == path


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("status/", "must start and end with '/'"),
        ("/status", "must start and end with '/'"),
        ("https://x/", "must start and end with '/'"),
        ("/", "crier serve's own: give the site a folder"),
        ("//status/", "between single slashes"),
        ("/st atus/", "between single slashes"),
        ("/status/?x=1/", "between single slashes"),
        ("/../status/", "between single slashes"),
    ],
)
def test_a_wrong_site_path_is_refused_with_the_key(tmp_path: Path, path: str, said: str) -> None:
    written = _crier_yml(tmp_path, f"channels:\n  site: {{path: {path!r}}}\n")
    with pytest.raises(ConfigError, match=rf"channels\.site\.path: .*{re.escape(said)}"):
        load_config(written)


@pytest.mark.parametrize("logo", ["https://it.example.edu/logo.svg", "/static/logo.png"])
def test_a_logo_is_an_https_url_or_a_path(logo: str) -> None:
    organisation = {"name": "Northfield IT", "logo_url": logo}
    assert configured({"x": {}}, organisation=organisation).organisation.logo_url == logo


@pytest.mark.parametrize(
    "logo", ["http://it.example.edu/logo.svg", "logo.svg", "//cdn.example/logo.svg", "javascript:x"]
)
def test_a_wrong_logo_is_refused(tmp_path: Path, logo: str) -> None:
    written = _crier_yml(tmp_path, f"organisation: {{name: N, logo_url: {logo!r}}}\n")
    with pytest.raises(ConfigError, match=r"organisation\.logo_url: .*an https:// URL or a path"):
        load_config(written)


def _crier_yml(folder: Path, head: str) -> Path:
    path = folder / "crier.yml"
    path.write_text(head + "services:\n  - name: VPN\n", encoding="utf-8")
    return path


async def test_the_content_calendar_does_not_post_to_the_site(store: Store) -> None:
    core = core_with(store, configured({"x": {}}))
    due_at = core.clock.now() + timedelta(hours=1)
    with pytest.raises(InvalidInput, match="does not post to site"):
        await core.content_calendar.add(
            analyst, text="Tip: back up your files.", channels=(Network.SITE,), due_at=due_at
        )
