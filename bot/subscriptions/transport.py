"""Sending the subscribers' emails: through an SMTP relay, or into the outbox without one.

``SmtpTransport`` keeps a few connections to the relay open and reuses them: a new TCP
connection, TLS handshake, EHLO and AUTH for every message is what makes a relay slow when a
post goes to thousands of subscribers. ``OutboxTransport`` stores each email in the
``outbox_mail`` table instead, for a person to read: with no relay set, nothing is silently
dropped.

A failure is a ``MailError``, transient (try again later: a 4xx reply, a timeout, a lost
connection, a relay that cannot be reached or refuses Crier's login) or not (a 5xx reply to
the message or its recipient: sending it again would be refused again). Its message never
holds the relay's password, nor the URL it came in.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import getaddresses
from typing import Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.storage.models import OutboxMail
from bot.storage.store import Store

log = logging.getLogger(__name__)

# A connection unused this long is closed rather than reused: relays and the firewalls between
# drop idle connections, sometimes without a word, and a dead one would cost a timeout.
IDLE_LIMIT = 60.0  # seconds
RATE_WORDS = re.compile(r"\b(?:rate|too many|too fast|throttl|limit|try again later)", re.I)
RETRY_IN = re.compile(r"\b(?:in|after)\s+(\d{1,5})\s*(s|secs?|seconds?|m|mins?|minutes?)\b", re.I)


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


class MailError(Exception):
    """An email that was not sent. ``transient``: the same email may go through later (after
    ``retry_after`` seconds, when the relay said); ``code`` is the relay's reply code, if any."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
        self.code = code


StartTls = Literal["offered", "required", "never"]
URL_FORM = "smtp://[user[:password]@]host[:port] or smtps://[user[:password]@]host[:port]"


@dataclass(frozen=True)
class RelayAddress:
    """The relay as ``CRIER_SMTP_URL`` gives it. Its repr never shows the password."""

    host: str
    port: int
    implicit_tls: bool  # smtps://: TLS from the first byte
    start_tls: StartTls
    username: str | None
    password: str | None

    def __repr__(self) -> str:
        who = f"{self.username}@" if self.username else ""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"RelayAddress({scheme}://{who}{self.host}:{self.port}, starttls={self.start_tls})"


