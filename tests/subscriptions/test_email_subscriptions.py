"""Email subscriptions end to end: the site's form, a real SMTP server (aiosmtpd on 127.0.0.1),
the signed links, and a post on the site reaching exactly the subscribers of its service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlmodel import select

from bot.config import CrierConfig
from bot.core import Core, build_core
from bot.settings import Settings
from bot.storage.models import Job, OutboxMail, Post, Subscriber
from bot.storage.store import Store
from bot.subscriptions.notify import CONFIRM_MAIL
from handlers.site_forms import add_status_site
from tests.clock import FakeClock
from tests.mailbox import Mailbox, link_in
from tests.unit.site_rows import publish_to_site

ADA = "ada@example.edu"


@dataclass
class Site:
    core: Core
    client: TestClient[web.Request, web.Application]
    mailbox: Mailbox
    clock: FakeClock

    async def settle(self) -> None:
        """Run the subscriptions' jobs that are due (the email work of ``crier serve``)."""
        assert self.core.subscriptions is not None
        await self.core.subscriptions.scheduler.drain()

    async def subscribe(self, address: str, *services: str) -> tuple[int, str]:
        form = [("email", address), *(("service", s) for s in services)]
        async with self.client.post("/status/subscribe/", data=form) as response:
            return response.status, await response.text()

    async def publish(self, *, service: str, text: str) -> int:
        """A post about ``service`` sent to the site, told as the publishing loop tells it."""
        incident = publish_to_site(self.core.store, at=self.clock.now(), text=text, service=service)
        with self.core.store.transaction() as session:
            post = session.exec(select(Post).where(Post.incident_id == incident)).one()
            assert post.id is not None and self.core.subscriptions is not None
            self.core.subscriptions.post_changed(session, post.id)
            return post.id


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
async def site(store: Store, config: CrierConfig) -> AsyncIterator[Site]:
    clock = FakeClock()
    async with Mailbox.running() as mailbox:
        settings = Settings(
            CRIER_SITE_SECRET=SecretStr("a test key, not a real one"),
            CRIER_SMTP_URL=SecretStr(mailbox.url),
            CRIER_PUBLIC_URL="https://status.example.edu",
            CRIER_SMTP_PER_SECOND=1000,
        )
        core = build_core(settings=settings, config=config, store=store, clock=clock)
        app = web.Application()
        add_status_site(app, core)
        async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
            yield Site(core=core, client=client, mailbox=mailbox, clock=clock)
        await core.close()


async def confirmed(site: Site, address: str, *services: str) -> None:
    before = len(site.mailbox.messages)
    status, _ = await site.subscribe(address, *services)
    assert status == 202
    await site.settle()
    [asked] = (await site.mailbox.wait_for(before + 1))[before:]
    token = path_of(link_in(asked, "subscribe/confirm/")).partition("t=")[2]
    async with site.client.post("/status/subscribe/confirm/", data={"t": token}) as response:
        assert response.status == 200, await response.text()


