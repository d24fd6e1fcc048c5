"""Sending through a real SMTP server (aiosmtpd on 127.0.0.1, in the test's event loop): the
email arrives whole, connections are reused and replaced, replies become transient or
permanent ``MailError``s, and the relay's password shows in no error and no log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from bot.subscriptions.mail import PostNotice, Sender, notification
from bot.subscriptions.transport import MailError, SmtpTransport, parse_relay_url

SENDER = Sender(
    organisation="Example University IT",
    address="status@example.edu",
    reply_to=None,
    site_url="https://crier.example.edu/status/",
    host="crier.example.edu",
)
NOTICE = PostNotice(
    incident_id=12,
    post_id=34,
    service="Blackboard",
    title="Blackboard: students cannot log in",
    status="Investigating",
    text="Logins fail <!channel> — we are on it.",
    published_at=datetime(2026, 1, 15, 19, 52, tzinfo=UTC),
    zone=ZoneInfo("America/New_York"),
    incident_url="https://crier.example.edu/status/incidents/12/",
)
PASSWORD = "p@ss:w/rd%secret"
USER = "crier@example.edu"


def email_for(subscriber_id: int) -> EmailMessage:
    return notification(
        SENDER,
        NOTICE,
        to=f"sub{subscriber_id}@example.org",
        subscriber_id=subscriber_id,
        unsubscribe_url=f"https://crier.example.edu/status/unsubscribe?s={subscriber_id}",
    )


class Relay:
    """An SMTP server in this event loop that keeps what it receives. ``replies`` queues the
    answers to give to the next RCPT commands ("550 …") instead of accepting them."""

    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.sessions: list[SMTP] = []
        self.mail_replies: list[str] = []
        self.rcpt_replies: list[str] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self._login = login
        self.port = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def _session(self) -> SMTP:
        session = SMTP(
            self,
            hostname="relay.test",
            loop=asyncio.get_running_loop(),
            auth_require_tls=False,
            auth_required=self._login is not None,
            authenticator=self._authenticate if self._login else None,
        )
        self.sessions.append(session)
        return session

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword) and self._login is not None
        self.logins.append((data.login, data.password))
        user, password = self._login
        accepted = (data.login, data.password) == (user.encode(), password.encode())
        # handled=False: aiosmtpd answers a refusal itself (535) instead of leaving it to us.
        return AuthResult(success=accepted, handled=False)

    async def handle_MAIL(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from, envelope.mail_options = address, options
        return "250 OK"

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: Any
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes) and envelope.mail_from is not None
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 queued"

    def drop_connections(self) -> None:
        """Close every connection from the server's side, as a relay's idle timeout does."""
        for session in self.sessions:
            if session.transport is not None:
                session.transport.close()

    async def stop(self) -> None:
        self._server.close()
        self.drop_connections()
        await self._server.wait_closed()

    def url(self, *, login: str = "") -> str:
        # This test relay has no TLS: a URL with a password must say so, or STARTTLS is required.
        plain = "?starttls=never" if ":" in login else ""
        return f"smtp://{login}127.0.0.1:{self.port}{plain}"


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    relay = Relay()
    await relay.start()
    yield relay
    await relay.stop()


@pytest.fixture
async def transport(relay: Relay) -> AsyncIterator[SmtpTransport]:
    transport = SmtpTransport.from_url(relay.url(), connections=2, timeout=10)
    yield transport
    await transport.close()


async def test_an_email_arrives_with_both_parts_and_its_headers(
    relay: Relay, transport: SmtpTransport
) -> None:
    await transport.send(email_for(7))

    [arrived] = relay.received
    assert relay.envelopes == [("status@example.edu", ["sub7@example.org"])]
    assert arrived["Message-ID"] == "<post-34.sub-7@crier.example.edu>"
    assert arrived["Subject"] == (
        "[Example University IT] Blackboard: students cannot log in — Investigating"
    )
    assert arrived["List-Unsubscribe"] == "<https://crier.example.edu/status/unsubscribe?s=7>"
    assert arrived["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, html = arrived.get_body(("plain",)), arrived.get_body(("html",))
    assert plain is not None and html is not None
    assert "Logins fail <!channel> — we are on it." in plain.get_content()
    assert "Logins fail &lt;!channel&gt; — we are on it." in html.get_content()


async def test_messages_one_after_another_share_one_connection(
    relay: Relay, transport: SmtpTransport
) -> None:
    for subscriber in range(5):
        await transport.send(email_for(subscriber))

    assert len(relay.received) == 5
    assert len(relay.sessions) == 1


async def test_messages_sent_together_use_no_more_connections_than_the_pool(
    relay: Relay, transport: SmtpTransport
) -> None:
    await asyncio.gather(*(transport.send(email_for(s)) for s in range(8)))

    assert sorted(m["To"] for m in relay.received) == sorted(
        f"sub{s}@example.org" for s in range(8)
    )
    assert len(relay.sessions) == 2


async def test_a_refused_recipient_is_a_permanent_error(
    relay: Relay, transport: SmtpTransport
) -> None:
    relay.rcpt_replies.append("550 5.1.1 No such user")

    with pytest.raises(MailError) as refused:
        await transport.send(email_for(1))

    assert refused.value.transient is False
    assert refused.value.code == 550
    assert "550 5.1.1 No such user" in str(refused.value)
    assert "127.0.0.1" in str(refused.value)


async def test_a_deferral_is_transient_and_says_when(
    relay: Relay, transport: SmtpTransport
) -> None:
    relay.rcpt_replies.append("451 4.7.1 Greylisted, try again in 90 seconds")
    relay.rcpt_replies.append("452 4.5.3 Rate limit exceeded")

    with pytest.raises(MailError) as greylisted:
        await transport.send(email_for(1))
    with pytest.raises(MailError) as too_fast:
        await transport.send(email_for(2))

    assert greylisted.value.transient and greylisted.value.retry_after == 90
    assert too_fast.value.transient and too_fast.value.retry_after == 60
    assert too_fast.value.code == 452


async def test_after_a_failure_the_connection_is_replaced(
    relay: Relay, transport: SmtpTransport
) -> None:
    await transport.send(email_for(1))
    relay.rcpt_replies.append("451 4.3.0 Try later")
    with pytest.raises(MailError):
        await transport.send(email_for(2))

    await transport.send(email_for(2))

    assert [m["To"] for m in relay.received] == ["sub1@example.org", "sub2@example.org"]
    assert len(relay.sessions) == 2


async def test_a_connection_the_relay_closed_while_idle_is_replaced_at_once(
    relay: Relay, transport: SmtpTransport
) -> None:
    await transport.send(email_for(1))
    relay.drop_connections()

    await transport.send(email_for(2))

    assert len(relay.received) == 2
    assert len(relay.sessions) == 2


async def test_a_421_on_a_connection_kept_idle_is_tried_once_on_a_new_one(
    relay: Relay, transport: SmtpTransport
) -> None:
    await transport.send(email_for(1))
    relay.mail_replies.append("421 4.4.2 relay.test Error: timeout exceeded")

    await transport.send(email_for(2))

    assert len(relay.received) == 2
    assert len(relay.sessions) == 2


async def test_a_421_on_a_new_connection_is_transient(
    relay: Relay, transport: SmtpTransport
) -> None:
    relay.mail_replies.append("421 4.7.0 Too many connections, try again in 2 minutes")

    with pytest.raises(MailError) as deferred:
        await transport.send(email_for(1))

    assert deferred.value.transient and deferred.value.retry_after == 120


async def test_a_relay_that_is_gone_is_a_transient_error(relay: Relay) -> None:
    transport = SmtpTransport.from_url(relay.url(), timeout=10)
    await transport.send(email_for(1))
    await relay.stop()

    with pytest.raises(MailError) as gone:
        await transport.send(email_for(2))

    assert gone.value.transient is True
    assert "127.0.0.1" in str(gone.value)
    await transport.close()


async def test_close_quits_the_idle_connections(relay: Relay) -> None:
    transport = SmtpTransport.from_url(relay.url(), connections=3, timeout=10)
    await asyncio.gather(*(transport.send(email_for(s)) for s in range(3)))

    await transport.close()

    assert len(relay.sessions) == 3
    assert all(
        session.transport is None or session.transport.is_closing() for session in relay.sessions
    )
    with pytest.raises(RuntimeError):
        await transport.send(email_for(4))


@pytest.fixture
async def guarded_relay() -> AsyncIterator[Relay]:
    relay = Relay(login=(USER, PASSWORD))
    await relay.start()
    yield relay
    await relay.stop()


def login_url(relay: Relay, password: str) -> str:
    quoted = {"@": "%40", ":": "%3A", "/": "%2F", "%": "%25"}
    encode = lambda text: "".join(quoted.get(c, c) for c in text)  # noqa: E731
    return relay.url(login=f"{encode(USER)}:{encode(password)}@")


AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@AUTH_WITHOUT_TLS
async def test_the_user_and_password_in_the_url_log_in(guarded_relay: Relay) -> None:
    transport = SmtpTransport.from_url(login_url(guarded_relay, PASSWORD), timeout=10)

    await transport.send(email_for(1))
    await transport.close()

    assert guarded_relay.logins == [(USER.encode(), PASSWORD.encode())]
    assert len(guarded_relay.received) == 1


@AUTH_WITHOUT_TLS
async def test_a_refused_login_never_shows_the_password(
    guarded_relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wr0ng-s3cret"
    transport = SmtpTransport.from_url(login_url(guarded_relay, wrong), timeout=10)

    with caplog.at_level(logging.DEBUG):
        with pytest.raises(MailError) as refused:
            await transport.send(email_for(1))
        await transport.close()

    # The relay or the settings are at fault, not the email: it may go once they are fixed.
    assert refused.value.transient is True
    assert "login" in str(refused.value) and "535" in str(refused.value)
    crier_logs = [r for r in caplog.records if not r.name.startswith("mail.log")]
    for text in [str(refused.value), repr(refused.value), repr(transport)] + [
        r.getMessage() for r in crier_logs
    ]:
        assert wrong not in text and "wr0ng" not in text
    assert guarded_relay.received == []


def test_the_url_sets_the_port_and_the_tls() -> None:
    assert parse_relay_url("smtp://relay.example.edu").port == 25
    assert parse_relay_url("smtp://me@relay.example.edu").port == 587
    implicit = parse_relay_url("smtps://me:pw@relay.example.edu")
    assert implicit.port == 465 and implicit.implicit_tls
    assert (
        parse_relay_url("smtp://relay.example.edu:2525?starttls=required").start_tls == "required"
    )
    assert parse_relay_url("smtp://relay.example.edu").start_tls == "offered"
    # A password is never sent where STARTTLS could have been stripped, unless the URL says so.
    assert parse_relay_url("smtp://me:pw@relay.example.edu").start_tls == "required"
    assert parse_relay_url("smtp://me:pw@127.0.0.1?starttls=never").start_tls == "never"
    decoded = parse_relay_url("smtp://a%40b.edu:p%3Aw%40d@relay.example.edu")
    assert (decoded.username, decoded.password) == ("a@b.edu", "p:w@d")
    transport = SmtpTransport.from_url("smtp://me:pw-secret@relay.example.edu:2525")
    assert (transport.host, transport.port) == ("relay.example.edu", 2525)
    assert "pw-secret" not in repr(transport)


@pytest.mark.parametrize(
    "url",
    [
        "http://me:hunter2@relay.example.edu",
        "smtp://me:hunter2@relay.example.edu:notaport",
        "smtp://me:hunter2@relay.example.edu:99999",
        "smtp://me:hunter2@:25",
        "smtp://me:hunter2@relay.example.edu/path",
        "smtp://me:hunter2@relay.example.edu?starttls=sometimes",
        "smtp://me:hunter2@relay.example.edu?tls=yes",
        "smtps://me:hunter2@relay.example.edu?starttls=required",
        "smtp://:hunter2@relay.example.edu",
    ],
)
def test_a_bad_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        SmtpTransport.from_url(url)

    assert "hunter2" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None or refused.value.__suppress_context__
