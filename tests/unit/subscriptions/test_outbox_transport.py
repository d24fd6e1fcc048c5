"""Without a relay each email is kept in the outbox_mail table, readable, and once only."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.storage.models import OutboxMail
from bot.storage.store import Store
from bot.subscriptions.mail import PostNotice, Sender, notification
from bot.subscriptions.transport import OutboxTransport

SENDER = Sender(
    organisation="Example University IT",
    address="status@example.edu",
    reply_to="help@example.edu",
    site_url="https://crier.example.edu/status/",
    host="crier.example.edu",
)
NOTICE = PostNotice(
    incident_id=12,
    post_id=34,
    service="Blackboard",
    title="Blackboard: students cannot log in",
    status="Investigating",
    text="Logins fail for everyone — we are on it. <!channel>",
    published_at=datetime(2026, 1, 15, 19, 52, tzinfo=UTC),
    zone=ZoneInfo("America/New_York"),
    incident_url="https://crier.example.edu/status/incidents/12/",
)


async def kept(store: Store) -> list[OutboxMail]:
    return await store.read(lambda session: list(session.exec(select(OutboxMail)).all()))


async def test_an_email_is_kept_for_a_person_to_read(store: Store) -> None:
    outbox = OutboxTransport(store)

    await outbox.send(
        notification(
            SENDER,
            NOTICE,
            to="ana@example.org",
            subscriber_id=7,
            unsubscribe_url="https://crier.example.edu/status/unsubscribe?s=7",
        )
    )

    [mail] = await kept(store)
    assert mail.message_id == "<post-34.sub-7@crier.example.edu>"
    assert mail.recipient == "ana@example.org"
    assert mail.subject == (
        "[Example University IT] Blackboard: students cannot log in — Investigating"
    )
    # Readable as stored: the bodies are not base64.
    assert "Logins fail for everyone — we are on it. <!channel>" in mail.message
    assert "Logins fail for everyone — we are on it. &lt;!channel&gt;" in mail.message
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in mail.message


async def test_the_same_email_sent_twice_is_kept_once(store: Store) -> None:
    outbox = OutboxTransport(store)
    first = notification(
        SENDER,
        NOTICE,
        to="ana@example.org",
        subscriber_id=7,
        unsubscribe_url="https://crier.example.edu/status/unsubscribe?s=7",
    )

    await outbox.send(first)
    await outbox.send(first)
    await outbox.send(
        notification(
            SENDER,
            NOTICE,
            to="ana@example.org",
            subscriber_id=7,
            unsubscribe_url="https://crier.example.edu/status/unsubscribe?s=7",
        )
    )
    await outbox.close()

    assert [mail.message_id for mail in await kept(store)] == ["<post-34.sub-7@crier.example.edu>"]


async def test_each_subscribers_email_is_kept(store: Store) -> None:
    outbox = OutboxTransport(store)

    for subscriber in (1, 2):
        await outbox.send(
            notification(
                SENDER,
                NOTICE,
                to=f"sub{subscriber}@example.org",
                subscriber_id=subscriber,
                unsubscribe_url=f"https://crier.example.edu/status/unsubscribe?s={subscriber}",
            )
        )

    assert sorted(mail.recipient for mail in await kept(store)) == [
        "sub1@example.org",
        "sub2@example.org",
    ]
