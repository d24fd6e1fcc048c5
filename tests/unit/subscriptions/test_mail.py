"""The subscribers' emails: both parts, exact headers, the post's text as published (escaped in
HTML), the time in the organisation's zone, and no header that data could break."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.subscriptions.mail import (
    SUBJECT_LIMIT,
    PostNotice,
    Sender,
    confirmation,
    notification,
    post_message_id,
)

SENDER = Sender(
    organisation="Example University IT",
    address="status@example.edu",
    reply_to="help@example.edu",
    site_url="https://crier.example.edu/status/",
    host="crier.example.edu",
)
HOSTILE = "Logins fail <script>alert(1)</script> & <!channel> see https://x.example/?a=1&b=2"
TEXT = f"{HOSTILE}\nNext update by 3:15 PM.\n\nThanks for your patience."
NOTICE = PostNotice(
    incident_id=12,
    post_id=34,
    service="Blackboard",
    title="Blackboard: students cannot log in",
    status="Investigating",
    text=TEXT,
    published_at=datetime(2026, 1, 15, 19, 52, tzinfo=UTC),  # 2:52 PM in New York
    zone=ZoneInfo("America/New_York"),
    incident_url="https://crier.example.edu/status/incidents/12/",
)
UNSUBSCRIBE = "https://crier.example.edu/status/unsubscribe?token=abc.def"
CONFIRM = "https://crier.example.edu/status/confirm?token=xyz"


def sent(message: EmailMessage) -> EmailMessage:
    """``message`` as a mail client reads it: serialised to bytes and parsed back."""
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML, with the CRLF line ends of SMTP read as "\n"."""
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def notify(sender: Sender = SENDER, notice: PostNotice = NOTICE, **changes: Any) -> EmailMessage:
    arguments: dict[str, Any] = {"to": "ana@example.org", "subscriber_id": 7}
    arguments["unsubscribe_url"] = UNSUBSCRIBE
    arguments.update(changes)
    return notification(sender, notice, **arguments)


def test_a_notification_has_a_plain_text_part_and_an_html_alternative() -> None:
    message = sent(notify())

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


def test_a_notification_carries_exactly_its_headers() -> None:
    message = sent(notify())

    assert message["From"] == "Example University IT <status@example.edu>"
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == (
        "[Example University IT] Blackboard: students cannot log in — Investigating"
    )
    assert message["Date"] == "Thu, 15 Jan 2026 19:52:00 +0000"
    assert message["Message-ID"] == "<post-34.sub-7@crier.example.edu>"
    assert message["Reply-To"] == "help@example.edu"
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "Example University IT status updates <status.crier.example.edu>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "In-Reply-To" not in message and "References" not in message


def test_the_message_id_is_the_same_for_a_resend() -> None:
    first, again = notify(), notify()

    assert first["Message-ID"] == again["Message-ID"] == "<post-34.sub-7@crier.example.edu>"
    assert post_message_id(SENDER, post_id=34, subscriber_id=8) == (
        "<post-34.sub-8@crier.example.edu>"
    )


def test_without_a_reply_to_there_is_no_reply_to_header() -> None:
    sender = Sender(**{**SENDER.__dict__, "reply_to": None})

    assert "Reply-To" not in sent(notify(sender))
    assert "Reply-To" not in sent(
        confirmation(
            sender, to="a@example.org", confirm_url=CONFIRM, services=[], message_id="<c-1@h>"
        )
    )


def test_the_html_shows_the_post_escaped() -> None:
    _, html = parts(sent(notify()))

    assert "<script>" not in html and "<!channel>" not in html
    assert "Logins fail &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;" in html
    assert "?a=1&amp;b=2" in html
    # Its lines and paragraphs survive as <br> and <p>.
    assert "<br>Next update by 3:15 PM.</p>" in html
    assert "<p>Thanks for your patience.</p>" in html


def test_the_plain_text_holds_the_post_exactly_as_published() -> None:
    plain, _ = parts(sent(notify()))

    assert TEXT in plain
    assert "&lt;" not in plain and "&amp;" not in plain


def test_the_time_is_shown_in_the_organisations_zone() -> None:
    plain, html = parts(sent(notify()))

    assert "Thu 15 Jan 2026, 2:52 PM EST" in plain
    assert "Thu 15 Jan 2026, 2:52 PM EST" in html


def test_html_is_simple_and_accessible() -> None:
    _, html = parts(sent(notify(manage_url="https://crier.example.edu/status/manage?t=1")))

    assert '<html lang="en">' in html
    assert "<h1" in html and "Example University IT" in html
    assert "<img" not in html
    for url in (NOTICE.incident_url, UNSUBSCRIBE, SENDER.site_url, "/status/manage?t=1"):
        # A real link, its address visible as its words.
        href = url if url.startswith("https") else f"https://crier.example.edu{url}"
        assert f'<a href="{href}">{href}</a>' in html


def test_the_footer_says_why_and_how_to_stop() -> None:
    plain, html = parts(sent(notify()))

    why = "you subscribed to Example University IT status updates at"
    assert why in plain and why in html
    assert f"Unsubscribe: {UNSUBSCRIBE}" in plain
    assert f"Every update on this incident: {NOTICE.incident_url}" in plain
    assert "manage" not in plain  # no manage link unless given