async def test_confirm_then_a_post_reaches_the_subscriber_once(site: Site, store: Store) -> None:
    async with site.client.get("/status/subscribe/") as response:
        page = await response.text()
        assert response.status == 200 and 'name="email"' in page and 'value="blackboard"' in page
        assert response.headers["Cache-Control"] == "no-store"
    status, page = await site.subscribe(ADA, "blackboard")
    assert status == 202 and "Check your inbox" in page
    await site.settle()
    [asked] = await site.mailbox.wait_for(1)
    assert asked["To"] == ADA and "Confirm" in asked["Subject"]
    assert "List-Unsubscribe" not in asked
    with store.transaction() as session:  # nothing about Ada is kept before she confirms
        assert session.exec(select(Subscriber)).all() == []
        [job] = session.exec(select(Job).where(Job.kind == CONFIRM_MAIL)).all()
        assert job.payload == {} and job.done_at is not None

    link = link_in(asked, "subscribe/confirm/")
    assert link.startswith("https://status.example.edu/status/subscribe/confirm/?t=")
    async with site.client.get(path_of(link)) as response:  # a mail scanner's GET
        assert response.status == 200 and "Confirm" in await response.text()
    with store.transaction() as session:
        assert session.exec(select(Subscriber)).all() == []
    token = path_of(link).partition("t=")[2]
    async with site.client.post("/status/subscribe/confirm/", data={"t": token}) as response:
        assert response.status == 200 and "You are subscribed" in await response.text()
    with store.transaction() as session:
        [ada] = session.exec(select(Subscriber)).all()
        assert (ada.kind, ada.address, ada.services) == ("email", ADA, ["blackboard"])

    post_id = await site.publish(service="Blackboard", text="Blackboard is down <!channel>")
    await site.publish(service="Wi-Fi", text="Wi-Fi is slow in the library")
    await site.settle()
    [_, told] = await site.mailbox.wait_for(2)
    assert told["Message-ID"] == f"<post-{post_id}.sub-{ada.id}@status.example.edu>"
    assert told["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = told.get_body(("plain",))
    assert plain is not None and "Blackboard is down <!channel>" in plain.get_content()
    await site.publish(service="Blackboard", text="Blackboard is back")  # not told twice
    await site.settle()
    assert [m["Subject"] for m in site.mailbox.messages].count(told["Subject"]) == 1
    assert len(site.mailbox.messages) == 3


async def test_one_click_unsubscribe_deletes_the_address(site: Site, store: Store) -> None:
    await confirmed(site, ADA)
    await site.publish(service="Blackboard", text="Blackboard is down")
    await site.settle()
    [_, told] = await site.mailbox.wait_for(2)
    header = told["List-Unsubscribe"]
    url = header.strip("<>")
    body = {"List-Unsubscribe": "One-Click"}
    async with site.client.post(path_of(url), data=body) as response:  # RFC 8058
        assert response.status == 200 and "unsubscribed" in await response.text()
    with store.transaction() as session:
        assert session.exec(select(Subscriber)).all() == []
        assert session.exec(select(OutboxMail)).all() == []
    async with site.client.post(path_of(url), data=body) as response:  # again: the same
        assert response.status == 200
    await site.publish(service="Blackboard", text="Blackboard is back")
    await site.settle()
    assert len(site.mailbox.messages) == 2


async def test_the_form_answers_the_same_for_a_known_address(site: Site) -> None:
    await confirmed(site, ADA)
    known = await site.subscribe(ADA)
    unknown = await site.subscribe("grace@example.edu")
    assert known == unknown


@pytest.mark.parametrize(
    "address", ["ada@example.edu\r\nBcc: all@example.edu", "ada@example.edu\nSubject: hi"]
)
async def test_a_line_break_in_the_address_is_refused(
    site: Site, store: Store, address: str
) -> None:
    status, page = await site.subscribe(address)
    assert status == 400 and "one line" in page
    with store.transaction() as session:
        assert session.exec(select(Job).where(Job.kind == CONFIRM_MAIL)).all() == []


async def test_an_unknown_service_is_refused_naming_the_services(site: Site) -> None:
    status, page = await site.subscribe(ADA, "moodle")
    assert status == 400 and "blackboard" in page


async def test_one_client_is_limited(site: Site) -> None:
    answers = [(await site.subscribe(f"person{n}@example.edu"))[0] for n in range(6)]
    assert answers == [202] * 5 + [429]


async def test_a_confirmation_link_expires(site: Site, store: Store) -> None:
    await site.subscribe(ADA)
    await site.settle()
    [asked] = await site.mailbox.wait_for(1)
    site.clock.advance(hours=49)
    token = path_of(link_in(asked, "subscribe/confirm/")).partition("t=")[2]
    async with site.client.post("/status/subscribe/confirm/", data={"t": token}) as response:
        assert response.status == 410 and "expired" in await response.text()
    async with site.client.post("/status/subscribe/confirm/", data={"t": token[:-3]}) as response:
        assert response.status == 400
    with store.transaction() as session:
        assert session.exec(select(Subscriber)).all() == []
