"""Keeping what was heard: once per network and id (two pollers, or a poll repeated after a kill,
keep one row), the reply tied to the post and incident it answers, a mention to the service it
names, a loose search result left out, and a mood on each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.config import CrierConfig, Network
from bot.listening.heard import Heard, HeardKind, Watched
from bot.listening.keep import Found, keep
from bot.listening.watch import Terms, WatchedPost
from bot.storage.models import HeardPost
from bot.storage.store import Store
from tests.conftest import make_config

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def config() -> CrierConfig:
    return make_config(listening={"terms": ["Northfield", "@NorthIT"]})


def heard(external_id: str, text: str, **changes: object) -> Heard:
    fields: dict[str, object] = {
        "network": Network.MASTODON,
        "external_id": external_id,
        "kind": HeardKind.MENTION,
        "author": "@ann@example.social",
        "author_name": "Ann",
        "text": text,
        "url": f"https://example.social/@ann/{external_id}",
        "created_at": NOW - timedelta(minutes=1),
    }
    return Heard(**{**fields, **changes})  # type: ignore[arg-type]


def our_post(delivery_id: int = 7) -> WatchedPost:
    post = Watched(
        delivery_id=delivery_id,
        network=Network.MASTODON,
        external_id="1100",
        url=None,
        published_at=NOW - timedelta(hours=1),
    )
    return WatchedPost(post=post, incident_id=3, service="Wi-Fi")


def rows(session: Session) -> list[HeardPost]:
    return list(session.exec(select(HeardPost).order_by(HeardPost.id)).all())  # type: ignore[arg-type]


def test_the_terms_name_services_by_name_or_alias_as_whole_words(config: CrierConfig) -> None:
    terms = Terms.of(config)
    assert terms.service_in("is EDUROAM down again?") == "Wi-Fi"
    assert terms.service_in("the wifi-less library") == "Wi-Fi"  # "wifi" then "-": a word end
    assert terms.service_in("mailbox full") is None  # "mail" is not in "mailbox"
    assert terms.service_in("@NorthIT can't reach my mail") == "Email"
    assert terms.searches() == ["Northfield", "@NorthIT"]  # never "mail" on its own
    assert terms.names_us("Thanks @NorthIT!") and not terms.names_us("north field trip")


def test_each_reply_is_kept_once_with_its_incident_and_mood(
    store: Store, config: CrierConfig
) -> None:
    # A delivery and an incident must exist for the foreign keys: keep() is given them.
    from tests.unit.listening.rows import a_sent_post

    post = a_sent_post(store, network=Network.MASTODON, external_id="1100")
    terms = Terms.of(config)
    reply = heard("1101", "This is terrible, still down", kind=HeardKind.REPLY, in_reply_to="1100")
    with store.transaction() as session:
        first = keep(session, [Found(reply, under=post)], terms=terms, watched={}, now=NOW)
    with store.transaction() as session:  # the same reply read again, by another poll
        again = keep(session, [Found(reply, under=post)], terms=terms, watched={}, now=NOW)
        [row] = rows(session)
    assert [r.external_id for r in first] == ["1101"] and again == []
    assert (row.kind, row.incident_id, row.delivery_id, row.service) == (
        "reply",
        post.incident_id,
        post.post.delivery_id,
        "Wi-Fi",
    )
    assert row.mood < -0.05 and row.shown_at is None and row.heard_at == NOW


def test_a_reply_that_came_as_a_notification_finds_its_post(
    store: Store, config: CrierConfig
) -> None:
    from tests.unit.listening.rows import a_sent_post

    post = a_sent_post(store, network=Network.MASTODON, external_id="1100")
    note = heard("1102", "thanks for the update", in_reply_to="1100")
    with store.transaction() as session:
        [row] = keep(
            session, [Found(note)], terms=Terms.of(config), watched={"1100": post}, now=NOW
        )
    assert row.kind == "reply" and row.incident_id == post.incident_id


def test_mentions_name_their_service_and_loose_search_results_are_left_out(
    store: Store, config: CrierConfig
) -> None:
    terms = Terms.of(config)
    found = [
        Found(heard("2001", "@NorthIT is eduroam down?")),  # a notification: about Wi-Fi
        Found(heard("2002", "Northfield VPN keeps dropping"), searched=True),
        Found(heard("2003", "north fields are lovely"), searched=True),  # matched loosely
        Found(heard("2001", "@NorthIT is eduroam down?")),  # the same, twice in one poll
    ]
    with store.transaction() as session:
        added = keep(session, found, terms=terms, watched={}, now=NOW)
    assert [(r.external_id, r.kind, r.service) for r in added] == [
        ("2001", "mention", "Wi-Fi"),
        ("2002", "mention", "VPN"),
    ]