def parse_relay_url(url: str) -> RelayAddress:
    """``url`` read as ``smtp://[user[:password]@]host[:port][?starttls=required|never]`` or
    ``smtps://…``; a ``ValueError`` that never repeats the URL (it may hold the password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"CRIER_SMTP_URL is not a URL of the form {URL_FORM}") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"CRIER_SMTP_URL must start with smtp:// or smtps:// ({URL_FORM})")
    if not parts.hostname:
        raise ValueError(f"CRIER_SMTP_URL has no host ({URL_FORM})")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"CRIER_SMTP_URL has a path, which an SMTP relay has not ({URL_FORM})")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise ValueError(f"CRIER_SMTP_URL has an unknown option: {', '.join(unknown)}")
    # With a password, TLS is required unless the URL says otherwise: a relay's offer of
    # STARTTLS can be hidden by someone in between, who would then read the password.
    default = "required" if parts.password else "offered"
    start_tls = query.get("starttls", [default])[-1]
    if start_tls not in ("offered", "required", "never"):
        raise ValueError("CRIER_SMTP_URL's starttls must be offered, required or never")
    implicit_tls = parts.scheme == "smtps"
    if implicit_tls and "starttls" in query:
        raise ValueError("CRIER_SMTP_URL: smtps:// is TLS already; starttls is for smtp://")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password and not username:
        raise ValueError("CRIER_SMTP_URL has a password but no user name")
    if port is None:
        port = 465 if implicit_tls else 587 if username else 25
    return RelayAddress(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit_tls,
        start_tls=start_tls,  # type: ignore[arg-type]  # checked just above
        username=username,
        password=password,
    )


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    idle_since: float


class SmtpTransport:
    """Sends through the relay in ``CRIER_SMTP_URL`` with aiosmtplib, over at most
    ``connections`` connections kept open between messages."""

    def __init__(self, relay: RelayAddress, *, connections: int = 4, timeout: float = 30) -> None:
        if connections < 1:
            raise ValueError("an SMTP transport needs at least one connection")
        self._relay = relay
        self.host, self.port = relay.host, relay.port
        self._timeout = timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, connections: int = 4, timeout: float = 30) -> SmtpTransport:
        return cls(parse_relay_url(url), connections=connections, timeout=timeout)

    def __repr__(self) -> str:
        return f"SmtpTransport({self._relay!r})"

    async def send(self, message: EmailMessage) -> None:
        if self._closed:
            raise RuntimeError("this SMTP transport is closed")
        async with self._slots:
            client = self._take_idle()
            if client is not None:
                try:
                    await _deliver(client, message)
                except BaseException as error:
                    client.close()  # cancelled or failed: its state is unknown, so not reused
                    if not isinstance(error, Exception):
                        raise
                    if not _closed_while_idle(error):
                        raise self._mail_error(error, connecting=False) from None
                    # The relay closed a connection that waited in the pool (its idle timeout),
                    # before taking the message: one fresh connection tries it again.
                    log.info("the SMTP relay %s:%s closed an idle connection", *self._where)
                else:
                    self._put_back(client)
                    return
            client = await self._open()
            try:
                await _deliver(client, message)
            except BaseException as error:
                client.close()
                if not isinstance(error, Exception):
                    raise
                raise self._mail_error(error, connecting=False) from None
            self._put_back(client)

    async def close(self) -> None:
        """QUIT every idle connection; one in use is closed when its message is sent."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                pass  # it is going away either way
            finally:
                connection.client.close()

    @property
    def _where(self) -> tuple[str, int]:
        return self.host, self.port

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.client.is_connected and now - connection.idle_since < IDLE_LIMIT:
                return connection.client
            connection.client.close()
        return None

    def _put_back(self, client: aiosmtplib.SMTP) -> None:
        if self._closed or not client.is_connected:
            client.close()
            return
        self._idle.append(_Connection(client, idle_since=time.monotonic()))

    async def _open(self) -> aiosmtplib.SMTP:
        relay = self._relay
        start_tls = {"offered": None, "required": True, "never": False}[relay.start_tls]
        client = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            username=relay.username,
            password=relay.password,
            use_tls=relay.implicit_tls,
            start_tls=None if relay.implicit_tls else start_tls,
            timeout=self._timeout,
        )
        try:
            await client.connect()
        except BaseException as error:
            client.close()
            if not isinstance(error, Exception):
                raise
            raise self._mail_error(error, connecting=True) from None
        log.debug("opened an SMTP connection to %s:%s", *self._where)
        return client

    def _mail_error(self, error: BaseException, *, connecting: bool) -> MailError:
        """``error`` as a ``MailError``; transient unless the relay refused the message."""
        where = f"the SMTP relay {self.host}:{self.port}"
        if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
            error = error.recipients[0]
        if isinstance(error, aiosmtplib.SMTPResponseException):
            said = self._scrub(f"{error.code} {error.message}")
            if connecting or isinstance(error, aiosmtplib.SMTPAuthenticationError):
                # A greeting, EHLO, STARTTLS or login refused: the relay or Crier's settings are
                # at fault, not this email, which may go once they are put right.
                what = "refused Crier's login" if _is_login(error) else "refused the connection"
                return MailError(f"{where} {what}: {said}", transient=True, code=error.code)
            if 400 <= error.code < 500:
                return MailError(
                    f"{where} deferred the email: {said}",
                    transient=True,
                    retry_after=_retry_after(error.code, error.message),
                    code=error.code,
                )
            return MailError(f"{where} refused the email: {said}", transient=False, code=error.code)
        if isinstance(error, TimeoutError):
            return MailError(f"{where} did not answer in {self._timeout:g} s", transient=True)
        if isinstance(error, ConnectionError | OSError):
            return MailError(
                f"{where} could not be reached or dropped the connection: "
                f"{self._scrub(_reason(error))}",
                transient=True,
            )
        if isinstance(error, aiosmtplib.SMTPNotSupported) and not connecting:
            # SMTPUTF8 for a non-ASCII address, say: this relay will never take this email.
            return MailError(
                f"{where} cannot take the email: {self._scrub(_reason(error))}", transient=False
            )
        if isinstance(error, aiosmtplib.SMTPException):
            return MailError(f"{where}: {self._scrub(_reason(error))}", transient=True)
        raise error  # a bug, not the relay: let it show

    def _scrub(self, text: str) -> str:
        """``text`` without the password, should a relay ever repeat it."""
        password = self._relay.password
        if password:
            text = text.replace(password, "***")
        return text


