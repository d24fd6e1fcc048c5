"""Replies and mentions as Crier keeps them (``HeardPost`` rows), for the chat tests of what Crier
heard: each row inserted, then read back as the chats are given it (``HeardView.of``); and the
largest a reply and an answer to it can be, for the tests that they fit in one message."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from bot.config import Network
from bot.core import Core
from bot.drafting.textrules import measure
from bot.listening.answers import TEXT_MAX, AnswerView
from bot.listening.mood import score, summary
from bot.listening.topics import burst_line
from bot.listening.views import HeardBatch, HeardView, SpikeAlert
from bot.storage.models import Answer, Delivery, HeardPost, Incident
from bot.storage.store import Store
from tests.conftest import make_config

HEARD_AT = datetime(2026, 1, 15, 19, 45, tzinfo=UTC)  # 2:45 PM EST
# The public's words, with what would ping or format a chat if read as markup.
PINGING = "<!channel> Blackboard is down AGAIN, tell <@U123> this is *terrible* & useless"
CALM = "It works again for me, thanks for the quick fix!"
SURGE = (
    "Mentions of Wi-Fi are 6\N{MULTIPLICATION SIGN} normal in the last 15 min "
    "(42 posts, 81 % negative)"
)
# What staff answer them: the first with what Slack would read as markup, the second plain.
ANSWER = "<!channel> No, only eduroam is down; the VPN works. *Sorry*"
EDITED = "No, only eduroam is down. The VPN works as usual."
# As long as a name and a reply get, in characters of several bytes (Teams counts bytes).
LONG_NAME = "Änn " * 75
LONG_TEXT = "Störung 🔥 " * 600


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


async def hear_replies(core: Core, texts: list[str], *, incident_id: int) -> list[HeardView]:
    """Replies to ``incident_id``'s posts, kept as rows and handed to the chat in one batch, as
    the listening job does with what a poll found."""
    views = heard_rows(core.store, texts, incident_id=incident_id)
    await core.chat.heard(HeardBatch(incident_id, len(views), tuple(views)))
    return views


async def hear_surge(
    core: Core,
    texts: list[str],
    *,
    service: str,
    incident_id: int | None = None,
    sentence: str = SURGE,
    external_ids: list[str] | None = None,
) -> list[HeardView]:
    """Mentions of ``service``, kept as rows and shown to the chat as a surge's examples in one
    alert (in ``incident_id``'s thread when one is open for it), as the listening job does."""
    examples = heard_rows(
        core.store, texts, incident_id=None, service=service, external_ids=external_ids
    )
    await core.chat.spike(SpikeAlert(service, sentence, tuple(examples), incident_id=incident_id))
    return examples


def reply_as_shown(
    *,
    author_name: str,
    text: str,
    network: Network = Network.MASTODON,
    author: str = "@ann@mastodon.social",
    url: str = "https://mastodon.social/@ann/1",
) -> HeardView:
    """A reply to show, not kept (id 1), its name and words as long as the test makes them."""
    return HeardView(
        id=1,
        network=network,
        kind="reply",
        author=author,
        author_name=author_name,
        text=text,
        url=url,
        created_at=HEARD_AT,
        mood=score("down"),
    )


def largest_answer() -> AnswerView:
    """An answer as long as Crier takes, rejected at length, to a long reply, in characters of
    several bytes."""
    heard = reply_as_shown(
        network=Network.FACEBOOK,
        author="Änn",
        author_name=LONG_NAME,
        text=LONG_TEXT,
        url="https://facebook.com/1_2",
    )
    text = "🔥" * TEXT_MAX
    return AnswerView(
        id=1,
        heard=heard,
        incident_id=1,
        network=Network.FACEBOOK,
        text=text,
        check=measure(make_config(), Network.FACEBOOK, text, draft=False),
        notes=("will notify @ann on Facebook",) * 5,
        state="rejected",
        revision=9,
        requested_by="teams:x",
        decided_by="teams:y",
        reject_reason="no " * 300,
        delivery_state=None,
        url=None,
    )


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


def answer_deliveries(store: Store) -> list[Delivery]:
    """What Crier has to send of answers: nothing until one is approved."""
    with store.transaction() as session:
        return list(session.exec(select(Delivery).where(col(Delivery.answer_id).is_not(None))))


def the_answer(store: Store) -> tuple[Answer, Delivery]:
    """The one answer drafted, and its one delivery."""
    with store.transaction() as session:
        (answer,) = session.exec(select(Answer)).all()
        (delivery,) = session.exec(select(Delivery).where(Delivery.answer_id == answer.id)).all()
    return answer, delivery


def latest_incident(store: Store) -> int:
    with store.transaction() as session:
        found = session.exec(select(Incident.id).order_by(col(Incident.id).desc())).first()
    assert found is not None, "no incident declared"
    return found