def test_a_long_title_is_cut_and_the_status_still_shows() -> None:
    notice = PostNotice(**{**NOTICE.__dict__, "title": "Blackboard: " + "very " * 80 + "slow"})

    subject = sent(notify(notice=notice))["Subject"]

    assert len(subject) <= SUBJECT_LIMIT
    assert subject.startswith("[Example University IT] Blackboard: very very")
    assert subject.endswith("… — Investigating")


# Titles whose subjects email.policy.SMTP folds with a doubled space before an encoded word.
FOLDED_BADLY = [
    "résumé outage café résumé",
    "Zoom log Zoom portal in students",
    "Email cannot log Blackboard Zoom",
    "Blackboard: students cannot log in",
]


@pytest.mark.parametrize("title", FOLDED_BADLY)
def test_a_folded_subject_reads_back_exactly(title: str) -> None:
    notice = PostNotice(**{**NOTICE.__dict__, "title": title})
    message = notify(notice=notice)

    assert sent(message)["Subject"] == f"[Example University IT] {title} — Investigating"
    head = message.as_bytes().split(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def test_other_whitespace_in_a_title_becomes_one_space() -> None:
    notice = PostNotice(**{**NOTICE.__dict__, "title": "Blackboard:\tslow\u2028logins"})

    assert sent(notify(notice=notice))["Subject"] == (
        "[Example University IT] Blackboard: slow logins — Investigating"
    )


BREAKS = ["\r\nBcc: victim@example.org", "\nBcc: victim@example.org", "\rX: y"]


@pytest.mark.parametrize("brk", BREAKS)
@pytest.mark.parametrize("field", ["title", "status"])
def test_a_line_break_in_the_notice_is_refused(field: str, brk: str) -> None:
    notice = PostNotice(**{**NOTICE.__dict__, field: getattr(NOTICE, field) + brk})

    with pytest.raises(ValueError, match="line break"):
        notify(notice=notice)


@pytest.mark.parametrize("brk", BREAKS)
@pytest.mark.parametrize("field", ["organisation", "address", "reply_to", "host"])
def test_a_line_break_in_the_sender_is_refused(field: str, brk: str) -> None:
    sender = Sender(**{**SENDER.__dict__, field: getattr(SENDER, field) + brk})

    with pytest.raises(ValueError, match="line break"):
        notify(sender)
    if field == "host":
        return  # a confirmation is given its Message-ID whole
    with pytest.raises(ValueError, match="line break"):
        confirmation(
            sender, to="a@example.org", confirm_url=CONFIRM, services=[], message_id="<c-1@h>"
        )


@pytest.mark.parametrize(
    "to",
    ["ana@example.org\r\nBcc: victim@example.org", "ana@example.org\nX: y", "a@x.org, b@y.org"],
)
def test_a_recipient_that_is_not_one_address_is_refused(to: str) -> None:
    with pytest.raises(ValueError):
        notify(to=to)
    with pytest.raises(ValueError):
        confirmation(SENDER, to=to, confirm_url=CONFIRM, services=[], message_id="<c-1@h>")


@pytest.mark.parametrize(
    "url",
    [
        UNSUBSCRIBE + "\r\nBcc: victim@example.org",
        UNSUBSCRIBE + ">, <mailto:x@y",
        "javascript:alert(1)",
    ],
)
def test_an_unsubscribe_url_that_would_break_its_header_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        notify(unsubscribe_url=url)


@pytest.mark.parametrize("message_id", ["<c-1@h>\r\nBcc: x@y", "c-1@h", "<c 1@h>"])
def test_a_confirmation_message_id_must_be_one(message_id: str) -> None:
    with pytest.raises(ValueError):
        confirmation(
            SENDER, to="a@example.org", confirm_url=CONFIRM, services=[], message_id=message_id
        )


def test_a_confirmation_names_the_services_and_the_link() -> None:
    message = sent(
        confirmation(
            SENDER,
            to="ana@example.org",
            confirm_url=CONFIRM,
            services=["Blackboard", "Email", "Wi-Fi <5GHz>"],
            message_id="<confirm-3@crier.example.edu>",
        )
    )
    plain, html = parts(message)

    assert message["Subject"] == "Confirm your subscription to Example University IT status updates"
    assert message["From"] == "Example University IT <status@example.edu>"
    assert message["To"] == "ana@example.org"
    assert message["Message-ID"] == "<confirm-3@crier.example.edu>"
    assert message["Reply-To"] == "help@example.edu"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    # Nothing to unsubscribe from yet.
    assert "List-Unsubscribe" not in message and "List-Unsubscribe-Post" not in message
    assert "for Blackboard, Email and Wi-Fi <5GHz>." in plain
    assert "for Blackboard, Email and Wi-Fi &lt;5GHz&gt;." in html
    assert f"within 48 hours:\n{CONFIRM}" in plain
    assert f'<a href="{CONFIRM}">{CONFIRM}</a>' in html
    assert "If it was not you, ignore this email: nothing is stored" in plain
    assert "Someone, hopefully you, asked" in html


def test_a_confirmation_for_every_service_says_so() -> None:
    message = confirmation(
        SENDER, to="ana@example.org", confirm_url=CONFIRM, services=[], message_id="<c-1@h>"
    )
    plain, html = parts(sent(message))

    assert "for every service." in plain and "for every service." in html
