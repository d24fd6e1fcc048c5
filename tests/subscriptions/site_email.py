"""What the site-email scenario tests share, whichever chat approves: the SMTP relay (a real
aiosmtpd ``Mailbox`` on 127.0.0.1), Crier's settings for it, the confirmed subscriber, and what
her one email must say.

    from tests.subscriptions.site_email import running_mailbox  # noqa: F401 (the fixture)

    settings = mailing_settings(mailbox)
    ada_id = confirm_ada(core, clock)
    ...
    await emailed_once(core, mailbox, ada_id)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.core import Core
from bot.storage.models import Post
from bot.subscriptions import subscribers
from bot.subscriptions.links import Consent
from tests.clock import FakeClock
from tests.mailbox import Mailbox

SUMMARY = "students cannot log in"
ADA = "ada@example.edu"


@pytest.fixture(name="mailbox")
async def running_mailbox() -> AsyncIterator[Mailbox]:
    """The relay: a real SMTP server on a free port."""
    async with Mailbox.running() as running:
        yield running


def mailing_settings(mailbox: Mailbox) -> dict[str, Any]:
    """Crier's settings, by their environment names, for email subscriptions: links signed with
    a test key, emails sent to ``mailbox`` at a pace the test never waits for."""
    return {
        "CRIER_SITE_SECRET": SecretStr("a test key, not a real one"),
        "CRIER_SMTP_URL": SecretStr(mailbox.url),
        "CRIER_SMTP_PER_SECOND": 1000,
    }


def confirm_ada(core: Core, clock: FakeClock) -> int:
    """Ada confirmed her address earlier, for every service: her subscriber id."""
    with core.store.transaction() as session:
        ada = subscribers.confirm(session, Consent(address=ADA, services=()), now=clock.now())
        assert ada.id is not None
        return ada.id


async def emailed_once(core: Core, mailbox: Mailbox, ada_id: int) -> None:
    """The one email of the incident's only post reached Ada, with the approved words and the
    Message-ID that stays the same however often its job runs."""
    [told] = await mailbox.wait_for(1)
    with core.store.transaction() as session:
        [post] = session.exec(select(Post)).all()
    assert told["To"] == ADA and mailbox.recipients == [[ADA]]
    assert told["Message-ID"] == f"<post-{post.id}.sub-{ada_id}@crier.test>"
    body = told.get_body(("plain",))
    assert body is not None and SUMMARY in body.get_content()
    assert SUMMARY in str(told["Subject"])
