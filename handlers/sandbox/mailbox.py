"""The subscribers' mailbox: the emails Crier "sent" to the status site's subscribers.

The sandbox sets no ``CRIER_SMTP_URL``, so each email lands in the ``OutboxMail`` table
(``bot.subscriptions.transport.OutboxTransport``). This panel shows the newest ones, each
openable to read its plain-text part, whose links (confirm, unsubscribe, the incident's page)
point at the sandbox's own status site: a newcomer can subscribe there, confirm from here, and
see an approved post's notification arrive.

Everything in an email is user text (an address, a post): it is escaped before it is shown.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.storage.models import OutboxMail
from handlers.sandbox.mrkdwn import escape, link

NEWEST = 20
_URL = re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>.,;:!?)\]'\"]")


@dataclass(frozen=True)
class Mail:
    """One email of the mailbox, read back from the outbox."""

    id: int
    recipient: str
    subject: str
    sent_at: datetime  # its Date header: Crier's clock (the sandbox's, maybe jumped ahead)
    text: str  # its plain-text part


def load_mail(session: Session, *, only_id: int | None = None) -> list[Mail]:
    """The newest emails, newest first (or the one email ``only_id``)."""
    query = select(OutboxMail).order_by(col(OutboxMail.id).desc()).limit(NEWEST)
    if only_id is not None:
        query = select(OutboxMail).where(OutboxMail.id == only_id)
    return [_read(row) for row in session.exec(query)]


def _read(row: OutboxMail) -> Mail:
    # As bytes: the outbox keeps what a relay would receive, 8bit bodies decoded as UTF-8, and
    # the email package reads an 8bit body right only from bytes (from text it garbles é, ·, —).
    parsed = email.message_from_bytes(row.message.encode("utf-8"), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)  # the default policy's class
    sent_at = row.created_at
    date = parsed["Date"]
    if date is not None and getattr(date, "datetime", None) is not None:
        sent_at = date.datetime
    if sent_at.tzinfo is None:  # SQLite hands back naive UTC
        sent_at = sent_at.replace(tzinfo=UTC)
    body = parsed.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else row.message
    assert row.id is not None
    return Mail(row.id, row.recipient, row.subject, sent_at, str(text))


def _linked(text: str) -> str:
    """The text escaped, its web addresses (the confirm and unsubscribe links) clickable."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(link(match.group(0), escape(match.group(0))))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


class MailboxRenderer:
    """The mailbox panel, with times in the organisation's zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone

    def _time(self, at: datetime) -> str:
        local = at.astimezone(self._zone)
        return (
            f'<time class="pub-time" datetime="{escape(at.isoformat())}">'
            f"{escape(local.strftime('%b %-d, %-I:%M %p %Z'))}</time>"
        )

    def mail(self, item: Mail, *, opened: bool = False) -> str:
        """One email: who it went to, its subject and time; its text when opened."""
        return (
            f'<details class="mail" id="mail-{item.id}"{" open" if opened else ""}>'
            f'<summary><span class="mail-to">To {escape(item.recipient)}</span> '
            f"{self._time(item.sent_at)}"
            f'<span class="mail-subject">{escape(item.subject)}</span></summary>'
            f'<pre class="mail-text">{_linked(item.text)}</pre>'
            f'<p class="mail-open"><a href="/mailbox/{item.id}" target="_blank" '
            f'rel="noopener">Open in its own tab ↗</a></p></details>'
        )

    def panel(self, mails: list[Mail]) -> str:
        if not mails:
            return (
                '<p class="pub-none">No email yet. Subscribe on your status site: its '
                "confirmation email arrives here.</p>"
            )
        return "".join(self.mail(item) for item in mails)
