"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, port 0, in the test's own event loop.

async with Mailbox.running() as mailbox:
    settings = Settings(CRIER_SMTP_URL=mailbox.url, ...)
    ...
    [message] = await mailbox.wait_for(1)   # an email.message.EmailMessage
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

WAIT_SECONDS = 15  # a safety deadline, reached only when an email never comes


class Mailbox:
    """Every email the server accepted, in order, with who it was for."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refuse: dict[str, str] = {}  # address -> the reply to its RCPT ("550 …")
        self._arrived = asyncio.Condition()
        self.url = ""

    # aiosmtpd's handler hooks
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        async with self._arrived:
            self.messages.append(parsed)
            self.recipients.append(list(envelope.rcpt_tos))
            self._arrived.notify_all()
        return "250 Message accepted"

    async def wait_for(self, count: int) -> list[EmailMessage]:
        """The first ``count`` emails, once they have arrived."""
        async with asyncio.timeout(WAIT_SECONDS), self._arrived:
            await self._arrived.wait_for(lambda: len(self.messages) >= count)
        return self.messages[:count]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] and address in str(m["To"])]

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls) -> AsyncIterator[Mailbox]:
        mailbox = cls()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(mailbox, hostname="mail.test", loop=loop), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        mailbox.url = f"smtp://127.0.0.1:{port}"
        try:
            yield mailbox
        finally:
            server.close()
            await server.wait_closed()


def link_in(message: EmailMessage, path: str) -> str:
    """The first link to ``…{path}?t=…`` in the plain-text part."""
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(r"https?://\S*" + re.escape(path) + r"\?t=[\w.\-]+", body.get_content())
    assert found, f"no link to {path} in:\n{body.get_content()}"
    return found.group(0)
