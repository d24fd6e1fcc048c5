"""Bluesky: XRPC on the account's PDS, through the shared HTTP session.

Crier signs in (``com.atproto.server.createSession``: handle and app password) once per process
and keeps the session in memory (``bot.publishing.bluesky_session``: refreshed on
``ExpiredToken``, a spent ``createSession`` limit remembered until its reset); the publisher's
``session`` is the one the listening source reads notifications with, so the account signs in
once, not once per use. A post is
``com.atproto.repo.createRecord`` under a record key Crier chooses (``record_key``: the same for
every retry of a delivery), so a PDS cannot hold it twice. When a create fails in a way that may
mean "already there" (today's PDS answers 500; newer ones name the error), ``getRecord`` looks,
and the record with the same text is the success.

With ``attach_card: true`` the post embeds Crier's status card (``uploadBlob``, then
``app.bsky.embed.images`` with the card in words as its ``alt``).

Threads: ``external_id`` is the post's ``at://`` URI; an update reads its parent for the parent's
CID and the thread's root, so the stored id stays short and the record is the source of truth.
Facets (links, tags) use UTF-8 byte offsets from the atproto SDK's ``detect_facets``. The SDK's
models and utilities are used, not its HTTP client: every network shares one aiohttp session,
with its time-outs and error reading (``HttpClient``).

    publisher = build(context)  # None without BLUESKY_APP_PASSWORD or channels.bluesky.account
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlmodel import select

from bot.config import CrierConfig, Network
from bot.drafting.textrules import check_text
from bot.ports import ChannelCheck, Clock, Published, PublishError, PublishRequest, SystemClock
from bot.publishing import PublisherContext
from bot.publishing.bluesky_session import (
    DEFAULT_BASE_URL,
    NAME,
    BlueskySession,
    Session,
    bluesky_refusal,
    error_name,
)
from bot.publishing.cards import card_data
from bot.publishing.facts import ApiFacts
from bot.publishing.http import Answer, HttpClient
from bot.settings import Settings
from bot.storage.models import Delivery
from bot.storage.store import Store

log = logging.getLogger(__name__)

FACTS = ApiFacts(
    network=Network.BLUESKY,
    checked="2026-12-02",
    api="XRPC on the account's PDS: com.atproto.server.createSession / refreshSession, "
    "com.atproto.repo.createRecord (app.bsky.feed.post), getRecord, uploadBlob",
    limits="text ≤ 300 graphemes and ≤ 3,000 UTF-8 bytes; link facets by UTF-8 byte offsets; "
    "images up to 2 MB, alt text in app.bsky.embed.images",
    idempotency="a record key (TID) chosen per delivery: a retry lands on the same record",
    rate_limits="createSession 30 per 5 minutes and 300 a day per account (100 a day seen): "
    "reuse the session, refreshSession on ExpiredToken; writes 5,000 points an hour and 35,000 "
    "a day (a create costs 3); 429 with ratelimit-reset (unix seconds)",
)
POST = "app.bsky.feed.post"
IMAGE_MAX_BYTES = 2_000_000
IMAGES = "app.bsky.embed.images"
_S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as TIDs are written
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def record_key(idempotency_key: str, created_at: datetime | None = None) -> str:
    """A TID (13 characters: 53 bits of microseconds, 10 bits of clock id) for one delivery.

    Posts must have TID keys for Bluesky to show them. The time is when the delivery was made
    (so keys sort like posts) and the clock id comes from the idempotency key; without a time,
    the hash supplies both. The same delivery always gives the same key.

        >>> record_key("crier:1:1:bluesky", datetime(2026, 1, 15, tzinfo=UTC))
        '3mcgbnyj22224'
    """
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    clock_id = int.from_bytes(digest[:2], "big") & 0x3FF
    if created_at is None:
        micros = int.from_bytes(digest[2:9], "big") & ((1 << 53) - 1)
    else:
        moment = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        micros = (moment - _EPOCH) // timedelta(microseconds=1)
    value = (micros << 10) | clock_id
    return "".join(_S32[(value >> shift) & 31] for shift in range(60, -1, -5))


def facets_of(text: str) -> list[dict[str, Any]]:
    """Link and tag facets, indexed by UTF-8 bytes as the lexicon asks."""
    # Imported here: the SDK costs ~30 MiB, and a Crier with Bluesky on but no credentials (the
    # outbox) or that never posts to it should not carry it.
    from atproto import client_utils
    from atproto_client.models.utils import get_model_as_dict

    return [get_model_as_dict(facet) for facet in client_utils.detect_facets(text)]


class BlueskyPublisher:
    """Posts as one account; the session is shared by concurrent posts and renewed once."""

    network = Network.BLUESKY
    idempotent = True

    def __init__(
        self,
        *,
        http: HttpClient,
        handle: str,
        password: SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        store: Store | None = None,
        clock: Clock | None = None,
        attach_card: bool = False,
        config: CrierConfig | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        # The account's session; the listening source reads as the same account through it.
        self.session = BlueskySession(
            http=http, handle=handle, password=password, base_url=base_url, clock=self._clock
        )
        self.label = f"{NAME} (@{self.session.handle})"
        # The card needs the organisation (config) and where cards are kept (settings).
        self._card = (config, settings) if attach_card and config and settings else None

    @property
    def attaches_card(self) -> bool:
        return self._card is not None

    # ----- posting -------------------------------------------------------------------------

    async def publish(self, request: PublishRequest) -> Published:
        checked = check_text(Network.BLUESKY, request.text)
        if not checked.ok:
            raise PublishError(f"{NAME} would refuse the post: {checked.problem}", transient=False)
        rkey = record_key(request.idempotency_key, await self._delivery_time(request))
        now = self._clock.now().astimezone(UTC).isoformat(timespec="milliseconds")
        now = now.replace("+00:00", "Z")
        record: dict[str, Any] = {"$type": POST, "text": request.text, "createdAt": now}
        if facets := facets_of(request.text):
            record["facets"] = facets
        if given := _given_reply(request):  # an answer: the heard post's refs came with it
            record["reply"] = given
        elif request.reply_to and (reply := await self._reply(request.reply_to)):
            record["reply"] = reply
        if self._card and (embed := await self._card_embed(request)):
            record["embed"] = embed
        session = await self.session.current()
        answer, session = await self.session.xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            json={"repo": session.did, "collection": POST, "rkey": rkey, "record": record},
        )
        if answer.ok:
            return self._published(str(answer.body["uri"]), rkey, session)
        error = bluesky_refusal(answer)
        if _may_already_exist(answer):
            existing = await self._get_record(session.did, rkey)
            if existing is not None:
                if existing.get("value", {}).get("text") != request.text:
                    raise PublishError(
                        f"{NAME} already has a different post under record key {rkey} "
                        "(was Crier's database replaced?); nothing was posted",
                        transient=False,
                    )
                log.info("Bluesky record %s was already there: a retry found it", rkey)
                return self._published(str(existing["uri"]), rkey, session)
        raise error

    async def _card_embed(self, request: PublishRequest) -> dict[str, Any] | None:
        """The status card, uploaded, as an image embed with its alt text."""
        assert self._card is not None
        config, settings = self._card
        card = await card_data(request, config=config, settings=settings, at=self._clock.now())
        if len(card.data) > IMAGE_MAX_BYTES:
            log.warning("the status card is over Bluesky's 2 MB: posting without it")
            return None
        answer, _ = await self.session.xrpc(
            "POST",
            "com.atproto.repo.uploadBlob",
            data=card.data,
            headers={"Content-Type": card.mime_type},
        )
        blob = answer.ok_value("blob")
        if not isinstance(blob, dict):
            raise bluesky_refusal(answer)
        image = {
            "image": blob,
            "alt": card.alt,
            "aspectRatio": {"width": card.width, "height": card.height},
        }
        return {"$type": IMAGES, "images": [image]}

    def _published(self, uri: str, rkey: str, session: Session) -> Published:
        return Published(
            external_id=uri, url=f"https://bsky.app/profile/{session.handle}/post/{rkey}"
        )

    async def _delivery_time(self, request: PublishRequest) -> datetime | None:
        """When the delivery was made: the time half of its record key."""
        if self._store is None:
            return None
        key = request.idempotency_key
        query = select(Delivery.created_at).where(Delivery.idempotency_key == key)
        return await self._store.read(lambda session: session.exec(query).first())

    async def _get_record(self, did: str, rkey: str) -> dict[str, Any] | None:
        answer, _ = await self.session.xrpc(
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": did, "collection": POST, "rkey": rkey},
        )
        if answer.ok and isinstance(answer.body, dict):
            return answer.body
        if error_name(answer) == "RecordNotFound":
            return None
        raise bluesky_refusal(answer)

    async def _reply(self, parent_uri: str) -> dict[str, Any] | None:
        """``{root, parent}`` from the parent record; None if it is gone (or was never a post:
        an outbox id from before Crier had the password)."""
        did, _, rkey = parent_uri.removeprefix("at://").partition(f"/{POST}/")
        parent = await self._get_record(did, rkey) if parent_uri.startswith("at://") else None
        if parent is None:
            log.warning("no Bluesky post %s to reply to; posting the update on its own", parent_uri)
            return None
        parent_ref = {"uri": parent["uri"], "cid": parent["cid"]}
        root = ((parent.get("value") or {}).get("reply") or {}).get("root") or parent_ref
        return {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent_ref}

    async def check(self) -> ChannelCheck:
        """Sign in (or ``getSession`` with the kept session): ready, expired or unreachable."""
        try:
            answer, session = await self.session.xrpc("GET", "com.atproto.server.getSession")
        except PublishError as exc:
            state = "unreachable" if exc.transient else "expired"
            return ChannelCheck(self.network, state, exc.message)
        if answer.ok:
            return ChannelCheck(self.network, "ready", f"posting as @{session.handle}")
        state = "expired" if answer.status in (400, 401, 403) else "error"
        return ChannelCheck(self.network, state, bluesky_refusal(answer).message)


def _may_already_exist(answer: Answer) -> bool:
    """A create refused in a way that may mean the record key is taken: today's PDS answers
    500 ``InternalServerError``; others (and the coming lexicon error) name it."""
    said = f"{error_name(answer)} {answer.fields.get('message') or ''}".lower()
    return answer.status >= 500 or answer.status == 409 or "exist" in said


def _given_reply(request: PublishRequest) -> dict[str, Any] | None:
    """``{root, parent}`` from the request itself: an answer to someone's post carries its uri
    and cid and its thread's root (the AppView gave them when Crier read it), which Crier's
    own PDS could not look up (it keeps only Crier's records)."""
    extra = request.extra
    if not (extra.get("uri") and extra.get("cid")):
        return None
    parent = {"uri": extra["uri"], "cid": extra["cid"]}
    root = {
        "uri": extra.get("root_uri") or parent["uri"],
        "cid": extra.get("root_cid") or parent["cid"],
    }
    return {"root": root, "parent": parent}


def build(context: PublisherContext) -> BlueskyPublisher | None:
    password = context.credentials.bluesky_app_password
    handle = context.setting(password, "account", what="the handle, like it.example.edu")
    if password is None or handle is None:
        return None
    return BlueskyPublisher(
        http=context.http,
        handle=handle,
        password=password,
        base_url=context.channel.base_url or DEFAULT_BASE_URL,
        store=context.store,
        clock=context.clock,
        attach_card=context.channel.attach_card,
        config=context.config,
        settings=context.settings,
    )
