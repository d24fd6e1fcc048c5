"""Replies and mentions as Crier keeps them (``HeardPost`` rows), for the chat tests of what Crier
heard: each row inserted, then read back as the chats are given it (``HeardView.of``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from bot.config import Network
from bot.listening.mood import score, summary
from bot.listening.topics import burst_line
from bot.listening.views import HeardBatch, HeardView
from bot.storage.models import HeardPost, Incident
from bot.storage.store import Store

HEARD_AT = datetime(2026, 1, 15, 19, 45, tzinfo=UTC)  # 2:45 PM EST
# The public's words, with what would ping or format a chat if read as markup.
PINGING = "<!channel> Blackboard is down AGAIN, tell <@U123> this is *terrible* & useless"
CALM = "It works again for me, thanks for the quick fix!"
SURGE = (
    "Mentions of Wi-Fi are 6\N{MULTIPLICATION SIGN} normal in the last 15 min "
    "(42 posts, 81 % negative)"
)


def heard_rows(
    store: Store,
    texts: list[str],
    *,
    incident_id: int | None,
    service: str = "Blackboard",
    network: Network = Network.MASTODON,
    author_name: str = "Ann <!here> *Example*",
    external_ids: list[str] | None = None,
) -> list[HeardView]:
    """One row per text, replies to ``incident_id``'s posts (mentions without one), oldest
    first, each with its real mood; as the chats are given them. ``external_ids``: the
    network's ids of the posts (a fake network's statuses, for an answer threaded to one)."""
    with store.transaction() as session:
        first = len(session.exec(select(HeardPost.id)).all())
        rows = []
        for n, text in enumerate(texts, start=first + 1):
            external_id = external_ids[n - first - 1] if external_ids else f"1100{n}"
            row = HeardPost(
                network=network.value,
                external_id=external_id,
                kind="reply" if incident_id is not None else "mention",
                author="@ann@mastodon.social",
                author_name=author_name,
                text=text,
                url=f"https://mastodon.social/@ann/{external_id}",
                created_at=HEARD_AT,
                heard_at=HEARD_AT,
                incident_id=incident_id,
                service=service,
                mood=score(text).compound,
            )
            session.add(row)
            rows.append(row)
        session.flush()
        return [HeardView.of(row) for row in rows]


def burst(incident_id: int, views: list[HeardView]) -> HeardBatch:
    """Many replies at once, as the listening job sums them up: a summary line, the share
    negative and the three angriest."""
    angriest = sorted(views, key=lambda v: (v.mood.compound, v.id))[:3]
    moods = summary(v.mood for v in views)
    return HeardBatch(
        incident_id=incident_id,
        count=len(views),
        items=tuple(angriest),
        summary=burst_line(len(views), "Duo prompt", {"Mastodon": len(views)}),
        negative_percent=moods.negative_percent,
    )


def latest_incident(store: Store) -> int:
    with store.transaction() as session:
        found = session.exec(select(Incident.id).order_by(col(Incident.id).desc())).first()
    assert found is not None, "no incident declared"
    return found
