"""The emails subscribers receive: a post's notification and the confirmation of a subscription.

Each is an ``EmailMessage`` (``policy.SMTP``, with its Subject folding repaired: ``MailPolicy``)
with a plain-text part and an HTML alternative, both from the Jinja templates in
``bot/subscriptions/templates``. The HTML is autoescaped, so a
post holding ``<script>`` or ``<!channel>`` shows those characters; the plain text carries the
post exactly as published.

Every header built from data refuses a line break (``ValueError``): a title or an address with
CR/LF in it would otherwise let its author add headers (a Bcc, say) to mail Crier sends.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.drafting.post_times import format_time
from bot.subscriptions.links import CONFIRM_FOR

SUBJECT_LIMIT = 200  # characters; long subjects are cut in mail clients anyway
# RFC 5322 allows 998 octets a line; a longer line in a post goes quoted-printable instead.
LONGEST_LINE = 998


class MailPolicy(EmailPolicy):
    """``email.policy.SMTP`` with one repair: a non-ASCII Subject is folded as a run of whole
    encoded words. The standard folding sometimes breaks the line just before an encoded word
    and keeps the space on both sides, and clients then show two spaces there ("log in  —"),
    in about one subject in six. Messages carry this policy; send them flattened with it."""

    def fold(self, name: str, value: str) -> str:
        return self._whole_subject(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        subject = self._whole_subject(name, value)
        return subject.encode("ascii") if subject else super().fold_binary(name, value)

    def _whole_subject(self, name: str, value: str) -> str | None:
        if name.lower() != "subject" or str(value).isascii() or self.utf8:
            return None
        # Whitespace between two encoded words is dropped when decoding: the words join up.
        header = Header(str(value), "utf-8", maxlinelen=self.max_line_length, header_name=name)
        return f"{name}: {header.encode(linesep=self.linesep)}{self.linesep}"


MAIL_POLICY = MailPolicy(linesep="\r\n")  # as email.policy.SMTP


@dataclass(frozen=True)
class Sender:
    """Who the emails come from, and where the site they point to lives."""

    organisation: str  # "Example University IT"
    address: str  # the From address, "status@example.edu"
    reply_to: str | None  # the organisation's reply-to, or None
    site_url: str  # "https://crier.example.edu/status/" (ends with /)
    host: str  # for Message-IDs: "crier.example.edu"


@dataclass(frozen=True)
class PostNotice:
    """One published post, as its notification tells it."""

    incident_id: int
    post_id: int
    service: str  # "Blackboard"
    title: str  # "Blackboard: students cannot log in"
    status: str  # "Investigating", "Resolved"… (already a label)
    text: str  # the post exactly as published (plain text: may hold <, &, URLs, "<!channel>")
    published_at: datetime  # aware
    zone: ZoneInfo  # the organisation's zone for showing the time
    incident_url: str  # absolute URL of the incident page


def post_message_id(sender: Sender, *, post_id: int, subscriber_id: int) -> str:
    """``<post-{post_id}.sub-{subscriber_id}@{host}>``: stable, so a resend after a crash is
    recognisably the same message (the outbox and mail clients drop the second)."""
    return f"<post-{post_id}.sub-{subscriber_id}@{_one_line(sender.host, 'host')}>"


def notification(
    sender: Sender,
    notice: PostNotice,
    *,
    to: str,
    subscriber_id: int,
    unsubscribe_url: str,
    manage_url: str | None = None,
) -> EmailMessage:
    """The email telling one subscriber of one post."""
    message = _headed(
        sender,
        to=to,
        subject=_subject(sender.organisation, notice.title, notice.status),
        sent_at=notice.published_at,
        message_id=post_message_id(sender, post_id=notice.post_id, subscriber_id=subscriber_id),
    )
    unsubscribe_url = _web_address(unsubscribe_url, "unsubscribe URL")
    # RFC 8058: a mail client's "unsubscribe" button POSTs to this URL at once, no page shown.
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["List-Id"] = _list_id(sender)
    data = {
        "organisation": sender.organisation,
        "site_url": _web_address(sender.site_url, "site URL"),
        "service": notice.service,
        "title": notice.title,
        "status": notice.status,
        "text": notice.text,
        "paragraphs": _paragraphs(notice.text),
        "published": local_time(notice.published_at, notice.zone),
        "incident_url": _web_address(notice.incident_url, "incident URL"),
        "unsubscribe_url": unsubscribe_url,
        "manage_url": _web_address(manage_url, "manage URL") if manage_url else None,
    }
    _add_bodies(message, "notification", data)
    return message


def confirmation(
    sender: Sender, *, to: str, confirm_url: str, services: list[str], message_id: str
) -> EmailMessage:
    """The email asking whoever gave ``to`` to confirm the subscription; ``services`` are the
    names chosen, ``[]`` for every service. No List-Unsubscribe: nothing is stored yet."""
    message = _headed(
        sender,
        to=to,
        subject=f"Confirm your subscription to {sender.organisation} status updates",
        sent_at=datetime.now(UTC),
        message_id=message_id,
    )
    data = {
        "organisation": sender.organisation,
        "site_url": _web_address(sender.site_url, "site URL"),
        "services": _listed(services) if services else "every service",
        "confirm_url": _web_address(confirm_url, "confirmation URL"),
        "valid_hours": int(CONFIRM_FOR.total_seconds() // 3600),
    }
    _add_bodies(message, "confirmation", data)
    return message


def local_time(at: datetime, zone: ZoneInfo) -> str:
    """``at`` as a reader in ``zone`` says it, in the site's clock: "Tue 3 Dec 2026, 10:15 AM
    GMT". Built by hand: strftime's "%-d" (no leading zero) is not portable."""
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y}, {format_time(at, zone)}"