async def _deliver(client: aiosmtplib.SMTP, message: EmailMessage) -> None:
    """Send ``message`` flattened with its own policy: aiosmtplib's ``send_message`` would
    use ``email.policy.SMTP`` and undo ``MailPolicy``'s Subject folding. As it would, bodies
    go 8bit to a relay that takes 8BITMIME and are re-encoded for one that does not."""
    sender = [address for _, address in getaddresses([str(message["From"])])]
    recipients = [address for _, address in getaddresses([str(message["To"])])]
    if len(sender) != 1 or not recipients:
        raise ValueError("an email needs one From address and a To address")
    options: list[str] = []
    policy = message.policy
    if client.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    else:
        policy = policy.clone(cte_type="7bit")
    if not all(address.isascii() for address in [*sender, *recipients]):
        if not client.supports_extension("smtputf8") or not isinstance(policy, EmailPolicy):
            raise aiosmtplib.SMTPNotSupported("the relay does not take non-ASCII addresses")
        options.append("SMTPUTF8")
        policy = policy.clone(utf8=True)
    flat = io.BytesIO()
    BytesGenerator(flat, policy=policy).flatten(message)
    await client.sendmail(sender[0], recipients, flat.getvalue(), mail_options=options)


def _closed_while_idle(error: BaseException) -> bool:
    """Whether a reused connection failed as one the relay closed while it waited: lost, or
    answered with 421 ("closing the connection", what Postfix says at its idle timeout)."""
    if isinstance(error, aiosmtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, aiosmtplib.SMTPResponseException) and error.code == 421


def _is_login(error: aiosmtplib.SMTPResponseException) -> bool:
    return isinstance(error, aiosmtplib.SMTPAuthenticationError) or error.code in (530, 534, 535)


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _retry_after(code: int, said: str) -> float | None:
    """Seconds to wait when a deferral says how long ("try again in 30 seconds"), or a minute
    when it is about sending too fast (421/450/451/452 "rate limit exceeded") and says not."""
    match = RETRY_IN.search(said)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return float(amount * 60 if unit.startswith("m") else amount)
    if code in (421, 450, 451, 452) and RATE_WORDS.search(said):
        return 60.0
    return None


class OutboxTransport:
    """Without a relay: each email is stored in the ``outbox_mail`` table for a person to read,
    never silently dropped. The same Message-ID stored twice (a resend after a crash) is kept
    once."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def send(self, message: EmailMessage) -> None:
        message_id = str(message["Message-ID"] or "")
        if not message_id:
            raise ValueError("an email for the outbox needs a Message-ID")
        recipient, subject = str(message["To"]), str(message["Subject"] or "")
        # The bytes, with 8bit bodies, decoded: what a relay receives, and readable, where
        # as_string() would turn each non-ASCII body into base64.
        text = message.as_bytes().decode("utf-8", errors="replace")

        def write(session: Session) -> bool:
            seen = select(OutboxMail.id).where(OutboxMail.message_id == message_id)
            if session.exec(seen).first() is not None:
                return False
            entry = OutboxMail(
                message_id=message_id, recipient=recipient, subject=subject, message=text
            )
            try:
                with session.begin_nested():  # two workers sending it at once: one row wins
                    session.add(entry)
            except IntegrityError:
                return False
            return True

        if await self._store.run(write):
            log.info("kept the email %s in the outbox (no CRIER_SMTP_URL)", message_id)

    async def close(self) -> None:
        return None