# --- headers ------------------------------------------------------------------------------


def _headed(
    sender: Sender, *, to: str, subject: str, sent_at: datetime, message_id: str
) -> EmailMessage:
    """A message with the headers every email of Crier's carries."""
    message = EmailMessage(policy=MAIL_POLICY)
    # Address() refuses CR/LF and an addr_spec holding more than one address ("a@x, b@y").
    message["From"] = Address(
        display_name=_one_line(sender.organisation, "organisation"),
        addr_spec=_one_line(sender.address, "From address"),
    )
    message["To"] = Address(addr_spec=_one_line(to, "To address"))
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = _message_id(message_id)
    if sender.reply_to:
        message["Reply-To"] = Address(addr_spec=_one_line(sender.reply_to, "Reply-To address"))
    # RFC 3834: out-of-office and other robots should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    return message


def _one_line(value: str, what: str) -> str:
    """``value``, refused if it holds a line break that would end its header early."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"the {what} holds a line break, which an email header cannot")
    return value


def _subject(organisation: str, title: str, status: str) -> str:
    """ "[{organisation}] {title} — {status}", the title cut so that the status still shows."""
    organisation = _one_line(organisation, "organisation")
    title, status = _one_line(title, "title"), _one_line(status, "status")
    # Other breaking whitespace (tabs, U+2028) is folded too: a subject reads as one line.
    organisation, title, status = (" ".join(s.split()) for s in (organisation, title, status))
    around = f"[{organisation}]  — {status}"
    room = max(SUBJECT_LIMIT - len(around), 20)
    if len(title) > room:
        title = title[: room - 1].rstrip() + "…"
    return f"[{organisation}] {title} — {status}"


_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


def _message_id(value: str) -> str:
    if not _MESSAGE_ID.fullmatch(_one_line(value, "Message-ID")):
        raise ValueError(f"{value!r} is not a Message-ID like <local@host>")
    return value


def _list_id(sender: Sender) -> str:
    """RFC 2919: ``Org status updates <status.crier.example.edu>``, for filters to match."""
    host = _one_line(sender.host, "host").strip(".").lower()
    if not re.fullmatch(r"[a-z0-9.-]+", host):
        raise ValueError(f"{host!r} is not a host name for a List-Id")
    name = " ".join(_one_line(sender.organisation, "organisation").split())
    return f"{name} status updates <status.{host}>"


def _web_address(url: str, what: str) -> str:
    """``url``, refused unless it is an http(s) URL in one piece: it goes into an href and,
    for unsubscribing, into a header between angle brackets."""
    if not re.fullmatch(r"https?://[^\s<>\"]+", url):
        raise ValueError(f"the {what} is not an http(s) URL without spaces or angle brackets")
    return url


# --- bodies -------------------------------------------------------------------------------


@functools.cache
def _environment() -> Environment:
    """The emails' Jinja environment: .html templates autoescaped, .txt ones not."""
    return Environment(
        loader=PackageLoader("bot.subscriptions", "templates"),
        autoescape=select_autoescape(("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def _add_bodies(message: EmailMessage, name: str, data: Mapping[str, object]) -> None:
    env = _environment()
    text = env.get_template(f"{name}.txt").render(**data)
    html = env.get_template(f"{name}.html").render(**data)
    message.set_content(text, cte=_transfer_encoding(text))
    message.add_alternative(html, subtype="html", cte=_transfer_encoding(html))


def _transfer_encoding(body: str) -> str:
    """8bit keeps the stored outbox copy readable; a relay without 8BITMIME gets it re-encoded
    by aiosmtplib. Only a line too long for SMTP needs quoted-printable."""
    longest = max((len(line.encode()) for line in body.splitlines()), default=0)
    return "8bit" if longest <= LONGEST_LINE else "quoted-printable"


def _paragraphs(text: str) -> list[list[str]]:
    """The post's paragraphs (split at blank lines), each a list of its lines: the HTML part
    shows them as <p> and <br>, which every mail client keeps (not all honour pre-wrap)."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip("\n"))
    return [block.split("\n") for block in blocks if block.strip()]


def _listed(names: list[str]) -> str:
    """ "Blackboard", "Blackboard and Email", "Blackboard, Email and Wi-Fi"."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
